"""Errors the labs raise on purpose: each says what was wrong and where."""

from __future__ import annotations


class LabError(Exception):
    """Base class for the labs' own errors."""


class ConfigError(LabError, ValueError):
    """A configuration value (parameter, environment variable) is not allowed."""


class LakePathError(LabError, ValueError):
    """An S3 path is malformed or would escape the lab home."""


class NoSuchKey(LabError, FileNotFoundError):
    """An object or prefix does not exist in the (local) lake."""


class RawDataError(LabError, ValueError):
    """The raw reviews file cannot be used: wrong columns, encoding, or empty."""


class PrerequisiteError(LabError, RuntimeError):
    """A notebook ran before the notebook that prepares its inputs."""


class EnvironmentNotReady(LabError, RuntimeError):
    """00_setup found a problem that stops the labs (no credentials, lab home not writable)."""
