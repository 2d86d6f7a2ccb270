"""Placeholder: filled in by the processing part of the local SageMaker."""

from __future__ import annotations


class ProcessingAPI:
    """The processing calls of the local SageMaker client."""
