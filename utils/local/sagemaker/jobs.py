"""Training and processing jobs on the local backend: records, background workers, containers.

AWS equivalent: SageMaker running a training or processing job on an instance after
CreateTrainingJob / CreateProcessingJob returned. Locally a job is a folder
``<lab home>/sagemaker/<kind>/<job name>/`` holding

- ``job.json``: the request and the service's state (what Describe* answers), written
  atomically under a lock, so any process (another kernel, a restarted one) reads a whole record;
- ``output.log``: the container's output, one CloudWatch log stream (what ``logs()`` shows);
- ``metrics.jsonl``: the metrics the algorithm emitted (what CloudWatch and
  ``TrainingJobAnalytics`` read);
- ``opt/ml/...``: the container's file system, as SageMaker lays it out (``input/data/<channel>``,
  ``model``, ``output``; ``processing/<...>`` for processing jobs).

A job runs in a background process (``python -m utils.local.sagemaker.worker``) started by
:meth:`JobRecords.spawn`, so ``fit(wait=False)`` returns at once and the job survives the
kernel. The image of the request picks the engine (:mod:`utils.local.sagemaker.images`). A job
whose worker has died reads ``Failed`` with the reason, never ``InProgress`` forever.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.local.automl.store import (
    RecordUpdates,
    process_alive,
    read_json,
    write_json_atomic,
)
from utils.local.lake import file_lock
from utils.local.service import ServiceError, now

JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
WORKER_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "OMP_WAIT_POLICY": "PASSIVE"}  # fmt: skip
RUNNING = ("InProgress", "Stopping")
TERMINAL = ("Completed", "Failed", "Stopped")
_WORKERS: dict[tuple[str, str], subprocess.Popen] = {}


@dataclass(frozen=True)
class JobKind:
    """One kind of SageMaker job: its API noun and the record keys that differ by kind."""

    noun: str  # "TrainingJob"
    folder: str  # "training-jobs"
    arn_kind: str  # "training-job"

    @property
    def name_key(self) -> str:
        return f"{self.noun}Name"

    @property
    def status_key(self) -> str:
        return f"{self.noun}Status"

    @property
    def words(self) -> str:  # "training job"
        return re.sub(r"(?<!^)(?=[A-Z])", " ", self.noun).lower()


TRAINING = JobKind("TrainingJob", "training-jobs", "training-job")
PROCESSING = JobKind("ProcessingJob", "processing-jobs", "processing-job")
KINDS = {k.folder: k for k in (TRAINING, PROCESSING)}


def iso(value: dt.datetime | None = None) -> str:
    return (value or now()).isoformat()


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def check_job_name(name: Any, kind: JobKind) -> str:
    """SageMaker's rule for job names: 1-63 letters, digits and hyphens (no '/' or '..')."""
    if not isinstance(name, str) or not JOB_NAME_RE.match(name):
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value {name!r} at '{kind.name_key[0].lower()}"
            f"{kind.name_key[1:]}' failed to satisfy constraint: Member must satisfy regular "
            "expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (letters, digits and "
            "hyphens, at most 63)",
        )
    return name


