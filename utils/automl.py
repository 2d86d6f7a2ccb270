"""``lab.AutoML``: SageMaker Autopilot through the sagemaker SDK's ``AutoML`` on either backend.

AWS equivalent: ``sagemaker.automl.automl.AutoML``. On ``aws`` the class drives the real
service through the V2 API (CreateAutoMLJobV2, DescribeAutoMLJobV2); on ``local`` it is the
embedded Autopilot of :mod:`utils.local.automl`. Both take the same constructor arguments and
answer with the same keys.
"""

from __future__ import annotations

from typing import Any


def automl_class(lab: Any) -> type:
    """The ``AutoML`` class for ``lab``'s backend, bound to the lab (home, bucket, region)."""
    if lab.is_local:
        from utils.local.automl import local_automl_class

        lab.home.mkdir(parents=True, exist_ok=True)
        return local_automl_class(lab)
    from utils.aws.automl import aws_automl_class

    return aws_automl_class(lab)
