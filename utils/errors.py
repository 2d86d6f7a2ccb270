"""Errors the labs raise on purpose: each says what was wrong and where."""

from __future__ import annotations


class LabError(Exception):
    """Base class for the labs' own errors."""


class OneLineError(LabError):
    """An error whose message says all a learner needs: a notebook shows the message alone.

    IPython calls ``_render_traceback_`` instead of printing a stack trace, so the cell's
    output is ``PrerequisiteError: Run 01_ingest first: ...`` and nothing into ``utils/``.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[1;31m{type(self).__name__}\x1b[0m: {self}"]


class ConfigError(LabError, ValueError):
    """A configuration value (parameter, environment variable) is not allowed."""


class LakePathError(LabError, ValueError):
    """An S3 path is malformed or would escape the lab home."""


class NoSuchKey(LabError, FileNotFoundError):
    """An object or prefix does not exist in the (local) lake."""


class RawDataError(LabError, ValueError):
    """The raw reviews file cannot be used: wrong columns, encoding, or empty."""


class PrerequisiteError(OneLineError, RuntimeError):
    """A notebook ran before the notebook that prepares its inputs."""


class EnvironmentNotReady(OneLineError, RuntimeError):
    """00_setup found a problem that stops the labs (no credentials, lab home not writable)."""


def restore_ipython_tracebacks() -> None:
    """Undo a traceback hook installed on the running IPython shell, if one was.

    ``rich.traceback.install()`` (which importing the sagemaker SDK runs) replaces the shell's
    error display: Jupyter then gets no error output, a :class:`OneLineError` would show as a
    stack trace, and papermill could not see the error. Outside IPython it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the kernel
        return
    shell = get_ipython()
    if shell is None:
        return
    for name in ("showtraceback", "_showtraceback", "showsyntaxerror"):
        if name in vars(shell):  # rich sets these on the instance; the class has the originals
            delattr(shell, name)
