"""The job store: each local AutoML job is a folder under ``<lab home>/automl/<job name>/``.

AWS equivalent: the SageMaker control plane's record of an AutoML job (what DescribeAutoMLJobV2
and ListCandidatesForAutoMLJob read). Files:

- ``job.json``: the job record (request, resolved attributes, status, worker pid), written
  atomically under a file lock, so any process (another kernel, a restarted one) reads a
  whole record and concurrent updates (the worker's progress, a client's stop) never clash;
- ``candidates/<candidate>.json``: one record per candidate;
- ``events.jsonl``: what happened, one JSON line per event (the job's "logs");
- ``worker.log``: the background worker's own output (read back when it dies);
- ``worker-end.json``: how the worker ended, written by the worker itself (its exit code, or
  the signal it caught) and ``worker-exit.json``: its exit status as the process that started
  it saw it (``waitid``), while that process lives;
- ``work/``: scratch space (cached features, the AutoGluon predictor).

A job is created whole or not at all: its folder is built under a temporary name and renamed
into place, so of two creators racing for one name exactly one wins, and no reader ever sees a
job without its record. A job that claims to be running but whose worker process is gone is
reported ``Failed`` with what happened to the worker (its signal or exit code where that can be
known), never ``InProgress`` forever (see :meth:`JobStore.read`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from utils.errors import LabError
from utils.local.automl.constants import JOB_NAME_RE
from utils.local.lake import file_lock

# locks this process holds: (job folder, pid, thread) -> depth. flock conflicts between two
# open()s of the same file even in one process, so nested use in one thread must not open the
# file again, while another thread of the process waits for the lock as another process would.
# The pid in the key keeps a forked child from inheriting its parent's bookkeeping.
_HELD: dict[tuple[str, int, int], int] = {}
END_FILE = "worker-end.json"  # written by the worker: how it ended
EXIT_FILE = "worker-exit.json"  # written by the process that started it: its exit status
EXIT_WAIT_SECONDS = 3.0  # how long a reader waits for a live spawner to record the exit
# lines of a worker's log that successful jobs print too: they never explain a failure
HARMLESS_LINES = (
    re.compile(r"Failed to import torch or check CUDA availability"),  # AutoGluon, no PyTorch
    re.compile(r"^\S.*:\d+: \w*Warning: "),  # a Python warning ...
    re.compile(r"^Extension modules: "),  # the list that closes a faulthandler report
)


class ResourceNotFound(LabError, LookupError):
    """No job (or candidate) with that name. AWS: the ``ResourceNotFound`` client error."""


class ResourceInUse(LabError, ValueError):
    """A job with that name exists already. AWS: the ``ResourceInUse`` client error."""


class InvalidJobName(LabError, ValueError):
    """Not an AutoML job name (1-32 letters, digits, hyphens). AWS: ``ValidationException``."""


def check_name(name: object) -> str:
    """The AutoML job name rule of the SageMaker API (no ``/``, no ``.``, at most 32)."""
    if not isinstance(name, str) or not JOB_NAME_RE.fullmatch(name):
        raise InvalidJobName(
            f"{name!r} is not an AutoML job name: 1 to 32 letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


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


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """``{"pid", "create_time"}`` of a process (this one by default), as ``process_alive`` takes."""
    import psutil

    proc = psutil.Process(pid)
    return {"pid": proc.pid, "create_time": proc.create_time()}


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit(returncode: int) -> str:
    """A process's exit status in words: ``was killed by SIGKILL (signal 9) ...`` or ``exited
    with code 1``."""
    if returncode < 0:
        name = signal_name(-returncode)
        hint = ": kill -9, or the kernel's out-of-memory killer" if name == "SIGKILL" else ""
        return f"was killed by {name} (signal {-returncode}{hint})"
    return f"exited with code {returncode}"


def meaningful_lines(text: str) -> list[str]:
    """The lines of a worker's log without what every job prints (Python warnings with the
    source line under them, AutoGluon's missing-PyTorch notice) and without blank lines."""
    out: list[str] = []
    in_warning = False
    for line in text.splitlines():
        if not line.strip():
            continue
        if any(p.search(line) for p in HARMLESS_LINES):
            in_warning = True
            continue
        if in_warning and line[:1] in (" ", "\t"):
            continue  # the source line Python prints under a warning
        in_warning = False
        out.append(line.strip())
    return out


_ERROR_LINE = re.compile(r"^(?:[\w.]+(?:Error|Exception|Exit|Interrupt)\b|Fatal Python error)")


