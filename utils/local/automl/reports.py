"""The reports an Autopilot job writes: data exploration, candidate definitions, explainability.

AWS equivalent: ``SageMakerAutopilotDataExplorationNotebook.ipynb`` and
``SageMakerAutopilotCandidateDefinitionNotebook.ipynb`` (``AutoMLJobArtifacts``), the
explainability report under ``documentation/explainability/output`` and the model insights
report (``CandidateArtifactLocations``). Each report is a notebook whose cells already hold their
outputs (open it in Jupyter, nothing to run) and an HTML page with the same content.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from utils.local.automl import metrics
from utils.local.automl.data import Dataset

SAMPLE_ROWS = 5000

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;max-width:72em;
color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}h1{font-size:1.6em}
h2{font-size:1.25em;margin-top:1.6em}code{background:#f5f5f5;padding:0 .2em}.muted{color:#666}
.pos{color:#0a6b2d}.neg{color:#a3161a}
"""


class Report:
    """A report built section by section, written as a notebook and as HTML."""

    def __init__(self, title: str, intro: str) -> None:
        self.title = title
        self.parts: list[tuple[str, str]] = [("md", f"# {title}\n\n{intro}")]

    def markdown(self, text: str) -> None:
        self.parts.append(("md", text))

    def table(self, frame: pd.DataFrame, caption: str = "") -> None:
        if caption:
            self.parts.append(("md", caption))
        self.parts.append(("html", frame.to_html(index=False, border=0, escape=True)))

    def code(self, source: str) -> None:
        self.parts.append(("code", source))

    def notebook(self) -> bytes:
        """The report as an nbformat 4 notebook whose cells hold their outputs."""
        cells = []
        for kind, content in self.parts:
            if kind == "md":
                cells.append({"cell_type": "markdown", "metadata": {}, "source": content})
            elif kind == "code":
                cells.append({"cell_type": "code", "execution_count": None, "metadata": {},
                              "outputs": [], "source": content})  # fmt: skip
            else:
                cells.append({"cell_type": "code", "execution_count": None, "metadata": {},
                              "source": "# (table computed by the AutoML job)",
                              "outputs": [{"output_type": "display_data", "metadata": {},
                                           "data": {"text/html": content,
                                                    "text/plain": "(table)"}}]})  # fmt: skip
        nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                          "language": "python"},
                           "language_info": {"name": "python"}}}  # fmt: skip
        for i, cell in enumerate(nb["cells"]):
            cell["id"] = f"cell-{i}"
        return (json.dumps(nb, indent=1) + "\n").encode("utf-8")

    def html(self) -> bytes:
        body = []
        for kind, content in self.parts:
            if kind == "md":
                body.append(_md_to_html(content))
            elif kind == "code":
                body.append(f"<pre><code>{html.escape(content)}</code></pre>")
            else:
                body.append(content)
        page = (f"<!doctype html><html><head><meta charset='utf-8'><title>"
                f"{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
                + "\n".join(body) + "</body></html>")  # fmt: skip
        return page.encode("utf-8")


def _md_to_html(text: str) -> str:
    """A small Markdown subset: headings, bullet lists, paragraphs, `code`, **bold**."""
    import re

    out, items = [], []

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for para in text.split("\n\n"):
        for line in para.splitlines():
            if line.startswith("- "):
                items.append(line[2:])
                continue
            flush()
            m = re.match(r"^(#{1,4}) (.*)", line)
            if m:
                level = len(m.group(1))
                out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
            elif line.strip():
                out.append(f"<p>{inline(line)}</p>")
        flush()
    return "\n".join(out)


