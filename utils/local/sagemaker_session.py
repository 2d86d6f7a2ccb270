"""``lab.session`` on the local backend: the sagemaker SDK's own ``Session``, polling faster.

AWS equivalent: ``sagemaker.Session()``. Every method is the SDK's, on the local backend's
clients (:mod:`utils.local.session`); only the intervals at which the ``wait_for_*`` and
``logs_for_*`` methods look again are shorter (half a second instead of 5 to 30 seconds): the SDK
sleeps a whole interval before its first look, which suits jobs and endpoints that take minutes
on AWS, and local ones take seconds. What the methods answer and raise is unchanged.
"""

from __future__ import annotations

from typing import Any

import sagemaker

POLL_SECONDS = 0.5


class LocalSession(sagemaker.Session):
    """``sagemaker.Session`` on the local backend's clients, with local polling intervals."""

    def wait_for_auto_ml_job(self, job: str, poll: float = 5) -> dict[str, Any]:
        return super().wait_for_auto_ml_job(job, poll=min(poll, POLL_SECONDS))

    def wait_for_job(self, job: str, poll: float = 5) -> dict[str, Any]:
        return super().wait_for_job(job, poll=min(poll, POLL_SECONDS))

    def wait_for_processing_job(self, job: str, poll: float = 5) -> dict[str, Any]:
        return super().wait_for_processing_job(job, poll=min(poll, POLL_SECONDS))

    def wait_for_endpoint(self, endpoint: str, poll: float = 30, live_logging: bool = False
                          ) -> dict[str, Any]:  # fmt: skip
        return super().wait_for_endpoint(endpoint, poll=min(poll, POLL_SECONDS),
                                         live_logging=live_logging)  # fmt: skip

    def logs_for_job(self, job_name: str, wait: bool = False, poll: float = 10,
                     log_type: str = "All", timeout: float | None = None) -> None:  # fmt: skip
        return super().logs_for_job(job_name, wait=wait, poll=min(poll, POLL_SECONDS),
                                    log_type=log_type, timeout=timeout)  # fmt: skip

    def logs_for_processing_job(self, job_name: str, wait: bool = False, poll: float = 10) -> None:
        return super().logs_for_processing_job(job_name, wait=wait, poll=min(poll, POLL_SECONDS))

    def logs_for_auto_ml_job(self, job_name: str, wait: bool = False, poll: float = 10) -> None:
        return super().logs_for_auto_ml_job(job_name, wait=wait, poll=min(poll, POLL_SECONDS))
