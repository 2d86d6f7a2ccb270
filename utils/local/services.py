"""Which local class answers each AWS service's client (botocore's service names).

AWS equivalent: the service endpoints. A client of any other service can be created (as boto3
allows), but its first call raises ``NotImplementedError`` naming the call and what to use.
"""

from __future__ import annotations

import importlib
from typing import Any

from utils.local.service import Service

SERVICES: dict[str, str] = {
    "s3": "utils.local.s3.service:S3Service",
    "sts": "utils.local.identity:STSService",
    "iam": "utils.local.identity:IAMService",
    "sagemaker": "utils.local.sagemaker:SageMakerService",
    "sagemaker-runtime": "utils.local.runtime:RuntimeService",
    "logs": "utils.local.monitoring:LogsService",
    "cloudwatch": "utils.local.monitoring:CloudWatchService",
}
# what to use instead, for services the labs reach through another API locally
INSTEAD = {
    "glue": "the Glue catalog through lab.wr.catalog (awswrangler's calls)",
    "athena": "Athena through lab.wr.athena (awswrangler's calls)",
}


def service_class(name: str) -> type[Service]:
    """The local service class for botocore's service ``name``."""
    target = SERVICES.get(name)
    if target is None:
        return _unavailable(name)
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _unavailable(name: str) -> type[Service]:
    hint = INSTEAD.get(name)
    instead = f"; locally use {hint}" if hint else ""

    class Unavailable(Service):
        service_name = name

        def operation(self, operation_name: str) -> Any:
            raise NotImplementedError(
                f"local backend: the {name} client is not available locally ({operation_name} "
                f"was called); the local clients are {', '.join(sorted(SERVICES))}{instead}. "
                "Run this cell with BACKEND='aws'."
            )

    return Unavailable
