"""The local backend's one seam: a real ``boto3.Session`` whose clients answer from the lab home.

AWS equivalent: ``boto3.Session(region_name=...)``. ``local_boto3_session(account)`` returns a
genuine boto3 session; every client it makes (``session.client("s3")``, ``"sagemaker"``,
``"sagemaker-runtime"``, ``"sts"``, ``"iam"``, ``"logs"``, ``"cloudwatch"``) and every resource
(``session.resource("s3")``) is boto3's own: botocore checks each request against the service
model (a wrong parameter raises ``ParamValidationError`` as on AWS), and paginators, waiters and
S3 transfers work unchanged. Only the last step differs: instead of signing and sending an HTTP
request, botocore's ``before-call`` event hands the call to the local service of that name
(:mod:`utils.local.services`), whose answer botocore returns, or whose error it raises as the
service's modeled ``ClientError`` (``s3.exceptions.NoSuchKey``, ``ResourceNotFound``, ...).

This is botocore's own extension point, the one its ``Stubber`` and moto's in-process mock use.
The SDK's ``sagemaker.Session(boto_session=...)`` is built on such a session, so the SDK's
classes run unchanged. Nothing reaches the network: a call no local service implements raises
``NotImplementedError`` naming it, and a request that would still be sent is refused.
"""

from __future__ import annotations

import os
from typing import Any

from botocore.awsrequest import AWSResponse

from utils.local.service import LocalAccount, Service, ServiceError

_PARAMS = "local_backend_params"
# Set by the test suite: check every local answer against the operation's output shape, as
# botocore's Stubber does, so that a response that AWS could not give fails loudly.
STRICT_ENV = "LAB_STRICT_SHAPES"


class NetworkRefused(RuntimeError):
    """A request was about to leave the machine from the local backend."""


class _Dispatcher:
    """botocore event handlers that route each client call to its local service."""

    def __init__(self, account: LocalAccount) -> None:
        self.account = account
        self._services: dict[str, Service] = {}

    def service(self, name: str) -> Service:
        if name not in self._services:
            from utils.local.services import service_class

            self._services[name] = service_class(name)(self.account)
        return self._services[name]

    # before-parameter-build: keep the caller's parameters (after botocore's own handlers)
    def keep_params(self, params: dict[str, Any], model: Any, context: dict[str, Any],
                    **_: Any) -> None:  # fmt: skip
        context[_PARAMS] = dict(params)

    # before-call: answer the call locally
    def call(self, model: Any, params: dict[str, Any], context: dict[str, Any],
             **_: Any) -> tuple[AWSResponse, dict[str, Any]]:  # fmt: skip
        service_name = model.service_model.service_name
        api_params = context.get(_PARAMS, {})
        try:
            method = self.service(service_name).operation(model.name)
            parsed = method(**api_params)
        except ServiceError as error:
            parsed = error.response()
            return AWSResponse(None, error.status, {}, None), parsed
        if parsed is None:
            parsed = {}
        parsed.setdefault("ResponseMetadata", _metadata(200))
        if os.environ.get(STRICT_ENV):
            _check_shape(model, parsed)
        status = parsed["ResponseMetadata"].get("HTTPStatusCode", 200)
        headers = parsed["ResponseMetadata"].get("HTTPHeaders", {})
        return AWSResponse(None, status, headers, None), parsed

    # before-send: the last line of defence; the local backend never sends a request
    @staticmethod
    def refuse(request: Any, **_: Any) -> None:
        raise NetworkRefused(
            f"local backend: a request to {getattr(request, 'url', '?')} was about to leave this "
            "machine; the local backend answers every call itself (this is a bug: please report)"
        )


def _metadata(status: int) -> dict[str, Any]:
    from utils.local.service import metadata

    return metadata(status)


def _check_shape(model: Any, parsed: dict[str, Any]) -> None:
    from botocore.validate import ParamValidator

    shape = model.output_shape
    if shape is None:
        return
    body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, shape)
    if report.has_errors():
        raise AssertionError(
            f"local backend: the answer to {model.service_model.service_name}.{model.name} does "
            f"not match the AWS model:\n{report.generate_report()}"
        )