class RecordUpdates:
    """Read-modify-write of a job's record, for a store with ``lock``, ``read_raw`` and
    ``record_path`` (the AutoML store and the SageMaker job records); ``stamp`` gives the
    record's LastModifiedTime."""

    stamp = staticmethod(iso)

    def update(
        self, name: str, change: Callable[[dict[str, Any]], Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Read-modify-write the record under the lock; returns the new record."""
        with self.lock(name):  # type: ignore[attr-defined]
            record = self.read_raw(name)  # type: ignore[attr-defined]
            if change is not None:
                change(record)
            record.update(fields)
            record["LastModifiedTime"] = self.stamp()
            write_json_atomic(self.record_path(name), record)  # type: ignore[attr-defined]
            return record


class JobStore(RecordUpdates):
    """The folder of AutoML job records of one lab home."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "automl"

    # -- paths --------------------------------------------------------------------------------
    def job_dir(self, name: str) -> Path:
        """The job's folder; a name that is not an AutoML job name is refused (no ``..``)."""
        return self.root / check_name(name)

    def record_path(self, name: str) -> Path:
        return self.job_dir(name) / "job.json"

    def candidates_dir(self, name: str) -> Path:
        return self.job_dir(name) / "candidates"

    def work_dir(self, name: str) -> Path:
        path = self.job_dir(name) / "work"
        path.mkdir(exist_ok=True)  # in the job's folder, which exists: no folder of a non-job
        return path

    def log_path(self, name: str) -> Path:
        return self.job_dir(name) / "worker.log"

    def exists(self, name: str) -> bool:
        return JOB_NAME_RE.fullmatch(str(name)) is not None and self.record_path(name).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob("*/job.json")
                      if JOB_NAME_RE.fullmatch(p.parent.name))  # fmt: skip

    # -- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock on one job's record, across processes and threads; re-entrant in
        one thread. The job must exist: a lock never creates a job's folder."""
        folder = self.job_dir(name)
        key = (str(folder), os.getpid(), threading.get_ident())
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        try:
            fh = open(folder / ".lock", "a+")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise self._not_found(name) from None
        with fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            _HELD[key] = 1
            try:
                yield
            finally:
                _HELD.pop(key, None)
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _creating(self) -> Iterator[None]:
        """The lock every creator takes while it claims a name (one claim at a time)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / ".create.lock"):
            yield

    # -- the job record -----------------------------------------------------------------------
    def create(self, name: str, record: dict[str, Any]) -> None:
        """Store a new job's record; a second job with the same name is refused.

        The folder is built under a temporary name and renamed into place while the creators'
        lock is held: of two creators racing (threads or processes), exactly one wins, and a
        reader sees the whole job or none. The record names its creator (pid and start time),
        so a creator that dies before it starts the worker leaves a job that reads Failed.
        """
        check_name(name)
        record = {**record, "creator": record.get("creator") or process_identity()}
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".new-{name}-"))
        try:
            write_json_atomic(staging / "job.json", record)
            with self._creating():
                target = self.job_dir(name)
                if target.exists() and not self.record_path(name).is_file():
                    # a folder without a record holds no job (left by an interrupted older
                    # version): set it aside, so that the name can be used
                    aside = self.root / f".stale-{name}-{uuid.uuid4().hex[:8]}"
                    os.rename(target, aside)
                    shutil.rmtree(aside, ignore_errors=True)
                try:
                    os.rename(staging, target)
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    raise self._in_use(name) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # still there only if the claim failed

    @staticmethod
    def _in_use(name: str) -> ResourceInUse:
        return ResourceInUse(
            f"An AutoML job named {name!r} exists already (ResourceInUse): job names are "
            "unique, as on SageMaker. Use AutoML.attach(auto_ml_job_name=...) to follow it, "
            "or choose a new job_name."
        )

    def _not_found(self, name: str) -> ResourceNotFound:
        known = self.names()
        hint = f" Jobs in this lab home: {', '.join(known[-5:])}." if known else ""
        return ResourceNotFound(
            f"No AutoML job named {name!r} in {self.root} (ResourceNotFound).{hint}"
        )

    def read_raw(self, name: str) -> dict[str, Any]:
        path = self.record_path(name)
        if not path.is_file():
            raise self._not_found(name)
        return read_json(path)

    def read(self, name: str) -> dict[str, Any]:
        """The job's record; a running job whose worker has died is marked Failed first (or
        Stopped, if it was being stopped), with what happened to the worker."""
        record = self.read_raw(name)
        if record["AutoMLJobStatus"] not in ("InProgress", "Stopping"):
            return record
        worker = record.get("worker") or {}
        if worker.get("pid"):
            if process_alive(worker["pid"], worker.get("create_time")):
                return record
            self._await_exit_status(name, record)
            return self._mark_dead(name)
        creator = record.get("creator") or {}
        if creator.get("pid") and not process_alive(creator["pid"], creator.get("create_time")):
            return self._mark_dead(name)  # created, but its creator died before the worker
        return record

    # -- how a worker ended -------------------------------------------------------------------
    def record_exit(self, name: str, pid: int, returncode: int, by: str) -> None:
        """Keep a worker's exit status: ``by="spawner"`` (the parent's waitid: exact, even for
        SIGKILL) in worker-exit.json, ``by="worker"`` (its own end) in worker-end.json."""
        path = self.job_dir(name) / (EXIT_FILE if by == "spawner" else END_FILE)
        write_json_atomic(path, {"pid": pid, "returncode": returncode, "time": iso()})

    def _exit_of(self, name: str, pid: int) -> tuple[int | None, str]:
        """``(returncode, who recorded it)`` for the worker ``pid``, or ``(None, "")``."""
        for file, by in ((EXIT_FILE, "spawner"), (END_FILE, "worker")):
            try:
                data = read_json(self.job_dir(name) / file)
            except (FileNotFoundError, json.JSONDecodeError):
                continue
            if data.get("pid") == pid and isinstance(data.get("returncode"), int):
                return data["returncode"], by
        return None, ""

    def _await_exit_status(self, name: str, record: dict[str, Any]) -> None:
        """The worker is gone; if the process that started it lives, it is about to record the
        exit status (its waiter thread): wait for that a moment rather than guess."""
        pid = (record.get("worker") or {}).get("pid")
        spawner = record.get("spawner") or {}
        if not spawner.get("pid") or not process_alive(spawner["pid"], spawner.get("create_time")):
            return
        until = time.monotonic() + EXIT_WAIT_SECONDS
        while self._exit_of(name, pid)[0] is None and time.monotonic() < until:
            time.sleep(0.05)

    def death(self, name: str, record: dict[str, Any]) -> tuple[str, str]:
        """What happened to the job's worker, in words: ``(FailureReason, short form)``. The
        signal or exit code when it was recorded; the last meaningful lines of its log as a
        detail, labelled so (the warnings every job prints are left out)."""
        stage = record.get("AutoMLJobSecondaryStatus")
        worker = record.get("worker") or {}
        pid = worker.get("pid")
        log = self.log_path(name)
        lines = meaningful_lines(self._log_text(name))
        errors = [t for t in lines if _ERROR_LINE.match(t)]
        if not pid:
            creator = record.get("creator") or {}
            what = (f"The process that created the job (pid {creator.get('pid')}) exited before "
                    "it started the job's worker, so the job never ran")  # fmt: skip
            return what + ".", "the job's worker never started"
        code, _ = self._exit_of(name, pid)
        if code is not None:
            how = describe_exit(code)
            short = how.split(" (")[0]
        elif any(t.startswith("Fatal Python error") for t in errors):
            how = short = "crashed"
        else:
            spawner = record.get("spawner") or {}
            how = ("is gone without an exit record, which the worker writes whenever it ends by "
                   "itself or by a signal it can catch: it was killed by SIGKILL (kill -9, or "
                   "the kernel's out-of-memory killer), or the machine stopped"
                   + (f"; the process that started it (pid {spawner['pid']}), which would have "
                      "seen the exact signal, had exited" if spawner.get("pid") else ""))  # fmt: skip
            short = "was killed (SIGKILL: kill -9 or out of memory)"
        short = f"the job's worker {short}"
        reason = (f"The job's worker process (pid {pid}) {how}, during {stage}, before the job "
                  "finished.")  # fmt: skip
        fatal = [t for t in errors if t.startswith("Fatal Python error")]
        if code is not None and code > 0 and errors:
            reason += f" Its last error: {errors[-1][:300]}."
        elif code != 0 and fatal:  # a crash in native code (faulthandler's report)
            reason += f" Its last error: {fatal[-1][:300]}."
        tail = " | ".join(lines[-3:])[-500:]
        detail = (f" Detail, the last lines of its log {log} (warnings left out): {tail}" if tail
                  else f" Its log {log} holds nothing but the warnings every job prints.")  # fmt: skip
        return (reason + detail)[:1024], short

    def _mark_dead(self, name: str) -> dict[str, Any]:
        marked: list[str] = []

        def dead(record: dict[str, Any]) -> None:
            if record["AutoMLJobStatus"] not in ("InProgress", "Stopping"):
                return  # it finished between our read and the lock
            worker = record.get("worker") or {}
            if process_alive(worker.get("pid"), worker.get("create_time")):
                return
            stopping = record["AutoMLJobStatus"] == "Stopping"
            reason, short = self.death(name, record)
            record["AutoMLJobStatus"] = "Stopped" if stopping else "Failed"
            record["AutoMLJobSecondaryStatus"] = "Stopped" if stopping else "Failed"
            if not stopping:
                record["FailureReason"] = reason
                marked.append(reason)
            record["EndTime"] = record["LastModifiedTime"] = iso()
            for cand in self.candidates(name):
                if cand["CandidateStatus"] in ("InProgress", "Stopping"):
                    self.update_candidate(
                        name, cand["CandidateName"], CandidateStatus="Stopped" if stopping
                        else "Failed", FailureReason=None if stopping else short,
                        EndTime=iso(),
                    )  # fmt: skip

        record = self.update(name, dead)
        if marked:  # this reader marked it: the job's log says so once
            self.event(name, f"job Failed: {marked[0]}", stage="Failed")
        return record

    def _log_text(self, name: str, limit: int = 65536) -> str:
        path = self.log_path(name)
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, path.stat().st_size - limit))
                return fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, name: str, lines: int = 3) -> str:
        """The last meaningful lines of the worker's log (warnings every job prints left out)."""
        return " | ".join(meaningful_lines(self._log_text(name))[-lines:])[-600:]

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
