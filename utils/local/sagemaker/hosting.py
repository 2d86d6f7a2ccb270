"""Placeholder: filled in by the hosting part of the local SageMaker."""

from __future__ import annotations


class HostingAPI:
    """The hosting calls of the local SageMaker client."""
