"""Small settings for the sagemaker SDK, the same on both backends."""

from __future__ import annotations

import inspect
import logging
import os
from pathlib import Path
from typing import Any


def quiet_sagemaker() -> None:
    """Silence the SDK's notices: the v2 deprecation banner (the labs pin 2.x on purpose: 3.x
    removed AutoML) and "Not applying SDK defaults from location" at every Session."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    for name in ("sagemaker.config", "sagemaker.telemetry.telemetry_logging"):
        # "Not applying SDK defaults ..." at every Session, and "SageMaker Python SDK will
        # collect telemetry ..." at every fit, even when opted out; the SDK sets INFO only on
        # a logger that has no level yet
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


# The sagemaker SDK's defaults for sessions of the local backend: no usage reports (the SDK's
# telemetry sends an HTTPS request per call, and the local backend never reaches the network).
LOCAL_SDK_CONFIG: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


def opt_out_of_telemetry(home: Path) -> None:
    """Make ``sagemaker.Session()`` without arguments (as the course writes it) opt out of the
    SDK's telemetry too: its user config file (``SAGEMAKER_USER_CONFIG_OVERRIDE``) becomes one in
    the lab home with ``TelemetryOptOut: true``, unless the variable is set already."""
    import yaml

    path = Path(home) / "sagemaker" / "config.yaml"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(LOCAL_SDK_CONFIG))
    os.environ.setdefault("SAGEMAKER_USER_CONFIG_OVERRIDE", str(path))


def bind_session(cls: type, lab: Any) -> type:
    """The SDK's ``cls`` with ``sagemaker_session=lab.session`` (and ``role=lab.role``) as
    defaults, in ``__init__`` and in ``attach``; everything else is the SDK's own."""
    params = inspect.signature(cls.__init__).parameters

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        if kwargs.get("sagemaker_session") is None:
            kwargs["sagemaker_session"] = lab.session
        if "role" in params and not args and kwargs.get("role") is None:
            kwargs["role"] = lab.role
        cls.__init__(self, *args, **kwargs)

    namespace: dict[str, Any] = {"__init__": __init__, "__doc__": cls.__doc__,
                                 "__module__": cls.__module__}  # fmt: skip
    if hasattr(cls, "attach"):
        original = inspect.getattr_static(cls, "attach").__func__

        def attach(klass: type, *args: Any, sagemaker_session: Any = None, **kwargs: Any) -> Any:
            return original(klass, *args, sagemaker_session=sagemaker_session or lab.session,
                            **kwargs)  # fmt: skip

        namespace["attach"] = classmethod(attach)
    return type(cls.__name__, (cls,), namespace)