class JobRecords(RecordUpdates):
    """The job records of one kind in one lab home."""

    stamp = staticmethod(iso)  # AWS's precision (utils.local.service.now)

    def __init__(self, home: Path, kind: JobKind) -> None:
        self.home = Path(home)
        self.kind = kind
        self.root = self.home / "sagemaker" / kind.folder

    # -- paths --------------------------------------------------------------------------------
    def job_dir(self, name: str) -> Path:
        return self.root / name

    def record_path(self, name: str) -> Path:
        return self.job_dir(name) / "job.json"

    def log_path(self, name: str) -> Path:
        return self.job_dir(name) / "output.log"

    def metrics_path(self, name: str) -> Path:
        return self.job_dir(name) / "metrics.jsonl"

    def container_root(self, name: str) -> Path:
        """The job's stand-in for the container's ``/``: it holds ``opt/ml/...``."""
        return self.job_dir(name) / "container"

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob("*/job.json"))

    def exists(self, name: str) -> bool:
        return JOB_NAME_RE.match(str(name)) is not None and self.record_path(name).is_file()

    # -- locking and records ------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        folder = self.job_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        with file_lock(folder / ".lock"):
            yield

    def create(self, name: str, record: dict[str, Any]) -> None:
        """Store a new job; the name is claimed atomically (one of two racing creators wins)."""
        check_job_name(name, self.kind)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.job_dir(name).mkdir()
        except FileExistsError:
            raise ServiceError(
                "ResourceInUse",
                f"{self.kind.words.capitalize()} {name!r} already exists: job names are unique "
                "in an account and region; choose another name",
            ) from None
        with self.lock(name):
            write_json_atomic(self.record_path(name), record)

    def not_found(self, name: str) -> ServiceError:
        return ServiceError("ValidationException", f"Requested resource not found: no "
                            f"{self.kind.words} named {name!r}", 400)  # fmt: skip

    def read_raw(self, name: str) -> dict[str, Any]:
        if not self.exists(name):
            raise self.not_found(name)
        return read_json(self.record_path(name))

    def read(self, name: str) -> dict[str, Any]:
        """The record; a running job whose worker has died is marked Failed (or Stopped)."""
        record = self.read_raw(name)
        if record[self.kind.status_key] in RUNNING:
            worker = record.get("Local", {}).get("Worker") or {}
            if worker.get("Pid") and not process_alive(worker["Pid"], worker.get("CreateTime")):
                record = self._mark_dead(name)
        return record

    def delete(self, name: str) -> None:
        """Remove a finished job's record, log and files (the local cleanup's call)."""
        record = self.read(name)
        if record[self.kind.status_key] in RUNNING:
            raise ServiceError("ValidationException", f"{self.kind.words} {name} is still "
                               f"{record[self.kind.status_key]}; stop it first")  # fmt: skip
        shutil.rmtree(self.job_dir(name), ignore_errors=True)

    def log_tail(self, name: str, lines: int = 4) -> str:
        path = self.log_path(name)
        if not path.is_file():
            return ""
        text = [t.strip() for t in path.read_text(errors="replace").splitlines() if t.strip()]
        return " | ".join(text[-lines:])[-600:]

    def _mark_dead(self, name: str) -> dict[str, Any]:
        status_key = self.kind.status_key

        def dead(record: dict[str, Any]) -> None:
            if record[status_key] not in RUNNING:
                return
            worker = record.get("Local", {}).get("Worker") or {}
            if process_alive(worker.get("Pid"), worker.get("CreateTime")):
                return
            stopping = record[status_key] == "Stopping"
            finish(record, self.kind, "Stopped" if stopping else "Failed",
                   None if stopping else (
                       f"The local worker process (pid {worker.get('Pid')}) exited without "
                       f"finishing the {self.kind.words}. Its log {self.log_path(name)} ends: "
                       f"{self.log_tail(name) or '(empty)'}"))  # fmt: skip

        return self.update(name, dead)

    # -- metrics and logs ---------------------------------------------------------------------
    def metrics(self, name: str) -> list[dict[str, Any]]:
        """Every metric the job emitted: {"MetricName", "Value", "Timestamp"} (ISO)."""
        path = self.metrics_path(name)
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
        return out

    # -- the worker ---------------------------------------------------------------------------
    def spawn(self, name: str) -> None:
        """Start the job's worker in the background (a process of its own session)."""
        import psutil

        from utils.config import project_root

        env = os.environ.copy()
        root = str(project_root())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        for var, value in WORKER_THREAD_ENV.items():
            env.setdefault(var, value)
        env.pop("MPLBACKEND", None)
        log_file = self.log_path(name)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "utils.local.sagemaker.worker", "--home", str(self.home),
                 "--kind", self.kind.folder, "--name", name],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=root, env=env,
            )  # fmt: skip
        _WORKERS[(self.kind.folder, name)] = proc
        try:
            created = psutil.Process(proc.pid).create_time()
        except psutil.NoSuchProcess:
            created = None

        def worker(record: dict[str, Any]) -> None:
            record.setdefault("Local", {}).setdefault(
                "Worker", {"Pid": proc.pid, "CreateTime": created}
            )

        self.update(name, worker)

    def stop(self, name: str) -> None:
        """Mark the job Stopping and ask its worker to stop (SIGTERM), as Stop* does."""
        record = self.read(name)
        status = record[self.kind.status_key]
        if status not in RUNNING:
            raise ServiceError("ValidationException", f"The {self.kind.words} {name} is "
                               f"{status}; only a job in progress can be stopped")  # fmt: skip

        def stopping(rec: dict[str, Any]) -> None:
            if rec[self.kind.status_key] == "InProgress":
                rec[self.kind.status_key] = "Stopping"
                if "SecondaryStatus" in rec:
                    transition(rec, "Stopping", "Stopping the job")

        record = self.update(name, stopping)
        worker = record.get("Local", {}).get("Worker") or {}
        if process_alive(worker.get("Pid"), worker.get("CreateTime")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker["Pid"], signal.SIGTERM)


def reap() -> None:
    """Collect exited workers of this process (no zombies)."""
    for key, proc in list(_WORKERS.items()):
        if proc.poll() is not None:
            del _WORKERS[key]


def transition(record: dict[str, Any], status: str, message: str) -> None:
    """Move a training job to a new SecondaryStatus, closing the previous transition."""
    stamp = iso()
    transitions = record.setdefault("SecondaryStatusTransitions", [])
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = stamp
    transitions.append({"Status": status, "StartTime": stamp, "StatusMessage": message})
    record["SecondaryStatus"] = status


def finish(record: dict[str, Any], kind: JobKind, status: str, reason: str | None) -> None:
    """End a job: its status, the end time, the failure reason (at most 1,024 characters)."""
    stamp = iso()
    record[kind.status_key] = status
    if reason:
        record["FailureReason"] = reason[:1024]
    if kind is TRAINING:
        transition(record, status, reason[:256] if reason else f"Training job {status.lower()}")
        record["SecondaryStatusTransitions"][-1]["EndTime"] = stamp
        record["TrainingEndTime"] = stamp
        start = parse_time(record.get("TrainingStartTime")) or parse_time(record["CreationTime"])
        seconds = max(1, int((parse_time(stamp) - start).total_seconds())) if start else 1
        record["TrainingTimeInSeconds"] = seconds
        record["BillableTimeInSeconds"] = seconds
    else:
        record["ProcessingEndTime"] = stamp
        if reason:
            record["ExitMessage"] = reason[:1024]
    record["LastModifiedTime"] = stamp


def public(record: dict[str, Any], time_keys: tuple[str, ...]) -> dict[str, Any]:
    """A record as the API answers it: no local fields, times as datetimes."""
    out = json.loads(json.dumps({k: v for k, v in record.items() if k != "Local"}))
    for key in time_keys:
        if out.get(key):
            out[key] = parse_time(out[key])
    for item in out.get("SecondaryStatusTransitions", []):
        for key in ("StartTime", "EndTime"):
            if item.get(key):
                item[key] = parse_time(item[key])
    for item in out.get("FinalMetricDataList", []):
        if item.get("Timestamp"):
            item["Timestamp"] = parse_time(item["Timestamp"])
    return out
