"""SageMaker hosting on the local backend: models, endpoint configs and endpoints in the lab home.

AWS equivalent: SageMaker's CreateModel / CreateEndpointConfig / CreateEndpoint, the
DescribeEndpoint / ListEndpoints / DeleteEndpoint family, and ``sagemaker-runtime``'s
InvokeEndpoint. An endpoint is a real HTTP server (:mod:`utils.local.endpoint_server`) in a
background process of its own, bound to 127.0.0.1 on a free port; it keeps running after the
notebook's kernel stops, as an AWS endpoint keeps running (and billing) until it is deleted.

State lives under ``<lab home>/endpoints/``: ``<name>.json`` per endpoint (name, ARN, status,
creation time, and under ``Local`` the server's pid, port, token, model source and log file),
``configs/<name>.json`` per endpoint config, ``models/<name>.json`` per model, and
``logs/<name>.log`` (the server's log, as CloudWatch would hold it). Any kernel can describe,
invoke or delete an endpoint another kernel deployed. The status a reader sees is checked
against the server itself: a server that answers ``/ping`` is ``InService``, one still loading
is ``Creating``, and a server that is gone (or a port now used by something else) is
``Failed``, with the end of its log as the reason.

Errors are botocore ``ClientError`` subclasses with SageMaker's codes (``ValidationException``
for an unknown name, ``ModelError`` when the server refuses a request), so ``except
ClientError`` works the same on both backends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import io
import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from utils.errors import LabError
from utils.local.endpoint_server import MAX_PAYLOAD_BYTES, SUPPORTED_KEYS

LOCAL_ACCOUNT = "000000000000"
VARIANT = "AllTraffic"
LOCAL_IMAGE = "local/utils.local.endpoint_server"
DEFAULT_KEYS = ["predicted_label"]  # what an Autopilot container answers unless told otherwise
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_PING_TIMEOUT = 2.0
_INVOKE_TIMEOUT = 60.0  # SageMaker real-time endpoints answer within 60 s
_BOOT_GRACE = 60.0  # seconds a new server has to announce its port
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # servers this process started, to reap them
_CHILDREN_LOCK = threading.Lock()

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


def _not_supported(call: str, **given: Any) -> None:
    for name, value in given.items():
        if value is not None:
            raise NotImplementedError(
                f"local backend: {call}({name}=...) is not implemented; it runs on the aws "
                f"backend. Leave {name} unset locally."
            )


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


# -- records -------------------------------------------------------------------------------------
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def _write_json(path: Path, data: dict[str, Any], exclusive: bool = False) -> None:
    """Replace ``path`` atomically (readers see the old or the new record, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1, sort_keys=True, default=str)
    if exclusive:
        with open(path, "x", encoding="utf-8") as fh:  # fails if it exists: one creator wins
            fh.write(text)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:  # a record being created with open("x"): not readable yet
        time.sleep(0.05)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None


