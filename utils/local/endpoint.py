"""The older local hosting API (``LocalSageMaker``, ``LocalSageMakerRuntime``, ``LocalSession``).

AWS equivalent: the endpoint calls of ``boto3.client("sagemaker")`` and
``boto3.client("sagemaker-runtime")``, and the part of ``sagemaker.Session`` a ``Predictor``
uses. These classes stay for the labs' helpers (:mod:`utils.endpoints`) until the notebooks use
the SDK's own classes on ``lab.session``; they are thin layers over the local backend's real
clients (:mod:`utils.local.sagemaker.hosting` for the control plane and the server processes,
:mod:`utils.local.runtime` for InvokeEndpoint), so both APIs see the same endpoints, configs
and models under ``<lab home>/endpoints/``, and errors are botocore's ``ClientError`` with
SageMaker's codes. What this API adds: a model given as a :class:`ModelSource` (a joblib file
or a loader function) instead of a container image and model data, and :meth:`LocalSageMaker.deploy`
(what ``AutoML.deploy`` does). Endpoints of such models still take unsigned requests (see
:mod:`utils.local.endpoint_server`); their answers are signed and checked as any.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from utils.errors import LabError
from utils.local.endpoint_server import MAX_PAYLOAD_BYTES, SUPPORTED_KEYS
from utils.local.sagemaker.hosting import (
    VARIANT,
    HostingStore,
    check_instance_count,
    live_status,
    process_alive,
)
from utils.local.service import LOCAL_ACCOUNT, LOCAL_ROLE_ARN, LocalAccount, metadata, now

__all__ = ["MAX_PAYLOAD_BYTES", "process_alive"]
LOCAL_IMAGE = "local/utils.local.endpoint_server"
DEFAULT_KEYS = ["predicted_label"]  # what an Autopilot container answers unless told otherwise
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

log = logging.getLogger(__name__)


# -- errors --------------------------------------------------------------------------------------
class SageMakerError(LabError, ClientError):
    """A SageMaker API error with the service's code (``except ClientError`` catches it)."""

    def __init__(
        self, code: str, message: str, operation: str, status: int = 400, **extra: Any
    ) -> None:
        response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        response.update(extra)
        ClientError.__init__(self, response, operation)


class EndpointDeployError(LabError, RuntimeError):
    """An endpoint did not reach InService (as sagemaker's ``UnexpectedStatusException``)."""


def check_name(name: str, what: str = "endpoint") -> str:
    """SageMaker's rule for endpoint, config and model names: 1-63 letters, digits, hyphens."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SageMakerError(
            "ValidationException",
            f"{what} name {name!r}: use 1 to 63 letters, digits and hyphens, starting and ending "
            "with a letter or digit (SageMaker's rule)",
            "Create" + what.title().replace(" ", ""),
        )
    return name


def check_keys(keys: list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate inference response keys as the sagemaker SDK does; None -> ['predicted_label']."""
    if not keys:
        return list(DEFAULT_KEYS)
    if isinstance(keys, str):
        raise TypeError(f"inference_response_keys must be a list of keys, got the string {keys!r}")
    bad = [k for k in keys if k not in SUPPORTED_KEYS]
    if bad:
        raise ValueError(
            f"Requested inference output keys [{', '.join(map(str, bad))}] are unsupported. "
            f"The supported inference keys are [{', '.join(SUPPORTED_KEYS)}]"
        )
    return list(dict.fromkeys(keys))


