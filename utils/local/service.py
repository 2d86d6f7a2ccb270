"""What every local AWS service shares: its account, its errors, its response metadata.

AWS equivalent: a service endpoint. Each local service (S3, STS, SageMaker, ...) is a class
whose methods are named as boto3's client methods (``put_object``, ``describe_endpoint``) and
take the API's own parameter names. :mod:`utils.local.session` routes every call of a real boto3
client to them, so botocore validates the request and raises the service's modeled exception
for a :class:`ServiceError`, exactly as for an answer from AWS.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.errors import LabError

LOCAL_ACCOUNT = "000000000000"
LOCAL_ROLE_NAME = "LocalSageMakerExecutionRole"
LOCAL_ROLE_ARN = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/service-role/{LOCAL_ROLE_NAME}"
LOCAL_USER_ID = "AROALOCALLABEXECUTION0"  # the role's unique id (AROA...: an assumed role)


class ServiceError(LabError):
    """An AWS error answer: ``code`` (``NoSuchKey``, ``ValidationException``, ...), a message
    that says what was wrong and where, and the HTTP status AWS gives for it.

    Raised inside a local service; the caller sees botocore's ``ClientError`` (the modeled
    subclass when the service defines one, e.g. ``s3.exceptions.NoSuchKey``).
    """

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def response(self) -> dict[str, Any]:
        error = {"Code": self.code, "Message": self.message}
        error.update({k: v for k, v in self.extra.items() if k[:1].isupper() and k != "Response"})
        out: dict[str, Any] = {
            "Error": error,
            "ResponseMetadata": metadata(self.status),
        }
        out.update(self.extra.get("Response", {}))
        return out


def metadata(status: int = 200, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """``ResponseMetadata`` as botocore returns it."""
    request_id = str(uuid.uuid4())
    return {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": {"x-amzn-requestid": request_id, **(headers or {})},
        "RetryAttempts": 0,
    }


def now() -> dt.datetime:
    """The time as AWS answers it: timezone-aware UTC, millisecond precision."""
    moment = dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def snake_case(operation: str) -> str:
    """``ListObjectsV2`` -> ``list_objects_v2``, as botocore names client methods."""
    from botocore import xform_name

    return xform_name(operation)


@dataclass(frozen=True)
class LocalAccount:
    """The one account the local backend serves: where its state lives, its region and id."""

    home: Path
    region: str
    account: str = LOCAL_ACCOUNT
    bucket: str | None = None
    database: str | None = None
    seed: int = 0  # seeds the local engines (Autopilot, BlazingText), as the lab's SEED

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


class Service:
    """A local AWS service: one method per supported API operation, boto3's names.

    Calls that a service does not implement raise ``NotImplementedError`` naming the call.
    """

    service_name = ""  # botocore's name: "s3", "sagemaker", "sagemaker-runtime", ...

    def __init__(self, account: LocalAccount) -> None:
        self.account = account

    @property
    def home(self) -> Path:
        return Path(self.account.home)

    @property
    def region(self) -> str:
        return self.account.region

    def operation(self, operation_name: str) -> Any:
        """The method for ``operation_name`` (``"PutObject"``), or NotImplementedError."""
        method_name = snake_case(operation_name)
        method = getattr(type(self), method_name, None)
        if method is None or method_name.startswith("_"):
            raise NotImplementedError(
                f"local backend: {self.service_name}.{method_name}() ({operation_name}) is not "
                f"implemented locally; the local {self.service_name} client has "
                f"{', '.join(self.operations())}. Run this cell with BACKEND='aws'."
            )
        return getattr(self, method_name)

    @classmethod
    def operations(cls) -> list[str]:
        """The boto3 method names this local service implements."""
        skip = {"operation", "operations", "home", "region"}
        return sorted(
            name
            for name in dir(cls)
            if not name.startswith("_")
            and name not in skip
            and callable(getattr(cls, name))
            and re.fullmatch(r"[a-z][a-z0-9_]*", name)
            and name != "close"
        )


def invalid(message: str) -> ServiceError:
    """SageMaker's answer to a request it refuses: ``ValidationException`` with ``message``."""
    return ServiceError("ValidationException", message)


def aware(moment: dt.datetime) -> dt.datetime:
    """A request's time as a UTC-aware datetime (botocore takes naive times as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def require(value: Any, name: str) -> Any:
    """AWS's answer for a missing required value that botocore let through (an empty string)."""
    if value in (None, ""):
        raise ServiceError("ValidationException", f"{name} is required and must not be empty")
    return value
