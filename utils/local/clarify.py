"""SageMaker Clarify's processing container on the local backend: pre-training bias, with smclarify.

AWS equivalent: the ``sagemaker-clarify-processing`` image that
``sagemaker.clarify.SageMakerClarifyProcessor`` runs as a processing job. The SDK uploads the
analysis config and declares the job's inputs and output; the container reads

- ``/opt/ml/processing/input/config/analysis_config.json`` (the ``analysis_config`` input),
- the dataset under ``/opt/ml/processing/input/data`` (the ``dataset`` input: every file under
  the S3 prefix, ``text/csv``; the config's ``headers`` name the columns, and a first row equal
  to them is a header row and skipped; without ``headers`` the first row is the header),

computes the requested pre-training bias metrics (``"all"`` or a list of CDDL, CI, DPL, JS, KL,
KS, LP, TVD) with ``smclarify`` (the library inside Clarify's container) for every value of each
facet, one value against all the others (or for the facet values the config names), and writes to
``/opt/ml/processing/output`` (the ``analysis_result`` output, uploaded to the DataConfig's
``s3_output_path``) what Clarify writes:

- ``analysis.json``: ``{"version", "pre_training_bias_metrics": {"label", "facets": {facet:
  [{"value_or_threshold", "metrics": [{"name", "description", "value"[, "error"]}]}]},
  "label_value_or_threshold"}}``, infinities as ``"Infinity"``, NaN as ``null``;
- ``analysis_config.json``: the config the job ran;
- ``report.ipynb`` and ``report.html`` (when the config asks for the report, as the SDK always
  does): the data, the label, the facet, and a table of each metric per facet value with its
  description. **``report.pdf`` is not written locally** (the Clarify container renders it with
  a headless browser); read ``report.html`` or ``report.ipynb`` instead.

What the local Clarify does not run fails the job with a reason naming it: post-training bias,
SHAP, PDP and time series explanations, a model endpoint (``predictor``), datasets other than
``text/csv``. A label or facet column that is not in the data, an empty dataset or an unreadable
file fails the job with a reason naming the column or the file, as Clarify's container does
(``ClientError: ...``).

The same functions compute the metrics for :mod:`utils.bias` in-process (:func:`facet_metrics`,
:func:`pre_training_report`, :func:`check_dataset`, :func:`to_json`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

CONFIG_INPUT = "/opt/ml/processing/input/config"
DATA_INPUT = "/opt/ml/processing/input/data"
OUTPUT = "/opt/ml/processing/output"
CONFIG_FILE = "analysis_config.json"
ANALYSIS_VERSION = "1.0"
DATASET_TYPES = ("text/csv",)
PRE_TRAINING_METHODS: tuple[str, ...] = ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
# what each pre-training metric measures (AWS's "Pre-training Data Bias" pages), for the report
METRIC_NOTES = {
    "CI": "Class Imbalance: (n_a - n_d) / (n_a + n_d), rows outside the facet value against "
          "rows with it. Range -1 to 1; 0 is balanced, above 0 the facet value is under-represented.",
    "DPL": "Difference in Positive Proportions in Labels: q_a - q_d, the positive share outside "
           "the facet value minus with it. Range -1 to 1; 0 is parity.",
    "KL": "Kullback-Leibler divergence KL(P_a, P_d) of the label distribution outside the facet "
          "value from the one with it. 0 to infinity; 0 is the same distribution.",
    "JS": "Jensen-Shannon divergence between the two label distributions. 0 to ln(2); 0 is the "
          "same distribution.",
    "LP": "L-p norm (p=2) of the difference of the two label distributions. 0 to sqrt(2); 0 is "
          "the same distribution.",
    "TVD": "Total Variation Distance: half the L1 norm of the difference of the two label "
           "distributions. 0 to 1; 0 is the same distribution.",
    "KS": "Kolmogorov-Smirnov distance: the largest difference of the two label distributions "
          "at any label value. 0 to 1; 0 is the same distribution.",
    "CDDL": "Conditional Demographic Disparity in Labels: the demographic disparity averaged over "
            "the groups of the config's group_variable. Range -1 to 1; 0 is parity.",
}  # fmt: skip
# what the local Clarify does not run: methods, and config keys that need a model or other data
METHODS_NOT_LOCAL = {
    "post_training_bias": "post-training bias metrics (they need a model's predictions)",
    "shap": "SHAP explanations (they need a model endpoint)",
    "pdp": "partial dependence plots (they need a model endpoint)",
    "asymmetric_shapley_value": "asymmetric Shapley values (time series explanations)",
}
KEYS_NOT_LOCAL = {
    "predictor": "a model endpoint (ModelConfig)",
    "probability_threshold": "a probability threshold for a model's predictions",
    "predicted_label": "a predicted label column (post-training bias)",
    "predicted_label_dataset_uri": "a predicted label dataset",
    "predicted_label_headers": "a predicted label dataset",
    "facet_dataset_uri": "a separate facet dataset",
    "facet_headers": "a separate facet dataset",
    "segment_config": "segmentation (SegmentationConfig)",
    "time_series_data_config": "time series data (TimeSeriesDataConfig)",
    "dataset_uri": "a dataset URI in the config (the local job reads its 'dataset' input)",
    "features": "a JSON features expression (the local Clarify reads text/csv)",
}
KEYS_LOCAL = {"version", "dataset_type", "headers", "label", "label_values_or_threshold",
              "facet", "group_variable", "methods", "excluded_columns",
              "joinsource_name_or_index"}  # fmt: skip


class ClarifyError(ValueError):
    """The analysis config or the dataset cannot be analysed: what the job's failure says."""


