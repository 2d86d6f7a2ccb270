"""Placeholder: filled in by the training part of the local SageMaker."""

from __future__ import annotations


class TrainingAPI:
    """The training calls of the local SageMaker client."""