# -- the model an endpoint serves ----------------------------------------------------------------
@dataclass(frozen=True)
class ModelSource:
    """Where the endpoint's server gets its model, in a form another process can use.

    ``ModelSource.file(path)``: a joblib file, or a folder with ``model.joblib``.
    ``ModelSource.from_loader("utils.local.automl:load_candidate_model", job_name=..., ...)``:
    an importable function, called in the server as ``function(lab, **kwargs)``. The model
    needs ``predict_proba(texts)`` and ``classes_`` (or only ``predict`` when the endpoint
    answers ``predicted_label`` alone), unless it answers in its own container's format with an
    ``invocations(body, content_type, accept) -> (body, content_type)`` hook (see
    :mod:`utils.local.endpoint_server`).
    """

    path: str | None = None
    loader: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def file(cls, path: str | os.PathLike[str]) -> ModelSource:
        target = Path(path).expanduser().resolve()
        if not target.exists():
            raise FileNotFoundError(f"no model at {target}: give a joblib file or its folder")
        return cls(path=str(target))

    @classmethod
    def from_loader(cls, loader: str | Callable[..., Any], **kwargs: Any) -> ModelSource:
        if callable(loader):
            module, qualname = (
                getattr(loader, "__module__", None),
                getattr(loader, "__qualname__", ""),
            )
            if not module or "." in qualname or "<" in qualname or module == "__main__":
                raise ValueError(
                    f"{loader!r} cannot be imported by the server process: pass a module-level "
                    "function of an importable module, or its name as 'module:function'"
                )
            loader = f"{module}:{qualname}"
        if not isinstance(loader, str) or not re.match(r"^[\w.]+:\w+$", loader):
            raise ValueError(f"loader {loader!r}: expected 'package.module:function'")
        json.dumps(kwargs)  # the server receives them as JSON
        return cls(loader=loader, kwargs=dict(kwargs))

    @classmethod
    def of(cls, value: ModelSource | str | os.PathLike[str]) -> ModelSource:
        """A ModelSource as is; ``'module:function'`` as a loader; anything else as a path."""
        if isinstance(value, ModelSource):
            return value
        if isinstance(value, str) and re.match(r"^[\w.]+:\w+$", value) and not Path(value).exists():
            return cls.from_loader(value)
        if isinstance(value, str | os.PathLike):
            return cls.file(value)
        if callable(value):
            return cls.from_loader(value)
        raise TypeError(f"expected a model path, a loader or a ModelSource, got {type(value)}")

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path} if self.path else {"loader": self.loader, "kwargs": self.kwargs}

    def environment(self) -> dict[str, str]:
        """How a SageMaker model would carry it: container environment variables."""
        if self.path:
            return {"LOCAL_MODEL_PATH": self.path}
        return {
            "LOCAL_MODEL_LOADER": str(self.loader),
            "LOCAL_MODEL_LOADER_KWARGS": json.dumps(self.kwargs, sort_keys=True),
        }


# -- the clients behind the classes ---------------------------------------------------------------
@functools.cache
def _session(account: LocalAccount) -> Any:
    from utils.local.session import local_boto3_session

    return local_boto3_session(account)


@functools.cache
def _client(account: LocalAccount, service: str) -> Any:
    return _session(account).client(service)