# -- the data checks (shared with utils.bias) ------------------------------------------------
def matches(series: pd.Series, value: Any) -> pd.Series:
    """Rows equal to ``value``, tolerant of 1 vs '1' vs 1.0 (Clarify converts the same way)."""
    hit = series == value
    if not hit.any():
        hit = series.astype(str) == str(value)
    if not hit.any():
        try:
            hit = pd.to_numeric(series, errors="coerce") == float(value)
        except (TypeError, ValueError):
            pass
    return hit.fillna(False).astype(bool)


def check_dataset(df: pd.DataFrame, facet: str, label: str, label_values: Sequence[Any],
                  where: str = "the data set") -> None:  # fmt: skip
    """Raise :class:`ClarifyError` unless ``df`` can be analysed for bias as configured.

    AWS equivalent: the checks the Clarify container makes before it computes (a missing
    column, no rows, missing values, a positive label value absent, a facet with one value).
    """
    if not isinstance(df, pd.DataFrame):
        raise ClarifyError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ClarifyError(f"{where} is empty (0 rows): there is nothing to measure bias on")
    columns = list(map(str, df.columns))
    for role, name in (("facet", facet), ("label", label)):
        if name not in df.columns:
            raise ClarifyError(
                f"{where}: the {role} column {name!r} does not exist; the columns are {columns}"
            )
    if facet == label:
        raise ClarifyError(f"{where}: the facet and the label are the same column {facet!r}")
    for role, name in (("facet", facet), ("label", label)):
        missing = int(df[name].isna().sum())
        if missing:
            raise ClarifyError(
                f"{where}: {missing} row(s) have no value in the {role} column {name!r}; "
                "drop or fill them first"
            )
    values = list(label_values) if not isinstance(label_values, str) else [label_values]
    if not values:
        raise ClarifyError("label_values is empty: give the positive label value(s), e.g. [1]")
    present = sorted(map(str, pd.unique(df[label])))
    absent = [v for v in values if not matches(df[label], v).any()]
    if absent:
        raise ClarifyError(
            f"{where}: the positive label value(s) {absent} do not occur in the label column "
            f"{label!r}; its values are {present}"
        )
    if df[facet].nunique() < 2:
        raise ClarifyError(
            f"{where}: the facet column {facet!r} has a single value "
            f"{df[facet].iloc[0]!r}; bias compares each value with the others, so it needs two"
        )


