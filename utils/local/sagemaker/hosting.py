"""SageMaker hosting on the local backend: models, endpoint configs and endpoints.

AWS equivalent: CreateModel / DescribeModel / ListModels / DeleteModel, the same four for
endpoint configs, and CreateEndpoint / DescribeEndpoint / ListEndpoints / DeleteEndpoint, as
the sagemaker SDK's ``Model.deploy``, ``PipelineModel.deploy``, ``AutoML.deploy`` and
``Predictor.delete_*`` call them. An endpoint is a real HTTP server
(:mod:`utils.local.endpoint_server`) in a background process of its own, bound to 127.0.0.1
on a free port; it keeps running after the kernel that deployed it stops, as an AWS endpoint
runs (and bills) until it is deleted. ``sagemaker-runtime``'s InvokeEndpoint
(:mod:`utils.local.runtime`) talks to it.

What a model serves: each container's image must be one the local backend can serve
(:func:`utils.local.sagemaker.images.find`) and its ``ModelDataUrl`` a ``model.tar.gz`` in the
lake. A pipeline as the local Autopilot's candidates have it (feature transform, model,
inverse label transform) is served by its model container, the one whose image is not
``local/automl-sklearn-feature-transform``; the endpoint answers the inference response keys
that the last container's ``SAGEMAKER_INFERENCE_OUTPUT`` names (what ``AutoML.deploy`` sets
from ``inference_response_keys``), else ``predicted_label``.

State lives under ``<lab home>/endpoints/``, one JSON record per resource, named by the
resource's name in lower case (SageMaker's names are case-insensitive; the ARN holds the lower
case name): ``<name>.json`` per endpoint, ``configs/<name>.json``, ``models/<name>.json``;
``logs/<Name>.log`` is the server's log (CloudWatch's ``/aws/sagemaker/Endpoints/<Name>``),
``secrets/<name>.key`` the endpoint's secret (mode 0600, see
:mod:`utils.local.endpoint_server`), ``serving/<name>/`` the unpacked model. Any kernel can
describe, invoke or delete an endpoint another kernel deployed.

Timing differs from AWS in one way: CreateEndpoint returns once the server is InService, or
has failed (bounded by the variant's ``ContainerStartupHealthCheckTimeoutInSeconds``, 600 s by
default), where AWS returns at once with the endpoint Creating. A local model loads in seconds,
and the SDK's ``wait_for_endpoint`` (which sleeps 30 s before each DescribeEndpoint) then sees
InService, or Failed with its FailureReason, at its first look; botocore's waiters
``endpoint_in_service`` and ``endpoint_deleted`` work unchanged. The status a reader sees is
checked against the server itself: a server that answers a signed ``/ping`` is InService; one
that is gone, or a port now answered by something that cannot sign, is Failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.client
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.utils import parse_to_aware_datetime

from utils.errors import LakePathError
from utils.local.automl.store import write_json_atomic
from utils.local.endpoint_server import (
    DEFAULT_KEYS,
    NONCE_HEADER,
    READ_TIMEOUT,
    READ_TIMEOUT_ENV,
    SIGNATURE_HEADER,
    SUPPORTED_KEYS,
    SecretError,
    read_secret,
    response_signature,
)
from utils.local.lake import LocalLake
from utils.local.monitoring import ENDPOINT_GROUP, endpoint_log_path
from utils.local.sagemaker import images
from utils.local.sagemaker.jobs import JOB_NAME_RE
from utils.local.service import LOCAL_ROLE_ARN, LocalAccount, ServiceError, now

VARIANT = "AllTraffic"
FEATURE_TRANSFORM = "local/automl-sklearn-feature-transform"
STARTUP_TIMEOUT = 600.0  # seconds a server has to pass its health check (AWS: up to 3600)
BOOT_GRACE = 60.0  # seconds a new server has to announce its port
PING_TIMEOUT = 2.0
KINDS = {"model": "models", "endpoint-config": "configs", "endpoint": ""}
WORDS = {"model": "model", "endpoint-config": "endpoint configuration", "endpoint": "endpoint"}
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # servers this process started, to reap them
_CHILDREN_LOCK = threading.Lock()


# -- names, errors, times ------------------------------------------------------------------------
def check_name(name: Any, field: str) -> str:
    """SageMaker's rule for model, endpoint config and endpoint names (``field``: modelName...).

    AWS equivalent: the ValidationException of the name's pattern constraint."""
    if not isinstance(name, str) or not JOB_NAME_RE.match(name):
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value {name!r} at '{field}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (1 to 63 letters, digits and hyphens)",
        )
    return name


def check_instance_count(count: Any) -> None:
    """One server per endpoint locally: InitialInstanceCount 1 (more run on AWS)."""
    if count != 1:
        raise NotImplementedError(
            f"local backend: InitialInstanceCount {count} (initial_instance_count={count}): the "
            "local endpoint is one server process; use 1 locally (several instances run on "
            "BACKEND='aws')"
        )


