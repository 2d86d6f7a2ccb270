"""Run one unit of work (a candidate's training) in a forked child with a hard time limit.

AWS equivalent: a SageMaker training job with ``StoppingCondition.MaxRuntimeInSeconds``: when
the time is up (or the AutoML job is stopped) the training is killed, whatever it was doing.
A fork shares the parent's loaded data and cached features without copying them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The end of MaxAutoMLJobRuntimeInSeconds: the worker's deadline guard ends the job END_MARGIN
# seconds before the limit (time for its own closing writes); the engines and the reports leave
# CLOSING_SECONDS more before that for the final reports and records.
END_MARGIN = 1.5
CLOSING_SECONDS = 1.5

# Tests set this to make each bounded run (each candidate) sleep first, so that runtime limits
# can be tested deterministically on tiny data.
TEST_DELAY_VAR = "AUTOML_LOCAL_TEST_DELAY_SECONDS"
# Tests set this to "<stage>:<seconds>" to make the worker itself hang that long when the job
# enters that secondary status (a step that overruns MaxAutoMLJobRuntimeInSeconds).
TEST_STALL_VAR = "AUTOML_LOCAL_TEST_STALL"


def stall_for_tests(stage: str) -> None:
    """Tests only: sleep as ``TEST_STALL_VAR`` asks when the job enters ``stage``."""
    wanted, _, seconds = os.environ.get(TEST_STALL_VAR, "").partition(":")
    if wanted and wanted == stage:
        time.sleep(float(seconds or 0))


class OutOfTime(Exception):  # noqa: N818 - an outcome, as TimeoutError
    """Raised by bounded work that gave up because the time it had was too short (AutoGluon
    training no model within its time limit): the run's outcome is ``timeout``, with why."""


@dataclass
class Outcome:
    """How a bounded run ended: ``ok`` (with ``value``), ``error``, ``timeout`` (killed at the
    limit, or gave up for lack of time: then ``error`` says why), ``stopped``, or ``crashed``
    (the child died without answering, e.g. out of memory)."""

    status: str
    value: Any = None
    error: str = ""
    seconds: float = 0.0


def _die_with_parent() -> None:
    """Linux: have the kernel kill this child if its parent dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _child(fn: Callable[[], Any], conn: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent()
    delay = float(os.environ.get(TEST_DELAY_VAR) or 0)
    if delay > 0:  # tests only: make every candidate take at least this long
        time.sleep(delay)
    try:
        value = fn()
        conn.send(("ok", value, ""))
    except OutOfTime as exc:
        conn.send(("timeout", None, str(exc)))
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        detail = "".join(traceback.format_exception(exc))
        try:
            conn.send(("error", None, f"{type(exc).__name__}: {exc}\n{detail}"))
        except Exception:  # noqa: BLE001 - the exception itself may not pickle
            conn.send(("error", None, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
        os._exit(0)  # skip the parent's atexit handlers and buffered output


def run_bounded(
    fn: Callable[[], Any],
    timeout: float,
    should_stop: Callable[[], bool] = lambda: False,
    poll: float = 0.2,
) -> Outcome:
    """Run ``fn()`` in a forked child; kill it after ``timeout`` seconds or when told to stop."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    started = time.monotonic()
    proc = ctx.Process(target=_child, args=(fn, sender), daemon=True)
    proc.start()
    sender.close()
    deadline = started + max(0.0, timeout)
    try:
        while True:
            if receiver.poll(poll):
                try:
                    status, value, error = receiver.recv()
                except EOFError:
                    proc.join(5)
                    return Outcome("crashed", error=_exit_reason(proc.exitcode),
                                   seconds=time.monotonic() - started)  # fmt: skip
                proc.join(10)
                return Outcome(status, value, error, time.monotonic() - started)
            if not proc.is_alive():
                if receiver.poll(0):
                    continue
                return Outcome("crashed", error=_exit_reason(proc.exitcode),
                               seconds=time.monotonic() - started)  # fmt: skip
            if should_stop():
                _kill(proc)
                return Outcome("stopped", seconds=time.monotonic() - started)
            if time.monotonic() > deadline:
                _kill(proc)
                return Outcome("timeout", seconds=time.monotonic() - started)
    finally:
        receiver.close()
        if proc.is_alive():  # pragma: no cover - an exception in the loop above
            _kill(proc)


def _kill(proc: Any) -> None:
    proc.terminate()
    proc.join(3)
    if proc.is_alive():
        proc.kill()
        proc.join(3)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "the training process did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        hint = " (killed: out of memory?)" if name == "SIGKILL" else ""
        return f"the training process was killed by {name}{hint}"
    return f"the training process exited with code {code} without a result"
