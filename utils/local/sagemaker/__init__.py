"""The ``sagemaker`` client of the local backend: SageMaker's control plane over the lab home.

AWS equivalent: ``boto3.client("sagemaker")``. One class, one mixin per part of the API, each
in its own module with boto3's method names, request and response shapes and error codes:

- :mod:`.automl`: AutoML jobs, V1 (CreateAutoMLJob, DescribeAutoMLJob) and V2
  (CreateAutoMLJobV2, DescribeAutoMLJobV2), candidates, ListAutoMLJobs, StopAutoMLJob;
- :mod:`.training`: training jobs (CreateTrainingJob, DescribeTrainingJob, ...);
- :mod:`.processing`: processing jobs (CreateProcessingJob, DescribeProcessingJob, ...);
- :mod:`.hosting`: models, endpoint configs and endpoints.

Jobs run in background workers (:mod:`.jobs`, :mod:`.worker`) on the engines that stand for
SageMaker's images (:mod:`.images`). Tags of every resource are read with ListTags.
"""

from __future__ import annotations

from typing import Any

from utils.local.sagemaker.automl import AutoMLAPI
from utils.local.sagemaker.hosting import HostingAPI
from utils.local.sagemaker.processing import ProcessingAPI
from utils.local.sagemaker.training import TrainingAPI
from utils.local.service import Service, ServiceError


class SageMakerService(AutoMLAPI, TrainingAPI, ProcessingAPI, HostingAPI, Service):
    """Amazon SageMaker's control plane on the local backend."""

    service_name = "sagemaker"

    def list_tags(self, ResourceArn: str, MaxResults: int | None = None,
                  NextToken: str | None = None, **_: Any) -> dict[str, Any]:  # fmt: skip
        """ListTags for any local resource ARN (``arn:aws:sagemaker:<region>:<acct>:<kind>/<name>``)."""
        prefix = f"arn:aws:sagemaker:{self.region}:{self.account.account}:"
        kind, _, name = ResourceArn[len(prefix) :].partition("/")
        reader = getattr(self, f"_tags_{kind.replace('-', '_')}", None)
        if not ResourceArn.startswith(prefix) or reader is None or not name:
            raise ServiceError("ValidationException", f"ResourceArn {ResourceArn!r}: not the ARN "
                               "of a local SageMaker resource")  # fmt: skip
        tags = reader(name)
        return {"Tags": list(tags or [])}


__all__ = ["SageMakerService"]