def local_boto3_session(account: LocalAccount) -> Any:
    """A ``boto3.Session`` in ``account.region`` whose clients are the local backend's.

    Static placeholder credentials keep botocore from looking for real ones (no instance
    metadata lookups); they are never used, since no request is signed or sent.
    """
    import boto3

    session = boto3.Session(
        aws_access_key_id="LOCALBACKENDKEY",
        aws_secret_access_key="local-backend-placeholder",  # noqa: S106 - not a secret
        region_name=account.region,
    )
    dispatcher = _Dispatcher(account)
    _register(session.events, dispatcher)
    session.local_account = account  # type: ignore[attr-defined]
    session.local_dispatcher = dispatcher  # type: ignore[attr-defined]
    return session


def _register(events: Any, dispatcher: _Dispatcher) -> None:
    """The dispatcher's handlers on a session's (or one client's) events; a second registration
    (a client of a local session, met again by the plugin below) changes nothing."""
    events.register_last("before-parameter-build", dispatcher.keep_params,
                         unique_id="lab-local-params")  # fmt: skip
    events.register("before-call", dispatcher.call, unique_id="lab-local-call")
    events.register_first("before-send", dispatcher.refuse, unique_id="lab-local-refuse")


# -- every boto3 session of the process, once connect("local") has run --------------------------
# The course makes sessions of its own: ``boto3.Session(region_name=region).client("sts")`` in
# week 1, ``boto3.Session().region_name`` in every set-up cell. ``boto3.DEFAULT_SESSION`` covers
# ``boto3.client(...)`` and ``sagemaker.Session()``; a fresh session is reached through botocore's
# client plugins: botocore imports each module named in BOTOCORE_EXPERIMENTAL__PLUGINS and calls
# its ``initialize_client_plugin(client)`` for every client it makes, in any session.
PLUGIN_ENV = "BOTOCORE_EXPERIMENTAL__PLUGINS"
_PLUGIN = "lab_local_backend=utils.local.session"
_default: Any = None  # the local boto3 session connect("local") made boto3's default
_env_set: dict[str, str | None] = {}  # what make_default changed, to put back


def make_default(session: Any) -> None:
    """Make every client made in this process from now on, in any boto3 session, a client of
    ``session`` (a :func:`local_boto3_session`), for as long as ``session`` is boto3's default
    session: ``connect("local")`` calls it. Whoever replaces the default (``connect("aws")``,
    ``boto3.setup_default_session()``, moto's ``mock_aws``) ends it. A session of the process's
    own (without credentials) looks for none on the network: the instance metadata service is
    not asked (AWS_EC2_METADATA_DISABLED)."""
    global _default
    _default = session
    plugins = [p for p in os.environ.get(PLUGIN_ENV, "").split(",") if p.strip()]
    if "DISABLED" not in plugins and _PLUGIN not in plugins:
        _set_env(PLUGIN_ENV, ",".join([*plugins, _PLUGIN]))
    if "AWS_EC2_METADATA_DISABLED" not in os.environ:
        _set_env("AWS_EC2_METADATA_DISABLED", "true")


def clear_default() -> None:
    """Undo :func:`make_default` (``connect("aws")``: sessions made from now on are AWS's)."""
    global _default
    _default = None
    for var, before in _env_set.items():
        if before is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = before
    _env_set.clear()


def _set_env(var: str, value: str) -> None:
    _env_set.setdefault(var, os.environ.get(var))
    os.environ[var] = value


def initialize_client_plugin(client: Any) -> None:
    """botocore's client plugin hook (see above): a client of a fresh session is answered by the
    connected local lab, as ``boto3.client(...)`` is."""
    import boto3

    if _default is not None and boto3.DEFAULT_SESSION is _default:
        _register(client.meta.events, _default.local_dispatcher)