# -- data exploration -------------------------------------------------------------------------
def prediction_power(ds: Dataset, seed: int = 0) -> pd.DataFrame:
    """Each column's prediction power: how well a quick model on that column alone predicts.

    Classification: 3-fold accuracy above the majority class, scaled to 0..1; regression: the
    R² of that model, floored at 0. Text columns use word TF-IDF + a linear model, the others
    a depth-4 decision tree. At most 5,000 rows are used.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    frame = ds.frame
    y = ds.y
    if len(frame) > SAMPLE_ROWS:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(frame), SAMPLE_ROWS, replace=False))
        frame, y = frame.iloc[rows].reset_index(drop=True), y[rows]
    rows_out = []
    if ds.is_classification:
        k = int(max(2, min(3, np.bincount(y).min())))
        cv = StratifiedKFold(k, shuffle=True, random_state=seed)
        majority = np.bincount(y).max() / len(y)
    else:
        cv = KFold(3, shuffle=True, random_state=seed)
    for col, kind in ds.column_types.items():
        if kind == "text":
            X = frame[col].fillna("").astype(str)
            model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                                  LinearSVC(C=0.1) if ds.is_classification else Ridge())  # fmt: skip
        else:
            if kind == "numeric":
                X = pd.to_numeric(frame[col], errors="coerce").fillna(-1e9).to_frame()
            else:
                X = frame[col].astype(str).astype("category").cat.codes.to_frame()
            model = (DecisionTreeClassifier(max_depth=4, random_state=seed) if ds.is_classification
                     else DecisionTreeRegressor(max_depth=4, random_state=seed))  # fmt: skip
        try:
            pred = cross_val_predict(model, X, y, cv=cv)
            if ds.is_classification:
                score = float(np.mean(pred == y))
                power = max(0.0, (score - majority) / (1 - majority)) if majority < 1 else 0.0
                basis = f"accuracy {score:.3f} vs majority class {majority:.3f}"
            else:
                from sklearn.metrics import r2_score

                power = max(0.0, float(r2_score(y, pred)))
                basis = f"R² {power:.3f}"
        except ValueError as exc:  # e.g. an empty vocabulary
            power, basis = 0.0, f"not measurable ({exc})"
        rows_out.append({"column": col, "type": kind, "prediction power": round(power, 3),
                         "basis": basis})  # fmt: skip
    return pd.DataFrame(rows_out).sort_values("prediction power", ascending=False)


def profile(ds: Dataset) -> dict[str, Any]:
    """Column statistics, class balance, duplicates and anomalies."""
    frame = ds.frame
    columns = []
    for col in frame.columns:
        values = frame[col]
        kind = "target" if col == ds.target else ds.column_types[col]
        entry = {"column": col, "type": kind, "missing %": round(100 * values.isna().mean(), 2),
                 "distinct": int(values.nunique())}  # fmt: skip
        if kind == "text":
            words = values.fillna("").astype(str).str.split().str.len()
            entry["details"] = (f"words per row: mean {words.mean():.1f}, median "
                                f"{words.median():.0f}, max {words.max()}")  # fmt: skip
        elif kind == "numeric" or (kind == "target" and not ds.is_classification):
            num = pd.to_numeric(values, errors="coerce")
            entry["details"] = (f"mean {num.mean():.4g}, std {num.std():.4g}, min {num.min():.4g},"
                                f" max {num.max():.4g}")  # fmt: skip
        else:
            top = values.astype(str).value_counts().head(3)
            entry["details"] = "most frequent: " + ", ".join(f"{k!r} ({v})" for k, v in top.items())
        columns.append(entry)
    out: dict[str, Any] = {"rows": len(frame), "columns": columns}
    if ds.is_classification:
        counts = frame[ds.target].value_counts()
        out["class_balance"] = [{"class": _plain(k), "rows": int(v),
                                 "share %": round(100 * v / len(frame), 2)}
                                for k, v in counts.items()]  # fmt: skip
    out["duplicate_rows"] = int(frame.duplicated().sum())
    feats = frame[ds.features]
    dup_features = feats.duplicated(keep=False)
    conflicting = 0
    if dup_features.any():
        grouped = frame[dup_features].groupby(ds.features, dropna=False)[ds.target].nunique()
        conflicting = int((grouped > 1).sum())
    out["duplicate_feature_rows_with_different_targets"] = conflicting
    anomalies = []
    for col, kind in ds.column_types.items():
        if kind in ("text", "categorical"):
            blank = int(frame[col].fillna("").astype(str).str.strip().eq("").sum())
            if blank:
                anomalies.append(f"{col}: {blank} empty or blank values")
        if kind == "numeric":
            num = pd.to_numeric(frame[col], errors="coerce")
            q1, q3 = num.quantile([0.25, 0.75])
            far = int(((num < q1 - 5 * (q3 - q1)) | (num > q3 + 5 * (q3 - q1))).sum())
            if far:
                anomalies.append(f"{col}: {far} values far outside the interquartile range")
    out["anomalies"] = anomalies
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def data_exploration(ds: Dataset, job: str, source: str, power: pd.DataFrame,
                     prof: dict[str, Any], objective: str, mode: str) -> Report:  # fmt: skip
    """The data exploration report (AWS: SageMakerAutopilotDataExplorationNotebook)."""
    rep = Report(
        f"Data exploration: {job}",
        f"What the AutoML job found in its input `{source}` before training. Autopilot writes "
        "this report during the **AnalyzingData** stage; read it to spot problems in the data "
        "before trusting any model.",
    )
    rep.markdown(
        f"## Dataset\n\n- rows: {prof['rows']:,} (size {ds.size_bytes:,} bytes)\n"
        f"- target: `{ds.target}`, problem type **{ds.problem_type}**, objective "
        f"**{objective}**, mode **{mode}**\n"
        f"- feature columns: {', '.join(f'`{c}` ({t})' for c, t in ds.column_types.items())}"
        + "".join(f"\n- note: {w}" for w in ds.warnings)
    )
    rep.table(pd.DataFrame(prof["columns"]), "## Columns and detected types")
    if "class_balance" in prof:
        rep.table(pd.DataFrame(prof["class_balance"]),
                  "## Class balance\n\nA large imbalance makes accuracy misleading; balanced "
                  "classes (as in the course's data) make it meaningful.")  # fmt: skip
    rep.table(power, "## Prediction power per column\n\nHow much each column alone predicts the "
              "target (0 = no better than guessing the majority class, 1 = perfect).")  # fmt: skip
    rep.markdown(
        "## Duplicates and anomalies\n\n"
        f"- duplicate rows: {prof['duplicate_rows']}\n"
        f"- identical features with different targets: "
        f"{prof['duplicate_feature_rows_with_different_targets']}\n"
        + ("".join(f"- {a}\n" for a in prof["anomalies"]) or "- no anomalies found\n")
    )
    return rep


def candidate_definitions(job: str, mode: str, plan: dict[str, Any],
                          candidates: Sequence[dict[str, Any]]) -> Report:  # fmt: skip
    """The candidate definition report (AWS: SageMakerAutopilotCandidateDefinitionNotebook)."""
    rep = Report(
        f"Candidate definitions: {job}",
        "The pipelines this AutoML job explores: how each candidate turns raw columns into "
        "features and which algorithm it trains with which hyperparameters. Everything needed "
        "to train a candidate again is here (see the last section).",
    )
    rep.markdown(f"## Plan ({mode})\n\n" + "\n".join(f"- **{k}**: {v}" for k, v in plan.items()))
    if candidates:
        rows = []
        for c in candidates:
            d = c.get("_local", {}).get("definition", {})
            metric = c.get("FinalAutoMLJobObjectiveMetric") or {}
            rows.append({"candidate": c["CandidateName"], "status": c["CandidateStatus"],
                         "pipeline": d.get("pipeline", ""), "objective": metric.get("Value"),
                         "hyperparameters": json.dumps(d.get("hyperparameters", {}),
                                                       default=str)[:300]})  # fmt: skip
        rep.table(pd.DataFrame(rows), "## Candidates")
        rep.markdown("## Full definitions (JSON)")
        defs = {c["CandidateName"]: c.get("_local", {}).get("definition", {}) for c in candidates}
        rep.code("definitions = " + json.dumps(defs, indent=1, default=str))
    rep.markdown(
        "## Train a candidate again\n\nThe local backend rebuilds a candidate from its "
        "definition and the job's input with `refit_candidate` (same features, algorithm, "
        "hyperparameters and seed):"
    )
    rep.code(
        "import utils\nfrom utils.local.automl import refit_candidate\n\n"
        "lab = utils.connect('local')\n"
        f"model = refit_candidate(lab, {job!r}, candidate_name='<a candidate name above>')\n"
        "model.predict(['I love this dress, it fits perfectly'])"
    )
    return rep


# -- explainability -----------------------------------------------------------------------------
def explain(model: Any, ds: Dataset, objective: str, seed: int = 0, top: int = 15) -> dict:
    """Which n-grams push each class (a linear surrogate of the model's predictions) and how
    much each column matters (permutation importance). Runs on at most 1,000 rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import cross_val_predict

    rng = np.random.default_rng(seed)
    n = min(len(ds.frame), 1000)
    rows = np.sort(rng.choice(len(ds.frame), n, replace=False))
    frame = ds.frame.iloc[rows].reset_index(drop=True)
    y = ds.y[rows]
    feats = frame[ds.features]
    if ds.is_classification:
        proba = model.predict_proba(feats)
        pred_idx = proba.argmax(axis=1)
        base = metrics.score(objective, y, proba, len(ds.classes))
    else:
        pred = np.asarray(model.predict(feats), dtype=float)
        base = metrics.score(objective, y, pred)
    out: dict[str, Any] = {"rows_used": int(n), "objective": objective,
                           "objective_on_sample": base, "text": {}, "columns": []}  # fmt: skip
    for col, kind in ds.column_types.items():
        if kind != "text":
            continue
        texts = feats[col].fillna("").astype(str)
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=3, sublinear_tf=True,
                              token_pattern=r"[\w']+")  # fmt: skip
        try:
            X = vec.fit_transform(texts)
        except ValueError:
            continue
        terms = vec.get_feature_names_out()
        entry: dict[str, Any] = {"surrogate": "", "fidelity": None, "classes": {}}
        if ds.is_classification and len(np.unique(pred_idx)) > 1:
            sur = LogisticRegression(C=3.0, max_iter=2000)
            k_cv = int(max(2, min(3, np.bincount(pred_idx).min())))
            fid = np.mean(cross_val_predict(sur, X, pred_idx, cv=k_cv) == pred_idx)
            sur.fit(X, pred_idx)
            coef = sur.coef_
            present = sur.classes_
            if coef.shape[0] == 1:  # binary: one row of coefficients for the second class
                coef = np.vstack([-coef[0], coef[0]])
            for i, cls in enumerate(present):
                order = np.argsort(-coef[i])
                entry["classes"][str(_plain(ds.classes[cls]))] = {
                    "pushes_towards": [(terms[j], round(float(coef[i, j]), 3))
                                       for j in order[:top]],
                    "pushes_away": [(terms[j], round(float(coef[i, j]), 3))
                                    for j in order[::-1][:top]],
                }  # fmt: skip
            entry["surrogate"] = (
                "logistic regression on word 1-2-grams, fitted to the model's labels"
            )
            entry["fidelity"] = round(float(fid), 4)
        elif not ds.is_classification:
            sur = Ridge(alpha=1.0).fit(X, pred)
            order = np.argsort(-sur.coef_)
            entry["classes"]["higher"] = {"pushes_towards": [(terms[j], round(float(sur.coef_[j]),
                                          3)) for j in order[:top]]}  # fmt: skip
            entry["classes"]["lower"] = {"pushes_towards": [(terms[j], round(float(sur.coef_[j]),
                                         3)) for j in order[::-1][:top]]}  # fmt: skip
            entry["surrogate"] = "ridge regression on word 1-2-grams, fitted to the model's output"
        out["text"][col] = entry
    for col in ds.features:  # permutation importance, one column at a time
        shuffled = feats.copy()
        shuffled[col] = shuffled[col].to_numpy()[rng.permutation(n)]
        if ds.is_classification:
            value = metrics.score(objective, y, model.predict_proba(shuffled), len(ds.classes))
        else:
            value = metrics.score(objective, y, np.asarray(model.predict(shuffled), dtype=float))
        drop = base - value if metrics.direction(objective) == "Maximize" else value - base
        out["columns"].append({"column": col, "importance": round(float(drop), 4)})
    out["columns"].sort(key=lambda r: -r["importance"])
    return out


