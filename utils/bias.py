"""Pre-training data bias, computed with SageMaker Clarify's own metrics library (``smclarify``).

The course runs a SageMaker Clarify processing job: facet ``product_category``, label
``sentiment`` with the positive value 1, metrics CI, DPL, KL, JS, LP, TVD and KS. Clarify compares
each value of the facet with all the other rows ("one vs. rest") and writes ``analysis.json``.

The course's calls (``clarify.DataConfig``, ``clarify.BiasConfig``,
``clarify.SageMakerClarifyProcessor(...).run_pre_training_bias``) run the job on both backends,
in ``04_detect_bias`` itself; locally the job's engine is :mod:`utils.local.clarify`, whose metric
functions and ``analysis.json`` format this module shares. It keeps the course helpers around the
job: checking the inputs, reading the metrics out of ``analysis.json`` into tables, balancing.

:func:`balance` samples the data down as the course does (by sentiment, or by product category x
sentiment), seeded. Bad input (a missing column, a label value not in the data, an empty data
set) raises :class:`BiasInputError` saying what and where.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from utils import keys
from utils.errors import LabError
from utils.local import clarify as local_clarify

FACET = "product_category"
LABEL = "sentiment"
POSITIVE_LABEL_VALUES: tuple[Any, ...] = (1,)
METHODS: tuple[str, ...] = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS")
ANALYSIS_VERSION = local_clarify.ANALYSIS_VERSION
REPORT_PREFIX = keys.BIAS_REPORT_PREFIX  # + "unbalanced" / "balanced", as in the course
BALANCED_KEY = keys.BALANCED_KEY
BALANCED_COLUMNS: list[str] = ["sentiment", "review_body", "product_category"]
INSTANCE_TYPE = "ml.m5.large"

TABLE_COLUMNS = ["facet", "value_or_threshold", "metric", "description", "value", "error"]


class BiasInputError(LabError, ValueError):
    """The data set or the bias configuration cannot be analysed (column, value, emptiness)."""


# -- checks --------------------------------------------------------------------------------------
def check_bias_inputs(
    df: pd.DataFrame,
    facet: str = FACET,
    label: str = LABEL,
    label_values: Sequence[Any] = POSITIVE_LABEL_VALUES,
    where: str = "the data set",
) -> None:
    """Raise :class:`BiasInputError` unless ``df`` can be analysed for bias as configured.

    AWS equivalent: the checks the Clarify job makes before it computes (there they surface as a
    failed processing job minutes later; here at once).
    """
    try:
        local_clarify.check_dataset(df, facet, label, label_values, where)
    except local_clarify.ClarifyError as exc:
        raise BiasInputError(str(exc)) from None


# -- metrics -------------------------------------------------------------------------------------
def facet_metrics(
    df: pd.DataFrame,
    facet: str = FACET,
    label: str = LABEL,
    label_values: Sequence[Any] = POSITIVE_LABEL_VALUES,
    methods: Sequence[str] = METHODS,
) -> list[dict[str, Any]]:
    """smclarify's per-facet-value report: ``[{"value_or_threshold", "metrics": [...]}, ...]``.

    AWS equivalent: the list under ``pre_training_bias_metrics.facets.<facet>`` of the Clarify
    job's ``analysis.json`` (the job calls the same ``bias_report``).
    """
    check_bias_inputs(df, facet, label, label_values)
    try:
        return local_clarify.facet_metrics(df, facet, label, label_values, _methods(methods))
    except local_clarify.ClarifyError as exc:
        raise BiasInputError(str(exc)) from None


def pre_training_bias_report(
    df: pd.DataFrame,
    facet: str = FACET,
    label: str = LABEL,
    label_values: Sequence[Any] = POSITIVE_LABEL_VALUES,
    methods: Sequence[str] = METHODS,
) -> dict[str, Any]:
    """The pre-training bias of ``df`` as a dict shaped like Clarify's ``analysis.json``.

    AWS equivalent: ``SageMakerClarifyProcessor.run_pre_training_bias`` then reading
    ``<output>/analysis.json``: ``{"version", "pre_training_bias_metrics": {"label", "facets":
    {facet: [{"value_or_threshold", "metrics": [{"name", "description", "value"}]}]},
    "label_value_or_threshold"}}``.
    """
    check_bias_inputs(df, facet, label, label_values)
    try:
        return local_clarify.pre_training_report(
            df, [(facet, None)], label, label_values, _methods(methods)
        )
    except local_clarify.ClarifyError as exc:
        raise BiasInputError(str(exc)) from None


def _methods(methods: Sequence[str]) -> list[str]:
    try:
        return local_clarify.check_methods(list(methods))
    except local_clarify.ClarifyError as exc:
        raise BiasInputError(str(exc)) from None


def _as_float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):  # Clarify writes infinities as "Infinity" / "-Infinity"
        return float(value.replace("Infinity", "inf"))
    return float(value)


def metrics_table(analysis: dict[str, Any]) -> pd.DataFrame:
    """``analysis.json`` as a tidy table: one row per (facet, value, metric).

    Columns: facet, value_or_threshold, metric, description, value (float; ``inf`` where Clarify
    writes "Infinity"), error (None unless the metric failed). AWS equivalent: what the Clarify
    report's metric tables show.
    """
    try:
        section = analysis["pre_training_bias_metrics"]
        facets = section["facets"]
    except (KeyError, TypeError):
        raise BiasInputError(
            "not a Clarify analysis: expected the key 'pre_training_bias_metrics' with 'facets'"
        ) from None
    rows = []
    for facet_name, entries in facets.items():
        for entry in entries:
            for metric in entry["metrics"]:
                rows.append({
                    "facet": facet_name,
                    "value_or_threshold": str(entry["value_or_threshold"]),
                    "metric": metric["name"],
                    "description": metric.get("description"),
                    "value": _as_float(metric.get("value")),
                    "error": metric.get("error"),
                })  # fmt: skip
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def metrics_matrix(table: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """The tidy table pivoted: one row per facet value, one column per metric (CI, DPL, ...)."""
    matrix = table.pivot(index="value_or_threshold", columns="metric", values="value")
    columns = [m for m in METHODS if m in matrix.columns] + sorted(
        c for c in matrix.columns if c not in METHODS
    )
    matrix = matrix[columns]
    rows = list(order) if order is not None else list(dict.fromkeys(table["value_or_threshold"]))
    matrix = matrix.reindex([r for r in rows if r in matrix.index])
    matrix.index.name = table["facet"].iloc[0] if len(table) else "value_or_threshold"
    matrix.columns.name = "metric"
    return matrix


def compare(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Tidy tables side by side: one row per (facet value, metric), one value column per name.

    ``compare({"unbalanced": t1, "balanced": t2})``; a value missing in one table is NaN.
    """
    frames = [
        t.set_index(["value_or_threshold", "metric"])["value"].rename(name)
        for name, t in tables.items()
    ]
    out = pd.concat(frames, axis=1).reset_index()
    return out