def unsupported(call: str, **given: Any) -> None:
    """NotImplementedError for a parameter that would change what the call does locally.

    AWS equivalent: none; on AWS the parameter takes effect."""
    name = next((k for k, v in given.items() if v not in (None, False)), None)
    if name is not None:
        raise NotImplementedError(f"local backend: {call}({name}=...) is not implemented locally "
                                  f"(it would change what the call does); leave {name} unset, or "
                                  "run this cell with BACKEND='aws'.")  # fmt: skip


def _invalid(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def _iso(moment: dt.datetime | None = None) -> str:
    return (moment or now()).isoformat()


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


# -- the records ---------------------------------------------------------------------------------
class HostingStore:
    """The hosting records of one lab home: models, endpoint configs and endpoints.

    AWS equivalent: what SageMaker keeps for an account and region (the Describe* answers).
    """

    def __init__(self, account: LocalAccount) -> None:
        self.account = account
        self.home = Path(account.home)
        self.root = self.home / "endpoints"

    def path(self, kind: str, name: str) -> Path:
        return self.root / KINDS[kind] / f"{str(name).lower()}.json"

    def arn(self, kind: str, name: str) -> str:
        return self.account.arn("sagemaker", f"{kind}/{str(name).lower()}")

    def secret_path(self, name: str) -> Path:
        return self.root / "secrets" / f"{name.lower()}.key"

    def serving_dir(self, name: str) -> Path:
        return self.root / "serving" / name.lower()

    def log_path(self, name: str) -> Path:
        return endpoint_log_path(self.home, name)

    def not_found(self, kind: str, name: Any) -> ServiceError:
        return _invalid(f'Could not find {WORDS[kind]} "{self.arn(kind, str(name))}".')

    def exists_error(self, kind: str, name: str) -> ServiceError:
        return _invalid(f'Cannot create already existing {WORDS[kind]} "{self.arn(kind, name)}".')

    def read(self, kind: str, name: Any) -> dict[str, Any] | None:
        """The record of ``name`` (any case), or None."""
        if not isinstance(name, str) or not JOB_NAME_RE.match(name):
            return None
        try:
            return json.loads(self.path(kind, name).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def get(self, kind: str, name: Any) -> dict[str, Any]:
        record = self.read(kind, name)
        if record is None:
            raise self.not_found(kind, name)
        return record

    def create(self, kind: str, name: str, record: dict[str, Any]) -> None:
        """Store a new record; of two creators racing for one name, exactly one wins."""
        path = self.path(kind, name)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
        write_json_atomic(tmp, record)
        try:
            os.link(tmp, path)  # atomic, and fails if the name is taken
        except FileExistsError:
            raise self.exists_error(kind, name) from None
        finally:
            tmp.unlink(missing_ok=True)

    def write(self, kind: str, name: str, record: dict[str, Any]) -> None:
        write_json_atomic(self.path(kind, name), record)

    def remove(self, kind: str, name: str) -> bool:
        try:
            self.path(kind, name).unlink()
            return True
        except FileNotFoundError:
            return False

    def records(self, kind: str) -> list[dict[str, Any]]:
        folder = self.root / KINDS[kind]
        out = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                out.append(json.loads(path.read_text(encoding="utf-8")))
        return out

    def create_secret(self, name: str) -> Path:
        """A fresh secret for the endpoint, readable by the lab home's owner only (0600)."""
        folder = self.root / "secrets"
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        path = self.secret_path(name)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        return path


def model_source(store: HostingStore, record: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """What the endpoint's server loads and answers, from the model's record (AWS: the
    containers an endpoint starts, with their model data and environment).

    The model container's image and model data, unpacked into the endpoint's folder; the keys
    of the last container's ``SAGEMAKER_INFERENCE_OUTPUT``; the model server's timeout from the
    model container's ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (60 s by default, as SageMaker's
    inference containers).
    """
    containers = record.get("Containers") or [record["PrimaryContainer"]]
    model = serving_container(containers)
    output = (containers[-1].get("Environment") or {}).get("SAGEMAKER_INFERENCE_OUTPUT")
    keys = [k.strip() for k in (output or "").split(",") if k.strip()] or list(DEFAULT_KEYS)
    source = {"image": model["Image"], "model_data": model["ModelDataUrl"],
              "home": str(store.home), "folder": str(store.serving_dir(endpoint) / "model")}  # fmt: skip
    env = model.get("Environment") or {}
    return {"ModelSource": source, "InferenceResponseKeys": keys,
            "ModelServerTimeout": float(env.get(READ_TIMEOUT_ENV) or READ_TIMEOUT)}  # fmt: skip


def serving_container(containers: list[dict[str, Any]]) -> dict[str, Any]:
    """The container whose model the endpoint serves: the one that is not a feature transform.

    AWS equivalent: none; AWS runs every container of the pipeline in turn."""
    models = [c for c in containers if images.repository(c.get("Image", "")) != FEATURE_TRANSFORM]
    if not models:
        raise _invalid(
            f"CreateModel: the containers ({', '.join(c.get('Image', '?') for c in containers)}) "
            "are all feature transforms; the local backend serves a pipeline through its model "
            "container (e.g. local/automl-<algorithm>:latest)"
        )
    if len(models) > 1:
        raise NotImplementedError(
            "local backend: CreateModel(Containers=...) with several model containers "
            f"({', '.join(c['Image'] for c in models)}) is not implemented locally; a local "
            "pipeline is one model container with the Autopilot feature transforms around it. "
            "Run this cell with BACKEND='aws'."
        )
    return models[0]


# -- the server process --------------------------------------------------------------------------
def _reap() -> None:
    with _CHILDREN_LOCK:
        for pid, proc in list(_CHILDREN.items()):
            if proc.poll() is not None:
                del _CHILDREN[pid]


def process_alive(pid: int | None, token: str | None) -> bool:
    """Is ``pid`` still the endpoint's server? Its command line holds the instance id ``token``
    (an id, not a secret). False for a dead, zombie or foreign process. AWS equivalent: the
    health of the endpoint's instance."""
    if not pid:
        return False
    import psutil

    _reap()
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return bool(token) and token in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def endpoint_secret(local: dict[str, Any]) -> bytes | None:
    """The endpoint's secret from its record's secret file, or None if it cannot be used.

    AWS equivalent: the SigV4 credentials that authenticate an InvokeEndpoint request."""
    try:
        return read_secret(local["SecretFile"])
    except (SecretError, KeyError, TypeError):
        return None


def ping(port: int | None, secret: bytes | None, timeout: float = PING_TIMEOUT) -> str | None:
    """``'ready'`` (200) or ``'loading'`` (503) from this endpoint's server, proven by its
    signature over a fresh nonce; None when nothing answers, or something that cannot sign.
    AWS equivalent: SageMaker's health check of the container (``GET /ping``)."""
    if not port or not secret:
        return None
    nonce = secrets.token_hex(16)
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=timeout)
    try:
        conn.request("GET", "/ping", headers={NONCE_HEADER: nonce})
        resp = conn.getresponse()
        body = resp.read()
        mac = response_signature(secret, nonce, resp.status, resp.getheader("Content-Type", ""),
                                 body)  # fmt: skip
        if not secrets.compare_digest(mac, resp.getheader(SIGNATURE_HEADER) or ""):
            return None  # something else answers on that port
        return {200: "ready", 503: "loading"}.get(resp.status)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def log_tail(path: Path, offset: int = 0, lines: int = 6) -> str:
    """The end of this server's part of the log: the load failure if there is one.

    AWS equivalent: the endpoint's CloudWatch log stream, quoted in a FailureReason."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    rows = [r for r in text.splitlines() if r.strip()]
    failed = [r for r in rows if "MODEL LOAD FAILED" in r]
    if failed:
        return failed[-1].split("[endpoint] ", 1)[-1]
    return " | ".join(r.split("[endpoint] ", 1)[-1] for r in rows[-lines:]) or "(empty log)"


def _exit_words(pid: int | None) -> str:
    """How our child server ended (exit code or signal), when this process started it."""
    with _CHILDREN_LOCK:
        proc = _CHILDREN.get(int(pid or 0))
    code = proc.poll() if proc is not None else None
    if code is None:
        return ""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f" (killed by signal {-code}, {signal.Signals(-code).name})"
    return f" (exit code {code})"


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


def spawn_server(record: dict[str, Any], record_path: Path) -> subprocess.Popen[bytes]:
    """Start the endpoint's server; fills ``Local.Pid`` and ``Local.Port`` (None if it did not
    announce one). Its command line holds the record's path and instance id, no secret.
    AWS equivalent: SageMaker starting the endpoint's instance and container."""
    from utils.config import project_root

    local = record["Local"]
    log_file = Path(local["Log"])
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = str(project_root())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("MPLBACKEND", None)
    with open(log_file, "ab") as err:
        local["LogOffset"] = err.tell()
        proc = subprocess.Popen(
            [sys.executable, "-m", "utils.local.endpoint_server", "--record", str(record_path),
             "--instance", local["Token"]],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, cwd=root, env=env,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    with _CHILDREN_LOCK:
        _CHILDREN[proc.pid] = proc
    port = _read_port(proc, BOOT_GRACE)
    if proc.stdout is not None:
        proc.stdout.close()
    local["Pid"], local["Port"] = proc.pid, port
    return proc


def stop_server(local: dict[str, Any], grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL after ``grace`` seconds.

    Only a process proven to be this endpoint's server is signalled: its command line holds
    the endpoint's instance id. AWS equivalent: the instance going away with DeleteEndpoint.
    """
    pid, token = local.get("Pid"), local.get("Token")
    if not process_alive(pid, token):
        return
    kill: Callable[[int, int], None] = os.killpg if hasattr(os, "killpg") else os.kill
    with contextlib.suppress(ProcessLookupError, PermissionError):
        kill(int(pid), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with _CHILDREN_LOCK:
            proc = _CHILDREN.get(int(pid))
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.1)
        if not process_alive(pid, token):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        kill(int(pid), getattr(signal, "SIGKILL", signal.SIGTERM))
    with _CHILDREN_LOCK:
        proc = _CHILDREN.get(int(pid))
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def await_server(proc: subprocess.Popen[bytes], local: dict[str, Any],
                 timeout: float) -> tuple[str, str | None]:  # fmt: skip
    """Wait until the new server is ready (InService) or has failed; (status, reason).

    AWS equivalent: the endpoint moving from Creating to InService or Failed."""
    log_file, offset = Path(local["Log"]), int(local.get("LogOffset") or 0)
    if local.get("Port") is None:
        stop_server(local, grace=2.0)
        return "Failed", (f"The endpoint's server did not start{_exit_words(proc.pid)}. Its "
                          f"log {log_file} ends: {log_tail(log_file, offset)}")  # fmt: skip
    secret = endpoint_secret(local)
    deadline, poll = time.monotonic() + timeout, 0.05
    while True:
        if ping(local["Port"], secret) == "ready":
            return "InService", None
        if proc.poll() is not None:
            return "Failed", (f"The endpoint's server exited while loading the model"
                              f"{_exit_words(proc.pid)}: {log_tail(log_file, offset)}. Its log: "
                              f"{log_file}")  # fmt: skip
        if time.monotonic() > deadline:
            stop_server(local, grace=2.0)
            return "Failed", (f"The endpoint's server did not pass its health check (/ping) within "
                              f"{timeout:.0f} s (ContainerStartupHealthCheckTimeoutInSeconds); "
                              f"its log {log_file} ends: {log_tail(log_file, offset)}")  # fmt: skip
        time.sleep(poll)
        poll = min(poll * 1.5, 0.5)


def live_status(record: dict[str, Any]) -> tuple[str, str | None]:
    """The endpoint's status as its server shows it now, and a failure reason.

    AWS equivalent: DescribeEndpoint's EndpointStatus and FailureReason."""
    status = record.get("EndpointStatus", "Failed")
    if status in ("Failed", "Deleting"):
        return status, record.get("FailureReason") if status == "Failed" else None
    local = record.get("Local") or {}
    pid, port, token = local.get("Pid"), local.get("Port"), local.get("Token")
    answer = ping(port, endpoint_secret(local))
    if answer in ("ready", "loading"):
        return ("InService" if answer == "ready" else "Creating"), None
    alive = process_alive(pid, token)
    log_file, offset = Path(local.get("Log", "")), int(local.get("LogOffset") or 0)
    if status == "Creating":
        created = _time(record["CreationTime"]) or now()
        if alive or (pid is None and (now() - created).total_seconds() < BOOT_GRACE):
            return "Creating", None
        if pid is None:
            return "Failed", "The endpoint's creation was interrupted before its server started."
    if alive:
        return "Failed", (
            f"The endpoint's server (pid {pid}) runs but does not answer a signed /ping on "
            f"127.0.0.1:{port}; its log {log_file} ends: {log_tail(log_file, offset)}"
        )
    return "Failed", (
        f"The endpoint's server (pid {pid}) is not running{_exit_words(pid)}; delete the "
        f"endpoint and create it again. Its log {log_file} ends: {log_tail(log_file, offset)}"
    )


def check_container(home: Path, container: dict[str, Any], where: str) -> None:
    """A container CreateModel accepts locally: a servable image and model data in the lake.

    AWS equivalent: CreateModel's checks of each ContainerDefinition."""
    unsupported(f"CreateModel({where})", **{k: container.get(k) for k in (
        "ModelDataSource", "AdditionalModelDataSources", "ModelPackageName",
        "InferenceSpecificationName")})  # fmt: skip
    if container.get("Mode", "SingleModel") != "SingleModel":
        unsupported(f"CreateModel({where})", Mode=container["Mode"])
    image = container.get("Image")
    if not image:
        raise _invalid(f"CreateModel: {where} has no Image; the local backend serves images "
                       "it knows (see sagemaker.image_uris.retrieve)")  # fmt: skip
    images.find(image, "serve", "CreateModel")
    url = container.get("ModelDataUrl")
    if not url:
        raise _invalid(f"CreateModel: {where} ({image}) has no ModelDataUrl; the local backend "
                       "serves a model.tar.gz from the lake (s3://...)")  # fmt: skip
    try:
        found = LocalLake(home).path_for(url).is_file()
    except LakePathError as exc:
        raise _invalid(f"CreateModel: {where}.ModelDataUrl {url!r}: {exc}") from None
    if not found:
        raise _invalid(f"Could not find model data at {url}.")
    timeout = (container.get("Environment") or {}).get(READ_TIMEOUT_ENV)
    if timeout is not None and not (str(timeout).isdigit() and int(timeout) >= 1):
        raise _invalid(f"CreateModel: {where}.Environment.{READ_TIMEOUT_ENV} is {timeout!r}; "
                       "the model server's timeout is a whole number of seconds, at least 1")  # fmt: skip
    output = (container.get("Environment") or {}).get("SAGEMAKER_INFERENCE_OUTPUT") or ""
    bad = [k for k in output.split(",") if k.strip() and k.strip() not in SUPPORTED_KEYS]
    if bad:
        raise _invalid(f"CreateModel: {where}.Environment.SAGEMAKER_INFERENCE_OUTPUT names "
                       f"{bad}; the supported inference keys are {list(SUPPORTED_KEYS)}")  # fmt: skip


# -- listing ------------------------------------------------------------------------------------
def _aware(value: Any) -> dt.datetime | None:
    return None if value is None else parse_to_aware_datetime(value)


def page(rows: list[dict[str, Any]], key: str, sort_keys: dict[str, str], sort_by: str | None,
         sort_order: str | None, max_results: int | None,
         next_token: str | None) -> dict[str, Any]:  # fmt: skip
    """One page of a List* answer, sorted as AWS sorts (CreationTime, Descending by default).

    AWS equivalent: SortBy, SortOrder, MaxResults (10 by default) and NextToken."""
    sort_by, sort_order = sort_by or "CreationTime", sort_order or "Descending"
    if sort_by not in sort_keys:
        raise _invalid(f"1 validation error detected: Value {sort_by!r} at 'sortBy' failed to "
                       f"satisfy constraint: Member must satisfy enum value set: "
                       f"[{', '.join(sort_keys)}]")  # fmt: skip
    if sort_order not in ("Ascending", "Descending"):
        raise _invalid(f"1 validation error detected: Value {sort_order!r} at 'sortOrder' failed "
                       "to satisfy constraint: Member must satisfy enum value set: "
                       "[Ascending, Descending]")  # fmt: skip
    if next_token is not None and not str(next_token).isdigit():
        raise _invalid(f"Invalid pagination token {next_token!r}: pass the NextToken of the "
                       "previous page")  # fmt: skip
    size = 10 if max_results is None else int(max_results)
    rows.sort(key=lambda r: r[sort_keys[sort_by]], reverse=sort_order == "Descending")
    start = int(next_token or 0)
    out: dict[str, Any] = {key: rows[start : start + size]}
    if start + size < len(rows):
        out["NextToken"] = str(start + size)
    return out


@functools.cache
def _instance_types() -> frozenset[str]:
    """The instance types AWS hosts on (ProductionVariantInstanceType in botocore's model)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("ProductionVariantInstanceType").enum)


def _within(moment: dt.datetime, before: Any, after: Any) -> bool:
    before, after = _aware(before), _aware(after)
    return (before is None or moment < before) and (after is None or moment > after)


def _contains(name: str, part: str | None) -> bool:
    return not part or part.lower() in name.lower()


def _summaries(records: Any, fields: tuple[str, str], name_contains: str | None, before: Any,
               after: Any) -> list[dict[str, Any]]:  # fmt: skip
    """List* rows: the name and ARN fields and CreationTime of the records that pass the filters."""
    rows = []
    for rec in records:
        created = _time(rec["CreationTime"])
        if _contains(rec[fields[0]], name_contains) and _within(created, before, after):
            rows.append({fields[0]: rec[fields[0]], fields[1]: rec[fields[1]],
                         "CreationTime": created})  # fmt: skip
    return rows


def _list_call(kind: str, key: str, fields: tuple[str, str], doc: str) -> Callable[..., Any]:
    """ListModels and ListEndpointConfigs: the same parameters, over one kind of record."""

    def call(self: HostingAPI, SortBy: str | None = None, SortOrder: str | None = None,
             NextToken: str | None = None, MaxResults: int | None = None,
             NameContains: str | None = None, CreationTimeBefore: Any = None,
             CreationTimeAfter: Any = None) -> dict[str, Any]:  # fmt: skip
        rows = _summaries(self._hosting.records(kind), fields, NameContains, CreationTimeBefore,
                          CreationTimeAfter)  # fmt: skip
        keys = {"Name": fields[0], "CreationTime": "CreationTime"}
        return page(rows, key, keys, SortBy, SortOrder, MaxResults, NextToken)

    call.__doc__ = doc
    return call


def _public(record: dict[str, Any], *times: str) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in ("Local", "Tags")}
    for key in times:
        if out.get(key):
            out[key] = _time(out[key])
    return out


# -- the API ------------------------------------------------------------------------------------
class HostingAPI:
    """The hosting calls of the local SageMaker client (a mixin of ``SageMakerService``)."""

    account: LocalAccount

    @property
    def _hosting(self) -> HostingStore:
        return HostingStore(self.account)

    # -- models --------------------------------------------------------------------------------
    def create_model(self, ModelName: str, PrimaryContainer: dict[str, Any] | None = None,
                     Containers: list[dict[str, Any]] | None = None,
                     InferenceExecutionConfig: dict[str, str] | None = None,
                     ExecutionRoleArn: str | None = None, Tags: list[dict[str, str]] | None = None,
                     VpcConfig: dict[str, Any] | None = None,
                     EnableNetworkIsolation: bool | None = None) -> dict[str, Any]:  # fmt: skip
        """CreateModel: a model whose containers the local backend can serve, with its model
        data in the lake; an existing name is AWS's "Cannot create already existing model"."""
        store = self._hosting
        check_name(ModelName, "modelName")
        if store.read("model", ModelName) is not None:
            raise store.exists_error("model", ModelName)
        if (PrimaryContainer is None) == (not Containers):
            raise _invalid("CreateModel: give either PrimaryContainer or Containers (one of them)")
        if (InferenceExecutionConfig or {}).get("Mode", "Serial") != "Serial":
            unsupported("CreateModel", InferenceExecutionConfig=InferenceExecutionConfig)
        containers = [PrimaryContainer] if PrimaryContainer is not None else list(Containers or [])
        for i, container in enumerate(containers):
            where = "PrimaryContainer" if PrimaryContainer is not None else f"Containers.{i + 1}"
            check_container(self.home, container, where)
        serving_container(containers)
        record: dict[str, Any] = {
            "ModelName": ModelName,
            "ModelArn": store.arn("model", ModelName),
            "ExecutionRoleArn": ExecutionRoleArn or LOCAL_ROLE_ARN,
            "CreationTime": _iso(),
            "EnableNetworkIsolation": bool(EnableNetworkIsolation),
            "Tags": list(Tags or []),
        }
        if PrimaryContainer is not None:
            record["PrimaryContainer"] = dict(PrimaryContainer)
        else:
            record["Containers"] = [dict(c) for c in containers]
        if InferenceExecutionConfig:
            record["InferenceExecutionConfig"] = dict(InferenceExecutionConfig)
        if VpcConfig:
            record["VpcConfig"] = dict(VpcConfig)
        store.create("model", ModelName, record)
        return {"ModelArn": record["ModelArn"]}

    def describe_model(self, ModelName: str) -> dict[str, Any]:
        """DescribeModel: the model as created (containers, role, network settings)."""
        return _public(self._hosting.get("model", ModelName), "CreationTime")

    list_models = _list_call("model", "Models", ("ModelName", "ModelArn"), """ListModels:
        ModelName, ModelArn, CreationTime; newest first by default, NameContains in any case.""")  # fmt: skip

    def delete_model(self, ModelName: str) -> dict[str, Any]:
        """DeleteModel: the record goes; an endpoint serving it keeps serving (as on AWS)."""
        store = self._hosting
        if not store.read("model", ModelName) or not store.remove("model", ModelName):
            raise store.not_found("model", ModelName)
        return {}

    def _tags_model(self, name: str) -> list[dict[str, str]]:
        return list(self._hosting.get("model", name).get("Tags") or [])

    # -- endpoint configs ----------------------------------------------------------------------
    def create_endpoint_config(self, EndpointConfigName: str,
                               ProductionVariants: list[dict[str, Any]],
                               DataCaptureConfig: dict[str, Any] | None = None,
                               Tags: list[dict[str, str]] | None = None,
                               KmsKeyId: str | None = None,
                               AsyncInferenceConfig: dict[str, Any] | None = None,
                               ExplainerConfig: dict[str, Any] | None = None,
                               ShadowProductionVariants: list[dict[str, Any]] | None = None,
                               ExecutionRoleArn: str | None = None,
                               VpcConfig: dict[str, Any] | None = None,
                               EnableNetworkIsolation: bool | None = None,
                               MetricsConfig: dict[str, Any] | None = None,
                               CrossRegionTrafficConfig: dict[str, Any] | None = None,
                               ) -> dict[str, Any]:  # fmt: skip
        """CreateEndpointConfig with one production variant of one instance (locally one server
        process); settings that change nothing locally are recorded and answered back."""
        store = self._hosting
        check_name(EndpointConfigName, "endpointConfigName")
        unsupported("CreateEndpointConfig", DataCaptureConfig=DataCaptureConfig,
                    AsyncInferenceConfig=AsyncInferenceConfig, ExplainerConfig=ExplainerConfig,
                    ShadowProductionVariants=ShadowProductionVariants)  # fmt: skip
        if store.read("endpoint-config", EndpointConfigName) is not None:
            raise store.exists_error("endpoint-config", EndpointConfigName)
        if len(ProductionVariants) != 1:
            raise NotImplementedError(
                "local backend: an endpoint config has one production variant locally (got "
                f"{len(ProductionVariants)}); several variants run on BACKEND='aws'"
            )
        variant = dict(ProductionVariants[0])
        unsupported("CreateEndpointConfig(ProductionVariants)",
                    ServerlessConfig=variant.get("ServerlessConfig"),
                    AcceleratorType=variant.get("AcceleratorType"))  # fmt: skip
        check_instance_count(variant.get("InitialInstanceCount"))
        instance = variant.get("InstanceType")
        if instance not in _instance_types():
            raise _invalid(f"1 validation error detected: Value {instance!r} at "
                           "'productionVariants.1.member.instanceType' failed to satisfy "
                           "constraint: Member must be a SageMaker instance type such as "
                           "'ml.m5.large' (locally it is recorded, not emulated)")  # fmt: skip
        model = store.read("model", variant.get("ModelName"))
        if model is None:
            raise store.not_found("model", variant.get("ModelName"))
        variant.setdefault("InitialVariantWeight", 1.0)
        record: dict[str, Any] = {
            "EndpointConfigName": EndpointConfigName,
            "EndpointConfigArn": store.arn("endpoint-config", EndpointConfigName),
            "ProductionVariants": [variant],
            "CreationTime": _iso(),
            "Tags": list(Tags or []),
        }
        for key, value in (("KmsKeyId", KmsKeyId), ("ExecutionRoleArn", ExecutionRoleArn),
                           ("VpcConfig", VpcConfig), ("EnableNetworkIsolation",
                           EnableNetworkIsolation), ("MetricsConfig", MetricsConfig),
                           ("CrossRegionTrafficConfig", CrossRegionTrafficConfig)):  # fmt: skip
            if value is not None:
                record[key] = value
        store.create("endpoint-config", EndpointConfigName, record)
        return {"EndpointConfigArn": record["EndpointConfigArn"]}

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:
        """DescribeEndpointConfig: name, ARN, ProductionVariants, CreationTime, settings."""
        return _public(self._hosting.get("endpoint-config", EndpointConfigName), "CreationTime")

    list_endpoint_configs = _list_call(
        "endpoint-config", "EndpointConfigs", ("EndpointConfigName", "EndpointConfigArn"),
        """ListEndpointConfigs: EndpointConfigName, EndpointConfigArn, CreationTime.""")  # fmt: skip

    def delete_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:
        """DeleteEndpointConfig: the record goes; a running endpoint keeps serving."""
        store = self._hosting
        if not store.read("endpoint-config", EndpointConfigName) or not store.remove(
                "endpoint-config", EndpointConfigName):  # fmt: skip
            raise store.not_found("endpoint-config", EndpointConfigName)
        return {}

    def _tags_endpoint_config(self, name: str) -> list[dict[str, str]]:
        return list(self._hosting.get("endpoint-config", name).get("Tags") or [])

    # -- endpoints -----------------------------------------------------------------------------
    def create_endpoint(self, EndpointName: str, EndpointConfigName: str,
                        DeploymentConfig: dict[str, Any] | None = None,
                        Tags: list[dict[str, str]] | None = None) -> dict[str, Any]:  # fmt: skip
        """CreateEndpoint: start the endpoint's server and return once it is InService or has
        failed (a failed server leaves the endpoint Failed with its FailureReason, as on AWS).

        AWS returns at once, with the endpoint Creating; locally the model loads in seconds, so
        this waits for it, at most the variant's ContainerStartupHealthCheckTimeoutInSeconds
        (600 s by default). The SDK's wait_for_endpoint then sees the outcome at its first look.
        """
        store = self._hosting
        check_name(EndpointName, "endpointName")
        if store.read("endpoint", EndpointName) is not None:
            raise store.exists_error("endpoint", EndpointName)
        config = store.get("endpoint-config", EndpointConfigName)
        variant = config["ProductionVariants"][0]
        model = store.get("model", variant["ModelName"])
        served = model_source(store, model, EndpointName)
        containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
        stamp = _iso()
        record: dict[str, Any] = {
            "EndpointName": EndpointName,
            "EndpointArn": store.arn("endpoint", EndpointName),
            "EndpointConfigName": config["EndpointConfigName"],
            "EndpointStatus": "Creating",
            "CreationTime": stamp,
            "LastModifiedTime": stamp,
            "ProductionVariants": [{
                "VariantName": variant.get("VariantName", VARIANT),
                "DeployedImages": [{"SpecifiedImage": c["Image"], "ResolutionTime": stamp}
                                   for c in containers if c.get("Image")],
                "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "CurrentInstanceCount": 1,
                "DesiredInstanceCount": 1,
            }],
            "Tags": list(Tags or []),
            "Local": {
                "Pid": None, "Port": None, "Token": uuid.uuid4().hex,
                "SecretFile": str(store.secret_path(EndpointName)),
                "Log": str(store.log_path(EndpointName)), "ModelName": model["ModelName"],
                "Python": sys.executable, **served,
            },
        }  # fmt: skip
        if DeploymentConfig:
            record["LastDeploymentConfig"] = DeploymentConfig
        store.create("endpoint", EndpointName, record)
        path = store.path("endpoint", EndpointName)
        try:
            store.create_secret(EndpointName)
            proc = spawn_server(record, path)
        except BaseException:
            store.remove("endpoint", EndpointName)
            store.secret_path(EndpointName).unlink(missing_ok=True)
            raise
        store.write("endpoint", EndpointName, record)  # the server's pid and port
        timeout = float(variant.get("ContainerStartupHealthCheckTimeoutInSeconds")
                        or STARTUP_TIMEOUT)  # fmt: skip
        status, reason = await_server(proc, record["Local"], timeout)
        record["EndpointStatus"], record["LastModifiedTime"] = status, _iso()
        if reason:
            record["FailureReason"] = reason[:1024]
        if store.read("endpoint", EndpointName) is not None:  # not deleted in the meantime
            store.write("endpoint", EndpointName, record)
        return {"EndpointArn": record["EndpointArn"]}

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        """DescribeEndpoint; EndpointStatus (Creating, InService, Failed, Deleting) is checked
        against the server: one that is gone reads Failed, with the reason."""
        record = self._hosting.get("endpoint", EndpointName)
        status, reason = live_status(record)
        out = _public(record, "CreationTime", "LastModifiedTime")
        out.pop("FailureReason", None)
        out["EndpointStatus"] = status
        if reason:
            out["FailureReason"] = reason[:1024]
        for variant in out.get("ProductionVariants", []):
            for image in variant.get("DeployedImages", []):
                image["ResolutionTime"] = _time(image.get("ResolutionTime"))
        return out

    def list_endpoints(self, SortBy: str | None = None, SortOrder: str | None = None,
                       NextToken: str | None = None, MaxResults: int | None = None,
                       NameContains: str | None = None, CreationTimeBefore: Any = None,
                       CreationTimeAfter: Any = None, LastModifiedTimeBefore: Any = None,
                       LastModifiedTimeAfter: Any = None,
                       StatusEquals: str | None = None) -> dict[str, Any]:  # fmt: skip
        """ListEndpoints: name, ARN, times and status (checked live), newest first by default."""
        records = {r["EndpointName"]: r for r in self._hosting.records("endpoint")}
        rows = []
        for row in _summaries(records.values(), ("EndpointName", "EndpointArn"), NameContains,
                              CreationTimeBefore, CreationTimeAfter):  # fmt: skip
            row["LastModifiedTime"] = _time(records[row["EndpointName"]]["LastModifiedTime"])
            row["EndpointStatus"], _ = live_status(records[row["EndpointName"]])
            if _within(row["LastModifiedTime"], LastModifiedTimeBefore, LastModifiedTimeAfter) and (
                    not StatusEquals or row["EndpointStatus"] == StatusEquals):  # fmt: skip
                rows.append(row)
        keys = {"Name": "EndpointName", "CreationTime": "CreationTime", "Status": "EndpointStatus"}
        return page(rows, "Endpoints", keys, SortBy, SortOrder, MaxResults, NextToken)

    def delete_endpoint(self, EndpointName: str) -> dict[str, Any]:
        """DeleteEndpoint: stop the server (SIGTERM, then SIGKILL), remove its record, secret,
        unpacked model and log. Its config and model stay (as on AWS)."""
        store = self._hosting
        record = store.get("endpoint", EndpointName)
        name = record["EndpointName"]
        record["EndpointStatus"], record["LastModifiedTime"] = "Deleting", _iso()
        with contextlib.suppress(OSError):
            store.write("endpoint", name, record)
        stop_server(record.get("Local") or {})
        store.remove("endpoint", name)
        store.secret_path(name).unlink(missing_ok=True)
        shutil.rmtree(store.serving_dir(name), ignore_errors=True)
        Path(record.get("Local", {}).get("Log") or store.log_path(name)).unlink(missing_ok=True)
        return {}

    def _tags_endpoint(self, name: str) -> list[dict[str, str]]:
        return list(self._hosting.get("endpoint", name).get("Tags") or [])


def log_group(name: str) -> str:
    """The CloudWatch log group of an endpoint (what the local logs client reads).

    AWS equivalent: ``/aws/sagemaker/Endpoints/<name>``."""
    return f"{ENDPOINT_GROUP}{name}"


__all__ = ["HostingAPI", "HostingStore", "live_status", "ping", "process_alive"]
