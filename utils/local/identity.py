"""STS and IAM on the local backend: who "you" are, and the SageMaker execution role.

AWS equivalent: ``boto3.client("sts").get_caller_identity()`` and the IAM role that SageMaker
jobs assume. Locally there is one account (``000000000000``) and one role,
``arn:aws:iam::000000000000:role/service-role/LocalSageMakerExecutionRole``; the caller is that
role's session, as in a SageMaker notebook. So ``sagemaker.get_execution_role()``,
``sess.account_id()`` and ``sts.get_caller_identity()["Account"]`` answer as on AWS.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from typing import Any

from utils.local.service import (
    LOCAL_ROLE_ARN,
    LOCAL_ROLE_NAME,
    LOCAL_USER_ID,
    Service,
    ServiceError,
)

SESSION_NAME = "SageMaker"
_CREATED = dt.datetime(2021, 6, 1, tzinfo=dt.UTC)
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}  # fmt: skip


class STSService(Service):
    """``sts``: GetCallerIdentity answers the local account and the execution role's session."""

    service_name = "sts"

    def get_caller_identity(self, **_: Any) -> dict[str, Any]:
        """GetCallerIdentity: {UserId, Account, Arn} of the execution role's session."""
        account = self.account.account
        return {
            "UserId": f"{LOCAL_USER_ID}:{SESSION_NAME}",
            "Account": account,
            "Arn": f"arn:aws:sts::{account}:assumed-role/{LOCAL_ROLE_NAME}/{SESSION_NAME}",
        }


class IAMService(Service):
    """``iam``: GetRole for the one local role (what the SDK calls to expand a role name)."""

    service_name = "iam"

    def get_role(self, RoleName: str, **_: Any) -> dict[str, Any]:
        """GetRole: the local execution role; any other name is NoSuchEntity, as on AWS."""
        if RoleName != LOCAL_ROLE_NAME:
            raise ServiceError(
                "NoSuchEntity",
                f"The role with name {RoleName} cannot be found. The local backend has one role, "
                f"{LOCAL_ROLE_NAME} ({LOCAL_ROLE_ARN}): use lab.role or "
                "sagemaker.get_execution_role()",
                404,
            )
        return {
            "Role": {
                "Path": "/service-role/",
                "RoleName": LOCAL_ROLE_NAME,
                "RoleId": LOCAL_USER_ID,
                "Arn": LOCAL_ROLE_ARN,
                "CreateDate": _CREATED,
                "AssumeRolePolicyDocument": urllib.parse.quote(json.dumps(_TRUST)),
                "Description": "The local backend's SageMaker execution role",
                "MaxSessionDuration": 3600,
            }
        }