def _given(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class LocalSageMaker:
    """The endpoint subset of boto3's ``sagemaker`` client, over the lab home.

    AWS equivalent: ``boto3.client("sagemaker")``'s create/describe/list/delete calls for
    models, endpoint configs and endpoints, with the same argument names and response keys
    (each goes to the local backend's sagemaker client). :meth:`deploy` is what
    ``AutoML.deploy`` does with them.
    """

    def __init__(
        self,
        home: Path,
        region: str,
        account: str = LOCAL_ACCOUNT,
        lab_settings: dict[str, Any] | None = None,
    ) -> None:
        settings = dict(lab_settings or {})
        self.home = Path(home)
        self.region = region
        self.account = account
        self.local_account = LocalAccount(self.home, region, account, settings.get("bucket"),
                                          settings.get("database"))  # fmt: skip
        self._store = HostingStore(self.local_account)
        self._client = _client(self.local_account, "sagemaker")

    @classmethod
    def from_lab(cls, lab: Any) -> LocalSageMaker:
        settings = {"bucket": lab.bucket, "database": lab.database}
        return cls(lab.home, lab.region, LOCAL_ACCOUNT, settings)

    def log_path(self, name: str) -> Path:
        """The endpoint server's log (CloudWatch's ``/aws/sagemaker/Endpoints/<name>``)."""
        return self._store.log_path(name)

    def live_status(self, record: dict[str, Any]) -> tuple[str, str | None]:
        """The endpoint's status as its server shows it now, and a failure reason."""
        return live_status(record)

    # -- models ------------------------------------------------------------------------------
    def create_model(
        self,
        *,
        ModelName: str,
        source: ModelSource,
        inference_response_keys: list[str] | None = None,
    ) -> dict[str, Any]:
        """Register a model (``CreateModel``) served from a :class:`ModelSource`; an existing one
        of that name is replaced (the SDK reuses an existing model with a warning)."""
        check_name(ModelName, "model")
        keys = check_keys(inference_response_keys)
        if self._store.read("model", ModelName) is not None:
            log.warning("Using already existing model: %s (replaced)", ModelName)
        env = {
            "SAGEMAKER_INFERENCE_SUPPORTED": ",".join(SUPPORTED_KEYS),
            "SAGEMAKER_INFERENCE_OUTPUT": ",".join(keys),
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            **source.environment(),
        }
        record = {
            "ModelName": ModelName,
            "ModelArn": self._store.arn("model", ModelName),
            "ExecutionRoleArn": LOCAL_ROLE_ARN,
            "Containers": [{"Image": LOCAL_IMAGE, "Mode": "SingleModel", "Environment": env}],
            "CreationTime": now().isoformat(),
            "EnableNetworkIsolation": False,
            "Tags": [],
            "Local": {"ModelSource": source.as_json(), "InferenceResponseKeys": keys},
        }
        self._store.write("model", ModelName, record)
        return {"ModelArn": record["ModelArn"], "ResponseMetadata": metadata()}

    def describe_model(self, *, ModelName: str) -> dict[str, Any]:
        """``DescribeModel``: ModelName, ModelArn, Containers, CreationTime."""
        return self._client.describe_model(ModelName=ModelName)

    def list_models(
        self,
        *,
        NameContains: str | None = None,
        SortBy: str = "CreationTime",
        SortOrder: str = "Descending",
        MaxResults: int = 100,
        NextToken: str | None = None,
    ) -> dict[str, Any]:
        """``ListModels``: {"Models": [{ModelName, ModelArn, CreationTime}], "NextToken"?}."""
        return self._client.list_models(**_given(
            NameContains=NameContains, SortBy=SortBy, SortOrder=SortOrder,
            MaxResults=MaxResults, NextToken=NextToken))  # fmt: skip

    def delete_model(self, *, ModelName: str) -> dict[str, Any]:
        """``DeleteModel``: remove the model record (a running endpoint keeps serving)."""
        return self._client.delete_model(ModelName=ModelName)

    # -- endpoint configs --------------------------------------------------------------------
    def create_endpoint_config(
        self,
        *,
        EndpointConfigName: str,
        ProductionVariants: list[dict[str, Any]],
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """``CreateEndpointConfig`` with one production variant; an existing one is replaced."""
        check_name(EndpointConfigName, "endpoint config")
        if self._store.read("endpoint-config", EndpointConfigName) is not None:
            self._client.delete_endpoint_config(EndpointConfigName=EndpointConfigName)
        return self._client.create_endpoint_config(**_given(
            EndpointConfigName=EndpointConfigName, ProductionVariants=ProductionVariants,
            Tags=Tags))  # fmt: skip

    def describe_endpoint_config(self, *, EndpointConfigName: str) -> dict[str, Any]:
        """``DescribeEndpointConfig``: name, ARN, ProductionVariants, CreationTime."""
        return self._client.describe_endpoint_config(EndpointConfigName=EndpointConfigName)

    def list_endpoint_configs(
        self,
        *,
        NameContains: str | None = None,
        SortBy: str = "CreationTime",
        SortOrder: str = "Descending",
        MaxResults: int = 100,
        NextToken: str | None = None,
    ) -> dict[str, Any]:
        """``ListEndpointConfigs``: {"EndpointConfigs": [{name, ARN, CreationTime}]}."""
        return self._client.list_endpoint_configs(**_given(
            NameContains=NameContains, SortBy=SortBy, SortOrder=SortOrder,
            MaxResults=MaxResults, NextToken=NextToken))  # fmt: skip

    def delete_endpoint_config(self, *, EndpointConfigName: str) -> dict[str, Any]:
        """``DeleteEndpointConfig``: remove the config record (a running endpoint keeps serving)."""
        return self._client.delete_endpoint_config(EndpointConfigName=EndpointConfigName)

    # -- endpoints ---------------------------------------------------------------------------
    def create_endpoint(
        self,
        *,
        EndpointName: str,
        EndpointConfigName: str,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """``CreateEndpoint``: start the server; returns once it is InService or has failed."""
        check_name(EndpointName, "endpoint")
        return self._client.create_endpoint(**_given(
            EndpointName=EndpointName, EndpointConfigName=EndpointConfigName, Tags=Tags or None))  # fmt: skip

    def _exists(self, name: str) -> SageMakerError:
        record = self._store.read("endpoint", name) or {}
        status, _ = live_status(record) if record else ("?", None)
        return SageMakerError(
            "ValidationException",
            f'Cannot create already existing endpoint "{self._store.arn("endpoint", name)}" '
            f"(status {status}). Delete it first: predictor.delete_endpoint(), or "
            "endpoints.delete_endpoint(lab, name).",
            "CreateEndpoint",
        )

    def describe_endpoint(self, *, EndpointName: str) -> dict[str, Any]:
        """``DescribeEndpoint``: EndpointName, EndpointArn, EndpointConfigName, EndpointStatus
        (Creating, InService, Failed, Deleting: checked against the server), FailureReason,
        ProductionVariants, CreationTime, LastModifiedTime."""
        return self._client.describe_endpoint(EndpointName=EndpointName)

    def list_endpoints(
        self,
        *,
        SortBy: str = "CreationTime",
        SortOrder: str = "Descending",
        NextToken: str | None = None,
        MaxResults: int = 10,
        NameContains: str | None = None,
        StatusEquals: str | None = None,
        CreationTimeBefore: Any = None,
        CreationTimeAfter: Any = None,
        LastModifiedTimeBefore: Any = None,
        LastModifiedTimeAfter: Any = None,
    ) -> dict[str, Any]:
        """``ListEndpoints``: {"Endpoints": [{EndpointName, EndpointArn, CreationTime,
        LastModifiedTime, EndpointStatus}], "NextToken"?}, statuses checked live."""
        return self._client.list_endpoints(**_given(
            SortBy=SortBy, SortOrder=SortOrder, NextToken=NextToken, MaxResults=MaxResults,
            NameContains=NameContains, StatusEquals=StatusEquals,
            CreationTimeBefore=CreationTimeBefore, CreationTimeAfter=CreationTimeAfter,
            LastModifiedTimeBefore=LastModifiedTimeBefore,
            LastModifiedTimeAfter=LastModifiedTimeAfter))  # fmt: skip

    def delete_endpoint(self, *, EndpointName: str) -> dict[str, Any]:
        """``DeleteEndpoint``: stop the server (SIGTERM, then SIGKILL) and remove its record."""
        return self._client.delete_endpoint(EndpointName=EndpointName)

    def get_waiter(self, waiter_name: str) -> Any:
        """boto3's waiters (``endpoint_in_service``, ``endpoint_deleted``, ...)."""
        return self._client.get_waiter(waiter_name)

    def wait_for_endpoint(
        self, name: str, timeout: float = 600.0, poll: float = 0.1
    ) -> dict[str, Any]:
        """Wait until the endpoint is InService; raise EndpointDeployError if it fails.

        AWS equivalent: ``sagemaker.Session().wait_for_endpoint(name)``.
        """
        deadline = time.monotonic() + timeout
        while True:
            desc = self.describe_endpoint(EndpointName=name)
            status = desc["EndpointStatus"]
            if status == "InService":
                return desc
            if status == "Failed":
                raise EndpointDeployError(
                    f"Error hosting endpoint {name}: Failed. Reason: {desc.get('FailureReason')}"
                )
            if time.monotonic() > deadline:
                raise EndpointDeployError(
                    f"endpoint {name} is still {status} after {timeout:.0f} s; its log: "
                    f"{self.log_path(name)}"
                )
            time.sleep(poll)
            poll = min(poll * 1.5, 1.0)

    # -- what AutoML.deploy does -------------------------------------------------------------
    def deploy(
        self,
        source: ModelSource,
        endpoint_name: str,
        inference_response_keys: list[str] | None = None,
        initial_instance_count: int = 1,
        instance_type: str = "ml.m5.large",
        model_name: str | None = None,
        wait: bool = True,
        tags: list[dict[str, str]] | None = None,
        startup_timeout: float = 600.0,
    ) -> dict[str, Any]:
        """CreateModel + CreateEndpointConfig + CreateEndpoint (+ wait), as the SDK's deploy.

        The model and the endpoint config take ``model_name`` (default: the endpoint's name);
        returns the endpoint's description. CreateEndpoint returns once the server is
        InService or has failed; ``wait`` raises EndpointDeployError for a failed one.
        """
        check_name(endpoint_name, "endpoint")
        if not isinstance(initial_instance_count, int) or initial_instance_count < 1:
            raise ValueError(f"initial_instance_count={initial_instance_count!r}: expected 1")
        check_instance_count(initial_instance_count)
        if self._store.read("endpoint", endpoint_name) is not None:
            raise self._exists(endpoint_name)  # fail before replacing its model or config
        model_name = model_name or endpoint_name
        self.create_model(
            ModelName=model_name, source=source, inference_response_keys=inference_response_keys
        )
        self.create_endpoint_config(
            EndpointConfigName=endpoint_name,
            ProductionVariants=[
                {
                    "VariantName": VARIANT,
                    "ModelName": model_name,
                    "InitialInstanceCount": initial_instance_count,
                    "InstanceType": instance_type,
                    "InitialVariantWeight": 1.0,
                    "ContainerStartupHealthCheckTimeoutInSeconds": max(1, int(startup_timeout)),
                }
            ],
        )
        self.create_endpoint(
            EndpointName=endpoint_name, EndpointConfigName=endpoint_name, Tags=tags
        )
        if wait:
            return self.wait_for_endpoint(endpoint_name, timeout=startup_timeout)
        return self.describe_endpoint(EndpointName=endpoint_name)

    def endpoint_info(self, name: str) -> dict[str, Any]:
        """Where the local server is: url, pid, port, log, model source and response keys."""
        record = self._store.read("endpoint", name)
        if record is None:
            self.describe_endpoint(EndpointName=name)  # raises AWS's error for an unknown name
        local = record["Local"]
        return {
            "url": f"http://127.0.0.1:{local['Port']}" if local.get("Port") else None,
            "pid": local.get("Pid"),
            "port": local.get("Port"),
            "log": local.get("Log"),
            "model_name": local.get("ModelName"),
            "model_source": local.get("ModelSource"),
            "inference_response_keys": local.get("InferenceResponseKeys"),
        }

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotImplementedError(
            f"local backend: sagemaker client .{name}() is not implemented here (the local "
            "client has the model, endpoint-config and endpoint calls); run it on the aws backend"
        )


class LocalSageMakerRuntime:
    """``invoke_endpoint`` with boto3's ``sagemaker-runtime`` shape (the local runtime client).

    AWS equivalent: ``boto3.client("sagemaker-runtime")``. Connections are kept alive per thread.
    """

    def __init__(self, client: LocalSageMaker) -> None:
        self._client = client
        self._runtime = _client(client.local_account, "sagemaker-runtime")

    @classmethod
    def from_lab(cls, lab: Any) -> LocalSageMakerRuntime:
        return cls(LocalSageMaker.from_lab(lab))

    def invoke_endpoint(
        self,
        *,
        EndpointName: str,
        Body: Any,
        ContentType: str | None = None,
        Accept: str | None = None,
        CustomAttributes: str | None = None,
        TargetModel: str | None = None,
        TargetVariant: str | None = None,
        TargetContainerHostname: str | None = None,
        InferenceId: str | None = None,
        EnableExplanations: str | None = None,
        InferenceComponentName: str | None = None,
        SessionId: str | None = None,
        PrefixAwareId: str | None = None,
    ) -> dict[str, Any]:
        """``InvokeEndpoint``: returns {"Body": StreamingBody, "ContentType",
        "InvokedProductionVariant", "ResponseMetadata"}. A request the server refuses raises
        ``ModelError`` with the server's reason; an unknown endpoint ``ValidationError``."""
        return self._runtime.invoke_endpoint(**_given(
            EndpointName=EndpointName, Body=Body, ContentType=ContentType, Accept=Accept,
            CustomAttributes=CustomAttributes, TargetModel=TargetModel,
            TargetVariant=TargetVariant, TargetContainerHostname=TargetContainerHostname,
            InferenceId=InferenceId, EnableExplanations=EnableExplanations,
            InferenceComponentName=InferenceComponentName, SessionId=SessionId,
            PrefixAwareId=PrefixAwareId))  # fmt: skip

    def close(self) -> None:
        """Close this thread's kept-alive connections."""
        _session(self._client.local_account).local_dispatcher.service("sagemaker-runtime").close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name.startswith("_"):
            raise AttributeError(name)
        raise NotImplementedError(
            f"local backend: sagemaker-runtime .{name}() is not implemented (invoke_endpoint is); "
            "run it on the aws backend"
        )


class LocalSession:
    """What ``sagemaker.predictor.Predictor`` needs of a ``sagemaker.Session``, locally.

    AWS equivalent: ``sagemaker.Session()``. Pass it as ``sagemaker_session=`` so the SDK's own
    Predictor (and its serializers) talks to the local endpoint.
    """

    def __init__(
        self, client: LocalSageMaker, runtime: LocalSageMakerRuntime | None = None
    ) -> None:
        self.sagemaker_client = client
        self.sagemaker_runtime_client = runtime or LocalSageMakerRuntime(client)
        self._region_name = client.region
        self.boto_region_name = client.region
        self.local_mode = False

    def delete_endpoint(self, endpoint_name: str) -> None:
        log.info("Deleting endpoint with name: %s", endpoint_name)
        self.sagemaker_client.delete_endpoint(EndpointName=endpoint_name)

    def delete_endpoint_config(self, endpoint_config_name: str) -> None:
        log.info("Deleting endpoint configuration with name: %s", endpoint_config_name)
        self.sagemaker_client.delete_endpoint_config(EndpointConfigName=endpoint_config_name)

    def delete_model(self, model_name: str) -> None:
        log.info("Deleting model with name: %s", model_name)
        self.sagemaker_client.delete_model(ModelName=model_name)

    def wait_for_endpoint(
        self, endpoint: str, poll: float = 30, live_logging: bool = False
    ) -> dict[str, Any]:
        return self.sagemaker_client.wait_for_endpoint(endpoint, poll=min(poll, 0.5))

    def endpoint_in_service_or_not(self, endpoint_name: str) -> bool:
        try:
            desc = self.sagemaker_client.describe_endpoint(EndpointName=endpoint_name)
        except ClientError:
            return False
        return desc["EndpointStatus"] == "InService"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotImplementedError(
            f"local backend: sagemaker Session.{name} is not available locally (the local session "
            "serves a Predictor: predict, delete_endpoint, delete_model); use the aws backend"
        )


def iter_endpoint_records(home: Path) -> Iterator[dict[str, Any]]:
    """Every endpoint record under ``<home>/endpoints/`` (for cleanup and listings)."""
    yield from HostingStore(LocalAccount(Path(home), "us-east-1")).records("endpoint")
