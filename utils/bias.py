"""Pre-training data bias, computed with SageMaker Clarify's own metrics library (``smclarify``).

The course runs a SageMaker Clarify processing job: facet ``product_category``, label
``sentiment`` with the positive value 1, metrics CI, DPL, KL, JS, LP, TVD and KS. Clarify compares
each value of the facet with all the other rows ("one vs. rest") and writes ``analysis.json``.

The metrics and the ``analysis.json`` format are the local Clarify container's
(:mod:`utils.local.clarify`), which the local backend runs for ``SageMakerClarifyProcessor``'s
processing jobs; this module keeps the course helpers around them.

- ``local``: :func:`run_pre_training_bias` reads the same CSV from the lake, computes the metrics
  in-process with the local Clarify's functions (``smclarify.bias.report.bias_report``) and writes
  ``analysis_config.json`` and ``analysis.json`` to the output prefix, in Clarify's layout. Given a
  ``processor`` (``clarify_processor(lab)``), it runs the SDK's Clarify job on ``lab.session``
  instead, as on aws, which also writes ``report.html`` and ``report.ipynb``.
- ``aws``: the same function builds ``clarify.DataConfig``, ``clarify.BiasConfig`` and a
  ``SageMakerClarifyProcessor`` and calls ``run_pre_training_bias(..., methods=[...])``; the job
  writes ``analysis.json``, which is read back.

:func:`balance` samples the data down as the course does (by sentiment, or by product category x
sentiment), seeded. Bad input (a missing column, a label value not in the data, an empty data
set) raises :class:`BiasInputError` saying what and where.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from utils.errors import LabError
from utils.local import clarify as local_clarify

FACET = "product_category"
LABEL = "sentiment"
POSITIVE_LABEL_VALUES: tuple[Any, ...] = (1,)
METHODS: tuple[str, ...] = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS")
ANALYSIS_VERSION = local_clarify.ANALYSIS_VERSION
REPORT_PREFIX = "bias/generated_bias_report/"  # + "unbalanced" / "balanced", as in the course
BALANCED_KEY = "data/balanced/womens_clothing_ecommerce_reviews_balanced.csv"
BALANCED_COLUMNS: tuple[str, ...] = ("sentiment", "review_body", "product_category")
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


def report_uri(lab: Any, name: str) -> str:
    """``s3://<bucket>/bias/generated_bias_report/<name>`` (no trailing slash, as the course)."""
    return lab.s3_uri(f"{REPORT_PREFIX}{name}")


def _write_json(lab: Any, data: dict[str, Any], uri: str) -> str:
    import io

    body = local_clarify.to_json(data).encode("utf-8")
    lab.wr.s3.upload(local_file=io.BytesIO(body), path=uri)
    return uri


def write_analysis(lab: Any, analysis: dict[str, Any], output_uri: str) -> str:
    """Write ``analysis`` to ``<output_uri>/analysis.json``; returns that URI.

    AWS equivalent: the Clarify job's ``ProcessingOutput`` (``analysis_result``) upload.
    """
    return _write_json(lab, analysis, f"{output_uri.rstrip('/')}/analysis.json")


def read_analysis(lab: Any, output_uri: str) -> dict[str, Any]:
    """Read ``<output_uri>/analysis.json`` (local lake or S3).

    AWS equivalent: ``sagemaker.s3.S3Downloader.read_file`` of the job's analysis.json.
    """
    import io

    uri = f"{output_uri.rstrip('/')}/analysis.json"
    if not lab.wr.s3.does_object_exist(uri):
        raise BiasInputError(f"no analysis.json at {uri}: the bias analysis has not written it")
    buffer = io.BytesIO()
    lab.wr.s3.download(path=uri, local_file=buffer)
    return json.loads(buffer.getvalue().decode("utf-8"))


def write_balanced(lab: Any, df: pd.DataFrame, key: str = BALANCED_KEY) -> str:
    """Write the balanced reviews (sentiment, review_body, product_category) as a CSV, no index.

    AWS equivalent: ``wr.s3.to_csv(df, 's3://<bucket>/data/balanced/...csv', index=False)``.
    """
    missing = [c for c in BALANCED_COLUMNS if c not in df.columns]
    if missing:
        raise BiasInputError(f"write_balanced: the data has no column(s) {missing}")
    uri = lab.s3_uri(key)
    lab.wr.s3.to_csv(df=df[list(BALANCED_COLUMNS)], path=uri, index=False)
    return uri


# -- one call, two backends ------------------------------------------------------------------
def _role(lab: Any, role: str | None) -> str:
    """``role``, else the lab's SageMaker execution role (``lab.role``: ROLE / ``$LAB_ROLE``, else
    ``get_execution_role()``; a ConfigError saying how to set one if there is none)."""
    return role or lab.role


