"""The job store: each local AutoML job is a folder under ``<lab home>/automl/<job name>/``.

AWS equivalent: the SageMaker control plane's record of an AutoML job (what DescribeAutoMLJobV2
and ListCandidatesForAutoMLJob read). Files:

- ``job.json``: the job record (request, resolved attributes, status, worker pid), written
  atomically under a file lock, so any process (another kernel, a restarted one) reads a
  whole record and concurrent updates (the worker's progress, a client's stop) never clash;
- ``candidates/<candidate>.json``: one record per candidate;
- ``events.jsonl``: what happened, one JSON line per event (the job's "logs");
- ``worker.log``: the background worker's own output (read back when it dies);
- ``work/``: scratch space (cached features, the AutoGluon predictor).

A job that claims to be running but whose worker process is gone is reported ``Failed`` with
the reason, never ``InProgress`` forever (see :meth:`JobStore.read`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from utils.errors import LabError

# locks this process holds: (job folder, pid) -> depth. flock conflicts between two open()s of
# the same file even in one process, so nested use must not open the file again. The pid in
# the key keeps a forked child from inheriting its parent's bookkeeping.
_HELD: dict[tuple[str, int], int] = {}


class ResourceNotFound(LabError, LookupError):
    """No job (or candidate) with that name. AWS: the ``ResourceNotFound`` client error."""


class ResourceInUse(LabError, ValueError):
    """A job with that name exists already. AWS: the ``ResourceInUse`` client error."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime | None = None) -> str:
    return (value or now()).isoformat()


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a job record")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def process_alive(pid: int | None, create_time: float | None = None) -> bool:
    """True if ``pid`` runs (not a zombie) and, when given, was started at ``create_time``."""
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if create_time is not None and abs(proc.create_time() - create_time) > 1.0:
            return False  # the pid was reused by another process
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class JobStore:
    """The folder of AutoML job records of one lab home."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "automl"

    # -- paths --------------------------------------------------------------------------------
    def job_dir(self, name: str) -> Path:
        return self.root / name

    def record_path(self, name: str) -> Path:
        return self.job_dir(name) / "job.json"

    def candidates_dir(self, name: str) -> Path:
        return self.job_dir(name) / "candidates"

    def work_dir(self, name: str) -> Path:
        path = self.job_dir(name) / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log_path(self, name: str) -> Path:
        return self.job_dir(name) / "worker.log"

    def exists(self, name: str) -> bool:
        return self.record_path(name).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob("*/job.json"))

    # -- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock on one job's record, across processes; re-entrant in a process."""
        folder = self.job_dir(name)
        key = (str(folder), os.getpid())
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            _HELD[key] = 1
            try:
                yield
            finally:
                _HELD.pop(key, None)
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # -- the job record -----------------------------------------------------------------------
    def create(self, name: str, record: dict[str, Any]) -> None:
        """Store a new job's record; a second job with the same name is refused."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.job_dir(name).mkdir()  # atomic: of two creators racing, exactly one wins
        except FileExistsError:
            raise ResourceInUse(
                f"An AutoML job named {name!r} exists already (ResourceInUse): job names "
                "are unique, as on SageMaker. Use AutoML.attach(auto_ml_job_name=...) to "
                "follow it, or choose a new job_name."
            ) from None
        with self.lock(name):
            write_json_atomic(self.record_path(name), record)

    def read_raw(self, name: str) -> dict[str, Any]:
        path = self.record_path(name)
        if not path.is_file():
            known = self.names()
            hint = f" Jobs in this lab home: {', '.join(known[-5:])}." if known else ""
            raise ResourceNotFound(
                f"No AutoML job named {name!r} in {self.root} (ResourceNotFound).{hint}"
            )
        return read_json(path)

    def read(self, name: str) -> dict[str, Any]:
        """The job's record; a running job whose worker has died is marked Failed first."""
        record = self.read_raw(name)
        if record["AutoMLJobStatus"] in ("InProgress", "Stopping"):
            worker = record.get("worker") or {}
            if worker.get("pid") and not process_alive(worker["pid"], worker.get("create_time")):
                record = self._mark_dead(name)
        return record

    def _mark_dead(self, name: str) -> dict[str, Any]:
        def dead(record: dict[str, Any]) -> None:
            if record["AutoMLJobStatus"] not in ("InProgress", "Stopping"):
                return  # it finished between our read and the lock
            worker = record.get("worker") or {}
            if process_alive(worker.get("pid"), worker.get("create_time")):
                return
            stopping = record["AutoMLJobStatus"] == "Stopping"
            tail = self.log_tail(name)
            reason = (
                f"The local AutoML worker process (pid {worker.get('pid')}) exited without "
                f"finishing the job during {record.get('AutoMLJobSecondaryStatus')}"
                + (f"; its last output: {tail}" if tail else "")
                + f" (log: {self.log_path(name)})"
            )
            record["AutoMLJobStatus"] = "Stopped" if stopping else "Failed"
            record["AutoMLJobSecondaryStatus"] = "Stopped" if stopping else "Failed"
            if not stopping:
                record["FailureReason"] = reason[:1024]
            record["EndTime"] = record["LastModifiedTime"] = iso()
            for cand in self.candidates(name):
                if cand["CandidateStatus"] in ("InProgress", "Stopping"):
                    self.update_candidate(
                        name, cand["CandidateName"], CandidateStatus="Stopped" if stopping
                        else "Failed", FailureReason=None if stopping else "the worker died",
                    )  # fmt: skip

        return self.update(name, dead)

    def log_tail(self, name: str, lines: int = 3) -> str:
        path = self.log_path(name)
        if not path.is_file():
            return ""
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        keep = [t for t in text if t.strip()][-lines:]
        return " | ".join(t.strip() for t in keep)[-600:]

    def update(
        self, name: str, change: Callable[[dict[str, Any]], Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Read-modify-write the record under the lock; returns the new record."""
        with self.lock(name):
            record = self.read_raw(name)
            if change is not None:
                change(record)
            record.update(fields)
            record["LastModifiedTime"] = iso()
            write_json_atomic(self.record_path(name), record)
            return record

    # -- candidates ---------------------------------------------------------------------------
    def write_candidate(self, name: str, candidate: dict[str, Any]) -> None:
        path = self.candidates_dir(name) / f"{candidate['CandidateName']}.json"
        with self.lock(name):
            write_json_atomic(path, candidate)

    def update_candidate(self, name: str, candidate: str, **fields: Any) -> dict[str, Any]:
        path = self.candidates_dir(name) / f"{candidate}.json"
        with self.lock(name):
            record = read_json(path)
            record.update({k: v for k, v in fields.items() if v is not None})
            record["LastModifiedTime"] = iso()
            write_json_atomic(path, record)
            return record

    def candidates(self, name: str) -> list[dict[str, Any]]:
        folder = self.candidates_dir(name)
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.glob("*.json")):
            try:
                out.append(read_json(path))
            except (json.JSONDecodeError, FileNotFoundError):  # pragma: no cover - atomic writes
                continue
        return out

    # -- events -------------------------------------------------------------------------------
    def event(self, name: str, message: str, **data: Any) -> None:
        """Append one line to the job's event log (what ``logs=True`` shows)."""
        line = json.dumps({"time": iso(), "message": message, **data}, default=_json_default)
        with open(self.job_dir(name) / "events.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def events(self, name: str, start: int = 0) -> list[dict[str, Any]]:
        path = self.job_dir(name) / "events.jsonl"
        if not path.is_file():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()[start:]
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line being written right now
                break
        return out
