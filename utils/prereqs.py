"""Prerequisite checks for ``lab.require``: has a notebook produced what later ones read?

Each check takes a :class:`~utils.lab.Lab` and returns ``None`` when the notebook's outputs are in
place, or a short sentence saying what is missing (``lab.require`` prefixes "Run <notebook>
first: "). They only look (list objects, ask the catalog); they never create anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from utils.keys import BALANCED_PREFIX, TRANSFORMED_PREFIX

REVIEWS_TABLE = "reviews"


def transformed_ready(lab: Any) -> str | None:
    """Check for ``01_ingest``: a transformed CSV is under ``s3://<bucket>/data/transformed/``.

    AWS equivalent: ``wr.s3.list_objects('s3://<bucket>/data/transformed/', suffix='.csv')``.
    """
    prefix = lab.s3_uri(TRANSFORMED_PREFIX)
    if not lab.wr.s3.list_objects(prefix, suffix=".csv"):
        return f"no transformed reviews under {prefix} (backend {lab.backend!r})"
    return None


def reviews_table_ready(lab: Any) -> str | None:
    """Check for ``02_explore_athena``: the ``reviews`` table is registered in the catalog.

    AWS equivalent: ``wr.catalog.does_table_exist(database, table='reviews')`` on AWS Glue.
    """
    if not lab.wr.catalog.does_table_exist(database=lab.database, table=REVIEWS_TABLE):
        return (
            f"no table {REVIEWS_TABLE!r} in the Glue database {lab.database!r} "
            f"(backend {lab.backend!r})"
        )
    return None


def balanced_data_ready(lab: Any) -> str | None:
    """Check for ``04_detect_bias``: a balanced CSV is under ``s3://<bucket>/data/balanced/``.

    AWS equivalent: ``wr.s3.list_objects('s3://<bucket>/data/balanced/', suffix='.csv')``.
    """
    prefix = lab.s3_uri(BALANCED_PREFIX)
    if not lab.wr.s3.list_objects(prefix, suffix=".csv"):
        return f"no balanced reviews under {prefix} (backend {lab.backend!r})"
    return None


def autopilot_ready(lab: Any) -> str | None:
    """Check for ``05_autopilot``: a completed AutoML job with a best candidate exists.

    AWS equivalent: ``ListAutoMLJobs`` / ``DescribeAutoMLJobV2`` on SageMaker.
    """
    from utils.endpoints import autopilot_ready as check  # imports pandas: keep it lazy

    return check(lab)


def blazingtext_model_ready(lab: Any) -> str | None:
    """Check for ``07_blazingtext``: a trained BlazingText ``model.tar.gz`` is stored.

    AWS equivalent: ``wr.s3.list_objects('s3://<bucket>/blazingtext/output/',
    suffix='model.tar.gz')``.
    """
    from utils.blazingtext import model_ready  # imports pandas: keep it lazy

    return model_ready(lab)


# notebook -> a check that returns None when its outputs are in place, else what is missing.
# 07_blazingtext needs 04_detect_bias (it stops without the balanced reviews) and uses
# 05_autopilot's holdout when there is one (lab.check: its comparison says what to run).
PREREQUISITES: dict[str, Callable[[Any], str | None]] = {
    "01_ingest": transformed_ready,
    "02_explore_athena": reviews_table_ready,
    "04_detect_bias": balanced_data_ready,
    "05_autopilot": autopilot_ready,
    "07_blazingtext": blazingtext_model_ready,
}