def check_methods(methods: str | Sequence[str]) -> list[str]:
    """``"all"`` -> ``["all"]`` (smclarify's word for every metric); a list is checked."""
    if methods == "all":
        return ["all"]
    if isinstance(methods, str) or not methods:
        raise ClarifyError(f"methods {methods!r}: give 'all' or a list of pre-training bias "
                           f"methods from {list(PRE_TRAINING_METHODS)}")  # fmt: skip
    unknown = sorted(set(methods) - set(PRE_TRAINING_METHODS))
    if unknown:
        raise ClarifyError(f"methods {unknown}: pre-training bias methods are "
                           f"{list(PRE_TRAINING_METHODS)}")  # fmt: skip
    return list(methods)


# -- the metrics -------------------------------------------------------------------------------
def _label_series(df: pd.DataFrame, label: str) -> pd.Series:
    """The label as categories: Clarify's rule would call a small integer sample continuous."""
    return df[label].astype("category")


def facet_metrics(df: pd.DataFrame, facet: str, label: str, label_values: Sequence[Any],
                  methods: str | Sequence[str] = "all",
                  facet_values: Sequence[Any] | None = None,
                  group_variable: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """smclarify's per-facet-value report: ``[{"value_or_threshold", "metrics": [...]}, ...]``.

    AWS equivalent: the list under ``pre_training_bias_metrics.facets.<facet>`` of the Clarify
    job's ``analysis.json`` (the container calls the same ``bias_report``). Without
    ``facet_values`` each value of the facet is compared with all the others.
    """
    from smclarify.bias import report

    label_series = _label_series(df, label)
    frame = df.copy()
    frame[label] = label_series
    return report.bias_report(
        frame,
        report.FacetColumn(facet, list(facet_values) if facet_values else None),
        report.LabelColumn(label, label_series, list(label_values)),
        stage_type=report.StageType.PRE_TRAINING,
        metrics=check_methods(methods),
        group_variable=df[group_variable] if group_variable else None,
    )


def pre_training_report(df: pd.DataFrame, facets: Sequence[tuple[str, Sequence[Any] | None]],
                        label: str, label_values: Sequence[Any],
                        methods: str | Sequence[str] = "all",
                        group_variable: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The pre-training bias of ``df`` as Clarify's ``analysis.json`` dict.

    ``facets`` is ``[(facet column, facet values or None), ...]``. AWS equivalent: what the
    Clarify job writes to ``<s3_output_path>/analysis.json``.
    """
    from smclarify.bias import report

    return {
        "version": ANALYSIS_VERSION,
        "pre_training_bias_metrics": {
            "label": label,
            "facets": {
                name: facet_metrics(df, name, label, label_values, methods, values, group_variable)
                for name, values in facets
            },
            "label_value_or_threshold": report.label_value_or_threshold(
                _label_series(df, label), list(label_values)
            ),
        },
    }


def json_safe(value: Any) -> Any:
    """NaN -> null and infinities -> "Infinity" strings, as Clarify writes them."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def to_json(data: dict[str, Any]) -> str:
    """``analysis.json``'s text: valid JSON (no NaN), indented as Clarify writes it."""
    return json.dumps(json_safe(data), indent=4, allow_nan=False)


# -- the container: the analysis config --------------------------------------------------------
@dataclass
class Analysis:
    """What the analysis config asks for, checked."""

    config: dict[str, Any]
    headers: list[str] | None
    label: str | int
    label_values: list[Any]
    facets: list[tuple[str | int, list[Any] | None]]
    methods: str | list[str]
    group_variable: str | int | None = None
    report: dict[str, str] | None = None
    columns: list[str] = field(default_factory=list)

    def column(self, name_or_index: str | int, role: str) -> str:
        """A column named in the config (a name, or a 0-based index into the columns)."""
        if isinstance(name_or_index, bool) or not isinstance(name_or_index, str | int):
            raise ClarifyError(f"the {role} {name_or_index!r}: give a column name or index")
        if isinstance(name_or_index, int):
            if not 0 <= name_or_index < len(self.columns):
                raise ClarifyError(f"the {role} column index {name_or_index} is out of range: "
                                   f"the dataset has {len(self.columns)} columns "
                                   f"{self.columns}")  # fmt: skip
            return self.columns[name_or_index]
        return name_or_index


def read_config(folder: Path) -> dict[str, Any]:
    """The analysis config at ``<folder>/analysis_config.json`` (or the one JSON file there)."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        found = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        if len(found) != 1:
            raise ClarifyError(f"no {CONFIG_FILE} in the 'analysis_config' input ({CONFIG_INPUT}"
                               f"); found {[p.name for p in found]}")  # fmt: skip
        path = found[0]
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClarifyError(f"the analysis config {path.name} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ClarifyError(f"the analysis config {path.name} is not a JSON object")
    return config


def parse_config(config: dict[str, Any]) -> Analysis:
    """Check the analysis config: what the local Clarify runs, or a reason naming what not."""
    methods = config.get("methods")
    if not isinstance(methods, dict) or not methods:
        raise ClarifyError("the analysis config has no 'methods': give pre_training_bias")
    for key, what in METHODS_NOT_LOCAL.items():
        if key in methods:
            raise ClarifyError(f"methods.{key}: the local Clarify does not run {what}; it "
                               "computes pre-training bias (run_pre_training_bias). Run this "
                               "analysis on BACKEND='aws'")  # fmt: skip
    other = sorted(set(methods) - {"report", "pre_training_bias"})
    if other:
        raise ClarifyError(f"methods {other}: not analysis methods the local Clarify knows; "
                           "it runs pre_training_bias (and writes the report)")  # fmt: skip
    for key, what in KEYS_NOT_LOCAL.items():
        if key in config:
            raise ClarifyError(f"{key}: the local Clarify does not use {what}; it computes "
                               "pre-training bias on the 'dataset' input. Run this analysis on "
                               "BACKEND='aws'")  # fmt: skip
    unknown = sorted(set(config) - KEYS_LOCAL - set(KEYS_NOT_LOCAL))
    if unknown:
        raise ClarifyError(f"{unknown}: not keys of Clarify's analysis config (version 1.0)")
    if str(config.get("version", ANALYSIS_VERSION)) != ANALYSIS_VERSION:
        raise ClarifyError(f"version {config['version']!r}: the analysis config version is "
                           f"{ANALYSIS_VERSION}")  # fmt: skip
    dataset_type = config.get("dataset_type")
    if dataset_type not in DATASET_TYPES:
        raise ClarifyError(f"dataset_type {dataset_type!r}: the local Clarify reads "
                           f"{' or '.join(DATASET_TYPES)}")  # fmt: skip
    pre = methods.get("pre_training_bias")
    if not isinstance(pre, dict) or "methods" not in pre:
        raise ClarifyError("methods.pre_training_bias.methods is missing: give 'all' or a list "
                           "such as ['CI', 'DPL']")  # fmt: skip
    chosen = check_methods(pre["methods"])
    headers = config.get("headers")
    if headers is not None and (not isinstance(headers, list) or not headers
                                or len(set(map(str, headers))) != len(headers)):  # fmt: skip
        raise ClarifyError(f"headers {headers!r}: give the dataset's column names, each once")
    if "label" not in config:
        raise ClarifyError("the analysis config has no 'label': bias metrics need the label "
                           "column (DataConfig(label=...))")  # fmt: skip
    values = config.get("label_values_or_threshold")
    if not isinstance(values, list) or not values:
        raise ClarifyError(f"label_values_or_threshold {values!r}: give the positive label "
                           "value(s) as a list, e.g. [1]")  # fmt: skip
    facets = config.get("facet")
    if not isinstance(facets, list) or not facets:
        raise ClarifyError(f"facet {facets!r}: give the facet(s) as [{{'name_or_index': ...}}]")
    parsed = []
    for item in facets:
        if not isinstance(item, dict) or "name_or_index" not in item:
            raise ClarifyError(f"facet {item!r}: each facet needs 'name_or_index'")
        chosen_values = item.get("value_or_threshold")
        if chosen_values is not None and not isinstance(chosen_values, list):
            chosen_values = [chosen_values]
        parsed.append((item["name_or_index"], chosen_values))
    report = methods.get("report")
    if report is not None:
        report = {"name": str(report.get("name") or "report"),
                  "title": str(report.get("title") or "Analysis Report")}  # fmt: skip
    return Analysis(config=config, headers=[str(h) for h in headers] if headers else None,
                    label=config["label"], label_values=values, facets=parsed,
                    methods="all" if chosen == ["all"] else chosen,
                    group_variable=config.get("group_variable"), report=report)  # fmt: skip


# -- the container: the dataset ----------------------------------------------------------------
def dataset_files(folder: Path) -> list[Path]:
    """Every file of the 'dataset' input, in key order (Clarify reads the whole prefix)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _read_csv(path: Path, analysis: Analysis, where: str) -> pd.DataFrame | None:
    try:
        first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return None  # an empty object adds no rows
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise ClarifyError(f"{where}: cannot read the file as text/csv ({exc})") from None
    row = list(first.iloc[0])
    try:
        if analysis.headers is not None:
            if len(row) != len(analysis.headers):
                raise ClarifyError(f"{where}: the file has {len(row)} columns, the config's "
                                   f"headers name {len(analysis.headers)}: "
                                   f"{analysis.headers}")  # fmt: skip
            header_row = row == analysis.headers
            df = pd.read_csv(path, header=0 if header_row else None, names=analysis.headers)
        elif isinstance(analysis.label, str):
            df = pd.read_csv(path)  # no headers in the config: the first row is the header
        else:
            df = pd.read_csv(path, header=None)
            df.columns = [f"column_{i}" for i in range(df.shape[1])]
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ClarifyError(f"{where}: cannot read the file as text/csv ({exc})") from None
    return df


def read_dataset(files: Sequence[Path], analysis: Analysis,
                 name_of: Any = str) -> pd.DataFrame:  # fmt: skip
    """The dataset as one DataFrame; ``name_of(path)`` names a file in errors (its S3 URI)."""
    if not files:
        raise ClarifyError(f"the 'dataset' input ({DATA_INPUT}) holds no files")
    frames = []
    for path in files:
        df = _read_csv(path, analysis, name_of(path))
        if df is None:
            continue
        if frames and list(df.columns) != list(frames[0].columns):
            raise ClarifyError(f"{name_of(path)}: its columns {list(df.columns)} differ from "
                               f"those of {name_of(files[0])}: {list(frames[0].columns)}")  # fmt: skip
        frames.append(df)
    if not frames:
        raise ClarifyError(f"the dataset is empty: its {len(files)} file(s) hold no rows "
                           f"({name_of(files[0])})")  # fmt: skip
    df = pd.concat(frames, ignore_index=True)
    analysis.columns = list(map(str, df.columns))
    return df


# -- the container: the report -----------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return f"{value:.4f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def _overview(section: dict[str, Any], df: pd.DataFrame, positive: pd.Series, dataset: str,
              title: str) -> str:  # fmt: skip
    import smclarify

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    version = getattr(smclarify, "__version__", "")
    columns = ", ".join(f"`{c}`" for c in df.columns)
    facets = ", ".join(f"`{f}`" for f in section["facets"])
    return (
        f"# {title}\n\nAmazon SageMaker Clarify: pre-training bias, computed by the local "
        f"backend's Clarify with smclarify {version} on {stamp}.\n\n"
        f"- **Dataset**: `{dataset}`: {len(df):,} rows, {df.shape[1]} columns ({columns})\n"
        f"- **Label**: `{section['label']}`; positive outcome: "
        f"`{section['label_value_or_threshold']}` ({int(positive.sum()):,} rows, "
        f"{positive.mean():.1%})\n"
        f"- **Facets**: {facets}; each value is compared with all the other rows (one vs. "
        "rest)\n\nEach metric compares the rows with the facet value (*d*) with all the "
        "others (*a*)."
    )


def _facet_section(facet: str, entries: list[dict[str, Any]], df: pd.DataFrame,
                   positive: pd.Series, label: str) -> list[str]:  # fmt: skip
    """The markdown of one facet: a table of every value's metrics, then one table a value."""
    values = df[facet].astype(str)
    rows = []
    for entry in entries:
        inside = values.isin(str(entry["value_or_threshold"]).split(","))
        share = f"{positive[inside].mean():.1%}" if inside.any() else "n/a"
        metrics = [_fmt(m.get("value")) for m in entry["metrics"]]
        rows.append([entry["value_or_threshold"], int(inside.sum()), share, *metrics])
    names = [m["name"] for m in entries[0]["metrics"]] if entries else []
    text = (
        f"## Pre-training bias: facet `{facet}`\n\n{values.nunique()} values; one row per "
        "facet value, one column per metric.\n\n"
        + _table(["Facet value", "Rows", f"Positive {label}", *names], rows)
    )
    errors = [(e["value_or_threshold"], m["name"], m["error"])
              for e in entries for m in e["metrics"] if m.get("error")]  # fmt: skip
    if errors:
        text += "\n\n**Metrics that could not be computed**\n\n"
        text += _table(["Facet value", "Metric", "Error"], errors)
    out = [text]
    for entry in entries:
        rows = [[m["name"], m["description"],
                 f"error: {m['error']}" if m.get("error") else _fmt(m.get("value"))]
                for m in entry["metrics"]]  # fmt: skip
        out.append(f"### `{facet}` = `{entry['value_or_threshold']}`\n\n"
                   + _table(["Metric", "Description", "Value"], rows))  # fmt: skip
    return out


def report_notebook(analysis: dict[str, Any], job: Analysis, df: pd.DataFrame,
                    dataset: str, title: str = "Analysis Report") -> Any:  # fmt: skip
    """Clarify's report as a notebook (nbformat): the data, the facet, each metric per value."""
    from nbformat import v4

    section = analysis["pre_training_bias_metrics"]
    label = section["label"]
    positive = matches_any(df[label], job.label_values)
    described = {m["name"]: m["description"] for entries in section["facets"].values()
                 for e in entries for m in e["metrics"]}  # fmt: skip
    glossary = [[n, described[n], METRIC_NOTES.get(n, "")] for n in sorted(described)]
    texts = [
        _overview(section, df, positive, dataset, title),
        "## The metrics\n\n" + _table(["Metric", "Description", "What it measures"], glossary),
    ]
    for facet, entries in section["facets"].items():
        texts += _facet_section(facet, entries, df, positive, label)
    texts.append("## Files\n\n`analysis.json` holds these numbers; `analysis_config.json` the "
                 "configuration the job ran. The local Clarify writes no `report.pdf`.")  # fmt: skip
    cells = [v4.new_markdown_cell(text) for text in texts]
    return v4.new_notebook(cells=cells, metadata={"title": title})


def matches_any(series: pd.Series, values: Sequence[Any]) -> pd.Series:
    """Rows whose value is one of ``values`` (the positive label values)."""
    hit = pd.Series(False, index=series.index)
    for value in values:
        hit |= matches(series, value)
    return hit


def write_report(notebook: Any, folder: Path, name: str = "report") -> list[Path]:
    """``<name>.ipynb`` and ``<name>.html`` (nbconvert) in ``folder``."""
    import nbformat
    from nbconvert import HTMLExporter

    ipynb, html = folder / f"{name}.ipynb", folder / f"{name}.html"
    nbformat.validate(notebook)
    nbformat.write(notebook, str(ipynb))
    body, _ = HTMLExporter().from_notebook_node(notebook)
    html.write_text(body, encoding="utf-8")
    return [ipynb, html]


# -- the container's entry point ----------------------------------------------------------------
def _source_uri(box: Any, path: Path) -> str:
    """The S3 URI a downloaded input file came from (what a failure names)."""
    for item in box.record.get("ProcessingInputs") or []:
        source = item.get("S3Input") or {}
        local = box.path(source.get("LocalPath", "/nonexistent"))
        if local == path or local in path.parents:
            uri = source["S3Uri"]
            if local == path or box.lake.path_for(uri).is_file():
                return uri
            rel = path.relative_to(local).as_posix()
            joined = f"{uri.rstrip('/')}/{rel}"
            return joined if box.lake.path_for(joined).is_file() else f"{uri}{rel}"
    return str(path)


def process(box: Any) -> None:
    """Run the Clarify container's pre-training bias analysis in ``box``, the job's container.

    AWS equivalent: the ``sagemaker-clarify-processing`` image's entry point.
    """
    out = box.path(OUTPUT)
    out.mkdir(parents=True, exist_ok=True)
    try:
        box.log(f"Reading the analysis config from {CONFIG_INPUT}")
        config = read_config(box.path(CONFIG_INPUT))
        job = parse_config(config)
        files = dataset_files(box.path(DATA_INPUT))
        dataset = _source_uri(box, box.path(DATA_INPUT)) if files else DATA_INPUT
        box.log(f"Reading the dataset ({config['dataset_type']}): {len(files)} file(s) from "
                f"{dataset}")  # fmt: skip
        df = read_dataset(files, job, lambda p: _source_uri(box, p))
        box.log(f"Dataset: {len(df):,} rows, columns {list(df.columns)}")
        box.check_stop()
        label = job.column(job.label, "label")
        facets = [(job.column(name, "facet"), values) for name, values in job.facets]
        group = job.column(job.group_variable, "group_variable") if job.group_variable else None
        for facet, _ in facets:
            check_dataset(df, facet, label, job.label_values, where=dataset)
        if group is not None and group not in df.columns:
            raise ClarifyError(f"{dataset}: the group_variable column {group!r} does not exist; "
                               f"the columns are {list(map(str, df.columns))}")  # fmt: skip
        box.log(f"Computing pre-training bias {job.methods} for label {label!r} = "
                f"{job.label_values}, facet(s) {[f for f, _ in facets]}")  # fmt: skip
        analysis = pre_training_report(df, facets, label, job.label_values, job.methods, group)
    except ClarifyError as exc:
        failure = box.path("/opt/ml/output/failure")
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(f"ClientError: {exc}")
        box.log(f"ERROR: {exc}")
        raise
    box.check_stop()
    (out / "analysis.json").write_text(to_json(analysis), encoding="utf-8")
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=4), encoding="utf-8")
    box.log(f"Wrote {OUTPUT}/analysis.json and {OUTPUT}/{CONFIG_FILE}")
    if job.report:
        notebook = report_notebook(analysis, job, df, dataset, job.report["title"])
        written = write_report(notebook, out, job.report["name"])
        box.log(f"Wrote the report: {', '.join(p.name for p in written)} (report.pdf is not "
                "written by the local Clarify)")  # fmt: skip
    for facet, entries in analysis["pre_training_bias_metrics"]["facets"].items():
        for entry in entries:
            values = ", ".join(f"{m['name']}={_fmt(m.get('value'))}" for m in entry["metrics"])
            box.log(f"{facet}={entry['value_or_threshold']}: {values}")