def _dates(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = dict(record)
    for key in keys:
        if isinstance(out.get(key), str):
            out[key] = dt.datetime.fromisoformat(out[key])
    return out


def _metadata(status: int = 200) -> dict[str, Any]:
    return {
        "RequestId": str(uuid.uuid4()),
        "HTTPStatusCode": status,
        "HTTPHeaders": {},
        "RetryAttempts": 0,
    }


# -- the server process --------------------------------------------------------------------------
def _reap() -> None:
    with _CHILDREN_LOCK:
        for pid, proc in list(_CHILDREN.items()):
            if proc.poll() is not None:
                del _CHILDREN[pid]


def process_alive(pid: int | None, token: str | None) -> bool | None:
    """Is ``pid`` still this endpoint's server? True, False, or None where it cannot be told."""
    if not pid:
        return False
    _reap()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not ours
    except OSError:
        return None
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
                return False
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        return bool(token) and token in cmdline
    if sys.platform == "win32":
        return None
    try:
        out = subprocess.run(
            ["ps", "-o", "stat=,command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out) and not out.startswith("Z") and bool(token) and token in out


def ping(port: int | None, token: str | None, timeout: float = _PING_TIMEOUT) -> str | None:
    """``'ready'`` (200), ``'loading'`` (503) from this endpoint's server, else None."""
    if not port:
        return None
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=timeout)
    try:
        conn.request("GET", "/ping")
        resp = conn.getresponse()
        resp.read()
        if token and resp.getheader("X-Endpoint-Token") != token:
            return None  # something else answers on that port now
        return {200: "ready", 503: "loading"}.get(resp.status)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _log_tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    rows = [r for r in text.splitlines() if r.strip()]
    failed = [r for r in rows if "MODEL LOAD FAILED" in r]
    if failed:
        return failed[-1].split("[endpoint] ", 1)[-1]
    return " | ".join(r.split("[endpoint] ", 1)[-1] for r in rows[-lines:]) or "(empty log)"


def _read_port(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The port the server announces on its first line, or None if it dies or stays silent."""
    box: queue.Queue[bytes] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: box.put(proc.stdout.readline()), daemon=True)
    reader.start()
    try:
        line = box.get(timeout=timeout)
    except queue.Empty:
        return None
    match = re.match(rb"^PORT (\d+)\s*$", line)
    return int(match.group(1)) if match else None


def _stop_process(pid: int, token: str, port: int | None = None, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL after ``grace`` seconds.

    Only a process proven to be this endpoint's server is signalled: its command line holds
    the endpoint's token, or (where command lines cannot be read) it answers /ping with it.
    """
    alive = process_alive(pid, token)
    if alive is None:
        alive = ping(port, token) is not None
    if not alive:
        return
    kill: Callable[[int, int], None] = os.killpg if hasattr(os, "killpg") else os.kill
    with contextlib.suppress(ProcessLookupError, PermissionError):
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with _CHILDREN_LOCK:
            proc = _CHILDREN.get(pid)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.1)
        if process_alive(pid, token) is False:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    with _CHILDREN_LOCK:
        proc = _CHILDREN.get(pid)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


# -- the client ----------------------------------------------------------------------------------
class LocalSageMaker:
    """The endpoint subset of boto3's ``sagemaker`` client, over the lab home.

    AWS equivalent: ``boto3.client("sagemaker")``'s create/describe/list/delete calls for
    models, endpoint configs and endpoints, with the same argument names and response keys.
    :meth:`deploy` is what ``AutoML.deploy`` does with them.
    """

    def __init__(
        self,
        home: Path,
        region: str,
        account: str = LOCAL_ACCOUNT,
        lab_settings: dict[str, Any] | None = None,
    ) -> None:
        self.home = Path(home)
        self.region = region
        self.account = account
        self.lab_settings = dict(lab_settings or {"home": str(self.home), "region": region})
        self.root = self.home / "endpoints"

    @classmethod
    def from_lab(cls, lab: Any) -> LocalSageMaker:
        settings = {
            "home": str(lab.home),
            "bucket": lab.bucket,
            "region": lab.region,
            "database": lab.database,
        }
        return cls(lab.home, lab.region, LOCAL_ACCOUNT, settings)

    # -- paths and ARNs ----------------------------------------------------------------------
    def _endpoint_path(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def _config_path(self, name: str) -> Path:
        return self.root / "configs" / f"{name}.json"

    def _model_path(self, name: str) -> Path:
        return self.root / "models" / f"{name}.json"

    def log_path(self, name: str) -> Path:
        """The endpoint server's log (CloudWatch's ``/aws/sagemaker/Endpoints/<name>``)."""
        return self.root / "logs" / f"{name}.log"

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"

    def _names(self, folder: Path) -> list[str]:
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith("."))

    def _endpoint_record(self, name: str, operation: str) -> dict[str, Any]:
        record = _read_json(self._endpoint_path(name)) if _NAME_RE.match(str(name)) else None
        if record is None:
            raise SageMakerError(
                "ValidationException",
                f'Could not find endpoint "{self._arn("endpoint", str(name))}".',
                operation,
            )
        return record

    # -- status ------------------------------------------------------------------------------
    def live_status(self, record: dict[str, Any]) -> tuple[str, str | None]:
        """The endpoint's status as its server shows it now, and a failure reason."""
        status = record.get("EndpointStatus", "Failed")
        if status == "Failed":
            return status, record.get("FailureReason")
        local = record.get("Local", {})
        pid, port, token = local.get("Pid"), local.get("Port"), local.get("Token")
        answer = ping(port, token)
        if answer == "ready":
            return "InService", None
        if answer == "loading":
            return "Creating", None
        if status == "Deleting":
            return "Deleting", None
        alive = process_alive(pid, token)
        log_file = Path(local.get("Log", self.log_path(record["EndpointName"])))
        if status == "Creating" and (alive or pid is None):
            created = dt.datetime.fromisoformat(record["CreationTime"])
            if alive or (_now() - created).total_seconds() < _BOOT_GRACE:
                return "Creating", None
        if alive:
            return "Failed", (
                f"the endpoint's server (pid {pid}) does not answer /ping on 127.0.0.1:{port}; "
                f"its log {log_file}: {_log_tail(log_file)}"
            )
        return "Failed", (
            f"the endpoint's server (pid {pid}) is not running; delete the endpoint and deploy "
            f"again. Its log {log_file}: {_log_tail(log_file)}"
        )

    # -- models ------------------------------------------------------------------------------
    def create_model(
        self,
        *,
        ModelName: str,
        source: ModelSource,
        inference_response_keys: list[str] | None = None,
    ) -> dict[str, Any]:
        """Register a model (``CreateModel``); an existing one of that name is replaced.

        The sagemaker SDK reuses an existing model of the same name with a warning; so does this.
        """
        check_name(ModelName, "model")
        keys = check_keys(inference_response_keys)
        path = self._model_path(ModelName)
        if path.exists():
            log.warning("Using already existing model: %s (replaced)", ModelName)
        env = {
            "SAGEMAKER_INFERENCE_SUPPORTED": ",".join(SUPPORTED_KEYS),
            "SAGEMAKER_INFERENCE_OUTPUT": ",".join(keys),
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            **source.environment(),
        }
        record = {
            "ModelName": ModelName,
            "ModelArn": self._arn("model", ModelName),
            "Containers": [{"Image": LOCAL_IMAGE, "Mode": "SingleModel", "Environment": env}],
            "CreationTime": _iso(_now()),
            "Local": {"ModelSource": source.as_json(), "InferenceResponseKeys": keys},
        }
        _write_json(path, record)
        return {"ModelArn": record["ModelArn"], "ResponseMetadata": _metadata()}

    def describe_model(self, *, ModelName: str) -> dict[str, Any]:
        """``DescribeModel``: ModelName, ModelArn, Containers, CreationTime."""
        record = _read_json(self._model_path(ModelName)) if _NAME_RE.match(str(ModelName)) else None
        if record is None:
            raise SageMakerError(
                "ValidationException",
                f'Could not find model "{self._arn("model", str(ModelName))}".',
                "DescribeModel",
            )
        out = _dates({k: v for k, v in record.items() if k != "Local"}, "CreationTime")
        return {**out, "ResponseMetadata": _metadata()}

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
        rows = []
        for name in self._names(self.root / "models"):
            rec = _read_json(self._model_path(name))
            if rec and (not NameContains or NameContains in name):
                rows.append(
                    _dates(
                        {k: rec[k] for k in ("ModelName", "ModelArn", "CreationTime")},
                        "CreationTime",
                    )
                )
        return _page(rows, "Models", "ModelName", SortBy, SortOrder, MaxResults, NextToken)

    def delete_model(self, *, ModelName: str) -> dict[str, Any]:
        """``DeleteModel``: remove the model record (a running endpoint keeps serving)."""
        path = self._model_path(ModelName) if _NAME_RE.match(str(ModelName)) else None
        if path is None or not path.exists():
            raise SageMakerError(
                "ValidationException",
                f'Could not find model "{self._arn("model", str(ModelName))}".',
                "DeleteModel",
            )
        path.unlink(missing_ok=True)
        return {"ResponseMetadata": _metadata()}

    # -- endpoint configs --------------------------------------------------------------------
    def create_endpoint_config(
        self,
        *,
        EndpointConfigName: str,
        ProductionVariants: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """``CreateEndpointConfig`` with one production variant; an existing one is replaced."""
        check_name(EndpointConfigName, "endpoint config")
        if len(ProductionVariants) != 1:
            raise NotImplementedError(
                "local backend: an endpoint config has exactly one production variant "
                f"(got {len(ProductionVariants)}); several variants run on the aws backend"
            )
        variant = dict(ProductionVariants[0])
        count = variant.get("InitialInstanceCount", 1)
        if count != 1:
            raise NotImplementedError(
                f"local backend: initial_instance_count={count}: the local endpoint is one "
                "server process; use 1 locally (several instances run on the aws backend)"
            )
        instance = variant.get("InstanceType", "")
        if not isinstance(instance, str) or not instance.startswith("ml."):
            raise SageMakerError(
                "ValidationException",
                f"instance_type {instance!r}: expected a SageMaker instance type such as "
                "'ml.m5.large' (locally it is recorded, not emulated)",
                "CreateEndpointConfig",
            )
        model_name = variant.get("ModelName")
        if not _read_json(self._model_path(str(model_name))):
            raise SageMakerError(
                "ValidationException",
                f'Could not find model "{self._arn("model", str(model_name))}".',
                "CreateEndpointConfig",
            )
        variant.setdefault("VariantName", VARIANT)
        variant.setdefault("InitialVariantWeight", 1.0)
        record = {
            "EndpointConfigName": EndpointConfigName,
            "EndpointConfigArn": self._arn("endpoint-config", EndpointConfigName),
            "ProductionVariants": [variant],
            "CreationTime": _iso(_now()),
        }
        _write_json(self._config_path(EndpointConfigName), record)
        return {"EndpointConfigArn": record["EndpointConfigArn"], "ResponseMetadata": _metadata()}

    def describe_endpoint_config(self, *, EndpointConfigName: str) -> dict[str, Any]:
        """``DescribeEndpointConfig``: name, ARN, ProductionVariants, CreationTime."""
        path = self._config_path(EndpointConfigName)
        record = _read_json(path) if _NAME_RE.match(str(EndpointConfigName)) else None
        if record is None:
            raise SageMakerError(
                "ValidationException",
                f'Could not find endpoint configuration "'
                f'{self._arn("endpoint-config", str(EndpointConfigName))}".',
                "DescribeEndpointConfig",
            )
        return {**_dates(record, "CreationTime"), "ResponseMetadata": _metadata()}

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
        rows = []
        for name in self._names(self.root / "configs"):
            rec = _read_json(self._config_path(name))
            if rec and (not NameContains or NameContains in name):
                keys = ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
                rows.append(_dates({k: rec[k] for k in keys}, "CreationTime"))
        return _page(
            rows, "EndpointConfigs", "EndpointConfigName", SortBy, SortOrder, MaxResults, NextToken
        )

    def delete_endpoint_config(self, *, EndpointConfigName: str) -> dict[str, Any]:
        """``DeleteEndpointConfig``: remove the config record (a running endpoint keeps serving)."""
        ok = _NAME_RE.match(str(EndpointConfigName))
        path = self._config_path(EndpointConfigName) if ok else None
        if path is None or not path.exists():
            raise SageMakerError(
                "ValidationException",
                f'Could not find endpoint configuration "'
                f'{self._arn("endpoint-config", str(EndpointConfigName))}".',
                "DeleteEndpointConfig",
            )
        path.unlink(missing_ok=True)
        return {"ResponseMetadata": _metadata()}

    # -- endpoints ---------------------------------------------------------------------------
    def create_endpoint(
        self,
        *,
        EndpointName: str,
        EndpointConfigName: str,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """``CreateEndpoint``: start the server; returns at once, with the endpoint Creating."""
        check_name(EndpointName, "endpoint")
        config = self.describe_endpoint_config(EndpointConfigName=EndpointConfigName)
        variant = config["ProductionVariants"][0]
        model = _read_json(self._model_path(variant["ModelName"]))
        if model is None:
            raise SageMakerError(
                "ValidationException",
                f'Could not find model "{self._arn("model", variant["ModelName"])}".',
                "CreateEndpoint",
            )
        arn = self._arn("endpoint", EndpointName)
        now = _iso(_now())
        token = uuid.uuid4().hex
        log_file = self.log_path(EndpointName)
        record: dict[str, Any] = {
            "EndpointName": EndpointName,
            "EndpointArn": arn,
            "EndpointConfigName": EndpointConfigName,
            "EndpointStatus": "Creating",
            "CreationTime": now,
            "LastModifiedTime": now,
            "ProductionVariants": [
                {
                    "VariantName": variant.get("VariantName", VARIANT),
                    "CurrentWeight": 1.0,
                    "DesiredWeight": 1.0,
                    "CurrentInstanceCount": 1,
                    "DesiredInstanceCount": 1,
                    "InstanceType": variant.get("InstanceType"),
                }
            ],
            "Tags": Tags or [],
            "Local": {
                "Pid": None,
                "Port": None,
                "Token": token,
                "Log": str(log_file),
                "ModelName": variant["ModelName"],
                "ModelSource": model["Local"]["ModelSource"],
                "InferenceResponseKeys": model["Local"]["InferenceResponseKeys"],
                "Lab": self.lab_settings,
                "Python": sys.executable,
            },
        }
        path = self._endpoint_path(EndpointName)
        try:
            _write_json(path, record, exclusive=True)
        except FileExistsError:
            raise self._exists(_read_json(path) or record) from None
        try:
            self._spawn(record, path)
        except BaseException:
            current = _read_json(path)
            if current is not None and current.get("Local", {}).get("Pid") is None:
                path.unlink(missing_ok=True)
            raise
        return {"EndpointArn": arn, "ResponseMetadata": _metadata()}

    def _exists(self, record: dict[str, Any]) -> SageMakerError:
        status, _ = self.live_status(record)
        return SageMakerError(
            "ValidationException",
            f'Cannot create already existing endpoint "{record["EndpointArn"]}" (status {status}). '
            "Delete it first: predictor.delete_endpoint(), or "
            "endpoints.delete_endpoint(lab, name).",
            "CreateEndpoint",
        )

    def _spawn(self, record: dict[str, Any], path: Path) -> None:
        local = record["Local"]
        log_file = Path(local["Log"])
        log_file.parent.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("MPLBACKEND", None)
        with open(log_file, "ab") as err:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "utils.local.endpoint_server",
                    "--record",
                    str(path),
                    "--token",
                    local["Token"],
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                cwd=str(root),
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        with _CHILDREN_LOCK:
            _CHILDREN[proc.pid] = proc
        port = _read_port(proc, _BOOT_GRACE)
        if proc.stdout is not None:
            proc.stdout.close()
        local["Pid"] = proc.pid
        local["Port"] = port
        if port is None:
            _stop_process(proc.pid, local["Token"], grace=2.0)
            record["EndpointStatus"] = "Failed"
            record["FailureReason"] = (
                f"the endpoint's server did not start; its log {log_file}: {_log_tail(log_file)}"
            )
        record["LastModifiedTime"] = _iso(_now())
        _write_json(path, record)

    def describe_endpoint(self, *, EndpointName: str) -> dict[str, Any]:
        """``DescribeEndpoint``: EndpointName, EndpointArn, EndpointConfigName, EndpointStatus
        (Creating, InService, Failed, Deleting: checked against the server), FailureReason,
        ProductionVariants, CreationTime, LastModifiedTime."""
        record = self._endpoint_record(EndpointName, "DescribeEndpoint")
        status, reason = self.live_status(record)
        out = {k: v for k, v in record.items() if k not in ("Local", "Tags", "FailureReason")}
        out["EndpointStatus"] = status
        if reason:
            out["FailureReason"] = reason
        return {**_dates(out, "CreationTime", "LastModifiedTime"), "ResponseMetadata": _metadata()}

    def list_endpoints(
        self,
        *,
        SortBy: str = "CreationTime",
        SortOrder: str = "Descending",
        NextToken: str | None = None,
        MaxResults: int = 10,
        NameContains: str | None = None,
        StatusEquals: str | None = None,
        CreationTimeBefore: dt.datetime | None = None,
        CreationTimeAfter: dt.datetime | None = None,
        LastModifiedTimeBefore: dt.datetime | None = None,
        LastModifiedTimeAfter: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """``ListEndpoints``: {"Endpoints": [{EndpointName, EndpointArn, CreationTime,
        LastModifiedTime, EndpointStatus}], "NextToken"?}, statuses checked live."""
        _not_supported(
            "list_endpoints",
            LastModifiedTimeBefore=LastModifiedTimeBefore,
            LastModifiedTimeAfter=LastModifiedTimeAfter,
        )
        rows = []
        for name in self._names(self.root):
            rec = _read_json(self._endpoint_path(name))
            if not rec or (NameContains and NameContains not in name):
                continue
            status, _ = self.live_status(rec)
            if StatusEquals and status != StatusEquals:
                continue
            row = _dates(
                {
                    "EndpointName": rec["EndpointName"],
                    "EndpointArn": rec["EndpointArn"],
                    "CreationTime": rec["CreationTime"],
                    "LastModifiedTime": rec["LastModifiedTime"],
                    "EndpointStatus": status,
                },
                "CreationTime",
                "LastModifiedTime",
            )
            if CreationTimeBefore and row["CreationTime"] >= CreationTimeBefore:
                continue
            if CreationTimeAfter and row["CreationTime"] <= CreationTimeAfter:
                continue
            rows.append(row)
        return _page(rows, "Endpoints", "EndpointName", SortBy, SortOrder, MaxResults, NextToken)

    def delete_endpoint(self, *, EndpointName: str) -> dict[str, Any]:
        """``DeleteEndpoint``: stop the server (SIGTERM, then SIGKILL) and remove its record."""
        record = self._endpoint_record(EndpointName, "DeleteEndpoint")
        path = self._endpoint_path(EndpointName)
        local = record.get("Local", {})
        record["EndpointStatus"] = "Deleting"
        record["LastModifiedTime"] = _iso(_now())
        with contextlib.suppress(OSError):
            _write_json(path, record)
        if local.get("Pid"):
            _stop_process(int(local["Pid"]), str(local.get("Token")), local.get("Port"))
        path.unlink(missing_ok=True)
        Path(local.get("Log", self.log_path(EndpointName))).unlink(missing_ok=True)
        return {"ResponseMetadata": _metadata()}

    def get_waiter(self, waiter_name: str) -> _Waiter:
        """``endpoint_in_service`` or ``endpoint_deleted``, as boto3's waiters."""
        if waiter_name not in ("endpoint_in_service", "endpoint_deleted"):
            raise NotImplementedError(
                f"local backend: get_waiter({waiter_name!r}); available: endpoint_in_service, "
                "endpoint_deleted"
            )
        return _Waiter(self, waiter_name)

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
                self._settle(name, "InService", None)
                return desc
            if status == "Failed":
                self._settle(name, "Failed", desc.get("FailureReason"))
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

    def _settle(self, name: str, status: str, reason: str | None) -> None:
        """Write a status the server confirmed into the record (the deploying kernel does this)."""
        path = self._endpoint_path(name)
        record = _read_json(path)
        if record is None or record.get("EndpointStatus") == status:
            return
        record["EndpointStatus"] = status
        record["LastModifiedTime"] = _iso(_now())
        if reason:
            record["FailureReason"] = reason
        _write_json(path, record)

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
        returns the endpoint's description.
        """
        check_name(endpoint_name, "endpoint")
        if not isinstance(initial_instance_count, int) or initial_instance_count < 1:
            raise ValueError(f"initial_instance_count={initial_instance_count!r}: expected 1")
        existing = _read_json(self._endpoint_path(endpoint_name))
        if existing is not None:  # fail before replacing its model or config
            raise self._exists(existing)
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
        record = self._endpoint_record(name, "DescribeEndpoint")
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


class _Waiter:
    def __init__(self, client: LocalSageMaker, name: str) -> None:
        self.client, self.name = client, name

    def wait(self, *, EndpointName: str, WaiterConfig: dict[str, Any] | None = None) -> None:
        config = WaiterConfig or {}
        delay, attempts = float(config.get("Delay", 1)), int(config.get("MaxAttempts", 600))
        if self.name == "endpoint_in_service":
            self.client.wait_for_endpoint(
                EndpointName, timeout=delay * attempts, poll=min(delay, 0.2)
            )
            return
        for _ in range(attempts):
            if not self.client._endpoint_path(EndpointName).exists():
                return
            time.sleep(delay)
        raise EndpointDeployError(f"endpoint {EndpointName} was not deleted in time")


def _page(
    rows: list[dict[str, Any]],
    key: str,
    name_key: str,
    sort_by: str,
    sort_order: str,
    max_results: int,
    next_token: str | None,
) -> dict[str, Any]:
    field_of = {"CreationTime": "CreationTime", "Name": name_key, "Status": "EndpointStatus"}
    if sort_by not in field_of:
        raise SageMakerError(
            "ValidationException",
            f"SortBy {sort_by!r}: use one of {sorted(field_of)}",
            f"List{key}",
        )
    if sort_order not in ("Ascending", "Descending"):
        raise SageMakerError(
            "ValidationException",
            f"SortOrder {sort_order!r}: use Ascending or Descending",
            f"List{key}",
        )
    rows.sort(key=lambda r: r.get(field_of[sort_by]) or "", reverse=sort_order == "Descending")
    start = int(next_token) if next_token else 0
    out: dict[str, Any] = {key: rows[start : start + max_results], "ResponseMetadata": _metadata()}
    if start + max_results < len(rows):
        out["NextToken"] = str(start + max_results)
    return out


# -- invoking an endpoint ------------------------------------------------------------------------
def _body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise TypeError(f"Body: expected bytes, a string or a file object, got {type(body).__name__}")


class LocalSageMakerRuntime:
    """``invoke_endpoint`` with boto3's ``sagemaker-runtime`` shape, over HTTP to the server.

    AWS equivalent: ``boto3.client("sagemaker-runtime")``. Connections are kept alive per thread.
    """

    def __init__(self, client: LocalSageMaker) -> None:
        self._client = client
        self._records: dict[str, tuple[int, int, dict[str, Any]]] = {}
        self._local = threading.local()

    @classmethod
    def from_lab(cls, lab: Any) -> LocalSageMakerRuntime:
        return cls(LocalSageMaker.from_lab(lab))

    def _record(self, name: str) -> dict[str, Any] | None:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            return None
        path = self._client._endpoint_path(name)
        try:
            st = path.stat()
        except FileNotFoundError:
            self._records.pop(name, None)
            return None
        cached = self._records.get(name)
        if cached and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            return cached[2]
        record = _read_json(path)
        if record is not None:
            self._records[name] = (st.st_mtime_ns, st.st_size, record)
        return record

    def _connection(self, port: int, fresh: bool = False) -> http.client.HTTPConnection:
        pool: dict[int, http.client.HTTPConnection] = getattr(self._local, "pool", None) or {}
        self._local.pool = pool
        conn = pool.get(port)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=_INVOKE_TIMEOUT)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pool[port] = conn
        return conn

    def _post(self, port: int, body: bytes, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        for attempt in (0, 1):
            try:
                conn = self._connection(port, fresh=attempt == 1)
                conn.request("POST", "/invocations", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self._local.pool.pop(port, None)
                return resp.status, resp, data
            except (
                http.client.RemoteDisconnected,
                BrokenPipeError,
                ConnectionResetError,
                http.client.CannotSendRequest,
                http.client.ResponseNotReady,
            ):
                self._local.pool.pop(port, None)
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def _not_in_service(self, name: str, why: str) -> SageMakerError:
        return SageMakerError(
            "ValidationError",
            f"Endpoint {name} of account {self._client.account} is not in service: {why}",
            "InvokeEndpoint",
        )

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
        _not_supported(
            "invoke_endpoint",
            TargetModel=TargetModel,
            TargetContainerHostname=TargetContainerHostname,
            EnableExplanations=EnableExplanations,
            InferenceComponentName=InferenceComponentName,
            SessionId=SessionId,
            PrefixAwareId=PrefixAwareId,
        )
        data = _body_bytes(Body)
        if len(data) > MAX_PAYLOAD_BYTES:
            raise SageMakerError(
                "ValidationError",
                f"Body of {len(data)} bytes is over the {MAX_PAYLOAD_BYTES} bytes (6 MB) limit of "
                "InvokeEndpoint: send fewer reviews per request, or use batch predictions",
                "InvokeEndpoint",
            )
        record = self._record(EndpointName)
        if record is None:
            raise SageMakerError(
                "ValidationError",
                f"Endpoint {EndpointName} of account {self._client.account} not found.",
                "InvokeEndpoint",
            )
        variant = record["ProductionVariants"][0]["VariantName"]
        if TargetVariant not in (None, variant):
            raise SageMakerError(
                "ValidationError",
                f"TargetVariant {TargetVariant!r}: the endpoint has only {variant!r}",
                "InvokeEndpoint",
            )
        local = record["Local"]
        if record.get("EndpointStatus") == "Failed" or not local.get("Port"):
            status, reason = self._client.live_status(record)
            raise self._not_in_service(EndpointName, f"it is {status}. {reason or ''}".strip())
        headers = {"Content-Type": ContentType or "application/octet-stream"}
        if Accept:
            headers["Accept"] = Accept
        if CustomAttributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = CustomAttributes
        if InferenceId:
            headers["X-Amzn-SageMaker-Inference-Id"] = InferenceId
        try:
            status, resp, payload = self._post(int(local["Port"]), data, headers)
        except OSError as exc:
            state, reason = self._client.live_status(record)
            raise self._not_in_service(
                EndpointName, f"it is {state} ({exc}). {reason or ''}"
            ) from exc
        if resp.getheader("X-Endpoint-Token") != local.get("Token"):
            raise self._not_in_service(EndpointName, "another process answers on its port (Failed)")
        if status == 503:
            raise self._not_in_service(EndpointName, "it is Creating (the model is still loading)")
        if status != 200:
            text = payload.decode("utf-8", errors="replace").strip()
            side = "client" if status < 500 else "server"
            raise SageMakerError(
                "ModelError",
                f'Received {side} error ({status}) from primary with message "{text}". See '
                f"{local.get('Log')} for more information.",
                "InvokeEndpoint",
                status=424,
                OriginalStatusCode=status,
                OriginalMessage=text,
                LogStreamArn=f"file://{local.get('Log')}",
            )
        content_type = resp.getheader("Content-Type", "application/octet-stream")
        meta = _metadata()
        meta["HTTPHeaders"] = {
            "content-type": content_type,
            "content-length": str(len(payload)),
            "x-amzn-invoked-production-variant": variant,
        }
        return {
            "ResponseMetadata": meta,
            "ContentType": content_type,
            "InvokedProductionVariant": variant,
            "Body": StreamingBody(io.BytesIO(payload), len(payload)),
        }

    def close(self) -> None:
        """Close this thread's kept-alive connections."""
        for conn in (getattr(self._local, "pool", None) or {}).values():
            conn.close()
        self._local.pool = {}

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
    root = Path(home) / "endpoints"
    if root.is_dir():
        for path in sorted(root.glob("*.json")):
            record = _read_json(path)
            if record is not None:
                yield record
