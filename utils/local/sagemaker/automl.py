"""Placeholder: filled in by the AutoML part of the local SageMaker."""

from __future__ import annotations


class AutoMLAPI:
    """The AutoML calls of the local SageMaker client."""