# -- balancing -----------------------------------------------------------------------------------
def balance(df: pd.DataFrame, by: Sequence[str] | str = (LABEL,), seed: int = 42) -> pd.DataFrame:
    """Sample every group of ``by`` down to the smallest group's size, seeded; index reset.

    ``by=["sentiment"]`` is the course's data set for Autopilot (2,370 rows per class on the
    real data); ``by=["product_category", "sentiment"]`` is its second variant (486 per group).
    Only groups that occur count: a category with no neutral review stays without one (a
    ``UserWarning`` says which). Rows are kept whole; none is invented or repeated. AWS
    equivalent: the course's ``df.groupby(...).apply(lambda x: x.sample(n))`` in the notebook.
    """
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise BiasInputError("balance(by=[]): name the column(s) to balance, e.g. ['sentiment']")
    if not isinstance(df, pd.DataFrame) or len(df) == 0:
        raise BiasInputError("balance: the data set is empty (0 rows): nothing to balance")
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise BiasInputError(
            f"balance(by={keys}): column(s) {missing} do not exist; the columns are "
            f"{list(map(str, df.columns))}"
        )
    na = int(df[keys].isna().any(axis=1).sum())
    if na:
        raise BiasInputError(f"balance(by={keys}): {na} row(s) have no value in {keys}")
    sizes = df.groupby(keys, sort=True).size()
    if len(keys) > 1:
        full = pd.MultiIndex.from_product([sorted(df[k].unique()) for k in keys], names=keys)
        absent = [tuple(x) for x in full.difference(sizes.index)]
        if absent:
            warnings.warn(
                f"balance(by={keys}): {len(absent)} combination(s) have no rows at all and stay "
                f"empty, e.g. {absent[:3]}; the other groups are sampled to {int(sizes.min())}",
                UserWarning,
                stacklevel=2,
            )
    n = int(sizes.min())
    out = df.groupby(keys, sort=True, group_keys=False).sample(n=n, random_state=seed)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def group_counts(df: pd.DataFrame, by: Sequence[str] | str = (LABEL,)) -> dict[str, int]:
    """Rows per group as ``{"-1": n, ...}`` (or ``{"Blouses|1": n}`` for two keys), to record."""
    keys = [by] if isinstance(by, str) else list(by)
    sizes = df.groupby(keys, sort=True).size()
    return {
        "|".join(map(str, k)) if isinstance(k, tuple) else str(k): int(v) for k, v in sizes.items()
    }


# -- the analysis_config.json the SDK writes, and the output files ---------------------------
def analysis_config(
    headers: Sequence[str],
    facet: str = FACET,
    label: str = LABEL,
    label_values: Sequence[Any] = POSITIVE_LABEL_VALUES,
    methods: Sequence[str] = METHODS,
    dataset_type: str = "text/csv",
) -> dict[str, Any]:
    """The ``analysis_config.json`` the sagemaker SDK generates for this pre-training analysis.

    AWS equivalent: ``SageMakerClarifyProcessor.run_pre_training_bias`` builds and uploads the
    same dict (tests compare the two), so the local run records exactly what Clarify was asked.
    """
    return {
        "dataset_type": dataset_type,
        "headers": list(headers),
        "label": label,
        "label_values_or_threshold": list(label_values),
        "facet": [{"name_or_index": facet}],
        "methods": {
            "report": {"name": "report", "title": "Analysis Report"},
            "pre_training_bias": {"methods": list(methods)},
        },
    }