def explainability_report(job: str, candidate: str, result: dict[str, Any]) -> Report:
    rep = Report(
        f"Explainability: {candidate}",
        f"How the best candidate of `{job}` decides. Autopilot computes SHAP values with "
        "SageMaker Clarify; locally two cheaper views stand in: permutation importance per "
        "column (how much the objective drops when a column is shuffled) and, for text, a "
        "linear surrogate fitted to the model's own predictions, whose weights show the "
        "n-grams that push each class.",
    )
    rep.table(
        pd.DataFrame(result["columns"]),
        f"## Column importance ({result['objective']} drop, {result['rows_used']} rows)",
    )
    for col, entry in result["text"].items():
        fid = entry.get("fidelity")
        rep.markdown(f"## Text column `{col}`\n\nSurrogate: {entry['surrogate']}"
                     + (f"; it agrees with the model on {fid:.1%} of held-out rows." if fid
                        else "."))  # fmt: skip
        for cls, lists in entry["classes"].items():
            table = pd.DataFrame({"n-gram": [t for t, _ in lists["pushes_towards"]],
                                  "weight": [w for _, w in lists["pushes_towards"]]})  # fmt: skip
            rep.table(table, f"### n-grams that push towards `{cls}`")
    return rep


def model_insights(job: str, candidate: dict[str, Any], confusion: pd.DataFrame | None) -> Report:
    rep = Report(
        f"Model insights: {candidate['CandidateName']}",
        f"Validation metrics of this candidate of `{job}` (out-of-fold predictions).",
    )
    rows = candidate.get("CandidateProperties", {}).get("CandidateMetrics", [])
    rep.table(pd.DataFrame([{"metric": r["MetricName"], "value": round(r["Value"], 4)}
                            for r in rows]), "## Metrics")  # fmt: skip
    if confusion is not None:
        rep.table(confusion.reset_index(), "## Confusion matrix (rows: true, columns: predicted)")
    return rep