def clarify_processor(
    lab: Any,
    role: str | None = None,
    instance_type: str = INSTANCE_TYPE,
    instance_count: int = 1,
    sagemaker_session: Any = None,
) -> Any:
    """A ``sagemaker.clarify.SageMakerClarifyProcessor`` on ``lab.session`` (both backends).

    AWS equivalent: ``clarify.SageMakerClarifyProcessor(role=role, instance_count=1,
    instance_type='ml.m5.large', sagemaker_session=sess)`` as in the course.
    """
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker import clarify

    return clarify.SageMakerClarifyProcessor(
        role=_role(lab, role),
        instance_count=instance_count,
        instance_type=instance_type,
        sagemaker_session=sagemaker_session or lab.session,
    )


def run_clarify_job(
    lab: Any,
    data_uri: str,
    output_uri: str,
    headers: Sequence[str],
    facet: str = FACET,
    label: str = LABEL,
    label_values: Sequence[Any] = POSITIVE_LABEL_VALUES,
    methods: Sequence[str] = METHODS,
    instance_type: str = INSTANCE_TYPE,
    wait: bool = True,
    logs: bool = False,
    job_name: str | None = None,
    processor: Any = None,
) -> Any:
    """Start a SageMaker Clarify pre-training bias job; returns the processor (``latest_job``).

    AWS equivalent, as in the course: ``clarify.DataConfig(s3_data_input_path, s3_output_path,
    label, headers, dataset_type='text/csv')``, ``clarify.BiasConfig(label_values_or_threshold,
    facet_name)``, ``processor.run_pre_training_bias(data_config, data_bias_config, methods)``.
    Billable: one ml.m5.large processing job (about 3-4 minutes).
    """
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker import clarify

    headers = list(headers)
    for role, name in (("facet", facet), ("label", label)):
        if name not in headers:
            raise BiasInputError(
                f"the {role} column {name!r} is not among the headers {headers} of {data_uri}"
            )
    processor = processor or clarify_processor(lab, instance_type=instance_type)
    data_config = clarify.DataConfig(
        s3_data_input_path=data_uri,
        s3_output_path=output_uri,
        label=label,
        headers=headers,
        dataset_type="text/csv",
    )
    bias_config = clarify.BiasConfig(label_values_or_threshold=list(label_values), facet_name=facet)
    processor.run_pre_training_bias(
        data_config=data_config,
        data_bias_config=bias_config,
        methods=list(methods),
        wait=wait,
        logs=logs,
        job_name=job_name,
    )
    return processor


def run_pre_training_bias(
    lab: Any,
    data_uri: str,
    output_uri: str,
    facet: str = FACET,
    label: str = LABEL,
    label_values: Sequence[Any] = POSITIVE_LABEL_VALUES,
    methods: Sequence[str] = METHODS,
    instance_type: str = INSTANCE_TYPE,
    logs: bool = False,
    job_name: str | None = None,
    processor: Any = None,
) -> dict[str, Any]:
    """Measure the pre-training bias of the CSV at ``data_uri``; ``analysis.json`` goes to
    ``output_uri``; returns its content.

    ``local`` without a ``processor``: reads the CSV with ``wr.s3.read_csv`` and computes with
    the local Clarify's smclarify functions in-process, then writes ``analysis_config.json`` and
    ``analysis.json`` (``instance_type``, ``logs`` and ``job_name`` are for the job and are not
    used). ``aws``, or ``local`` with a ``processor`` (:func:`clarify_processor`): runs the SDK's
    SageMaker Clarify processing job (:func:`run_clarify_job`) on ``lab.session``, waits for it,
    and reads ``analysis.json``; the job also writes ``report.html`` and ``report.ipynb``.
    AWS equivalent: ``SageMakerClarifyProcessor.run_pre_training_bias``.
    """
    df = lab.wr.s3.read_csv(data_uri)
    check_bias_inputs(df, facet, label, label_values, where=data_uri)
    if lab.is_local and processor is None:
        config = analysis_config(list(df.columns), facet, label, label_values, methods)
        _write_json(lab, config, f"{output_uri.rstrip('/')}/analysis_config.json")
        analysis = pre_training_bias_report(df, facet, label, label_values, methods)
        write_analysis(lab, analysis, output_uri)
        return analysis
    run_clarify_job(lab, data_uri, output_uri, list(df.columns), facet, label, label_values,
                    methods, instance_type=instance_type, wait=True, logs=logs,
                    job_name=job_name, processor=processor)  # fmt: skip
    return read_analysis(lab, output_uri)
