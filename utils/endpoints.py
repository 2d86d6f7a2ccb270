"""Ask a deployed endpoint about reviews and score its answers, the same way on both backends.

AWS equivalent: SageMaker hosting as the course drives it: the SDK's ``AutoML.deploy`` and
``Predictor`` on ``lab.session``, ``lab.client("sagemaker")`` to describe, list and delete
endpoints, ``lab.client("sagemaker-runtime").invoke_endpoint`` to ask them. The helpers here
call those clients only (on ``local`` they are the local backend's, whose endpoints are real
HTTP servers that follow the SageMaker inference container contract):

- :func:`response_keys` reads the keys an endpoint answers from its model's containers;
  :func:`predict_reviews` sends reviews as ``text/csv`` and parses the answer;
- :func:`batch_predict` scores a CSV in the lake through the endpoint, in mini-batches with a
  progress bar, and writes ``<input name>.out`` as a batch transform job does;
  :func:`evaluate` and :func:`plot_confusion_matrix` score the answers against the labels;
- :func:`list_automl_jobs`, :func:`latest_automl_job` and :func:`autopilot_ready` find the job
  that 06 deploys.
"""

from __future__ import annotations

import ast
import csv
import io
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from utils import keys
from utils.errors import LabError
from utils.local.endpoint_server import DEFAULT_KEYS, MAX_PAYLOAD_BYTES, SUPPORTED_KEYS

__all__ = [
    "HOLDOUT_KEY",
    "autopilot_ready",
    "RESPONSE_KEYS",
    "SAMPLE_REVIEWS",
    "BatchPrediction",
    "Evaluation",
    "batch_predict",
    "csv_body",
    "evaluate",
    "latest_automl_job",
    "list_automl_jobs",
    "misclassified",
    "parse_csv_predictions",
    "plot_confusion_matrix",
    "predict_reviews",
    "response_keys",
    "strip_commas",
]

# Reviews the job never saw, split off before training (written by 05_autopilot).
HOLDOUT_KEY = keys.HOLDOUT_KEY
AUTOPILOT_PREFIX = keys.AUTOPILOT_PREFIX
BATCH_OUTPUT_PREFIX = keys.BATCH_PREDICTIONS_PREFIX
# The course's three sample reviews: clearly positive, neutral, clearly negative.
SAMPLE_REVIEWS = ("This product is great!", "OK, but not great.", "This is not the right product.")
_LIST_KEYS = ("probabilities", "labels")
RESPONSE_KEYS = SUPPORTED_KEYS  # what an Autopilot classification container can answer


class EndpointError(LabError, RuntimeError):
    """An endpoint answered something the labs cannot use (wrong number of lines, keys)."""


def response_keys(lab: Any, endpoint_name: str) -> list[str]:
    """The inference response keys an endpoint answers with, in order.

    AWS equivalent: ``SAGEMAKER_INFERENCE_OUTPUT`` in the environment of the endpoint model's
    last container that sets it (DescribeEndpoint -> DescribeEndpointConfig -> DescribeModel).
    """
    client = lab.client("sagemaker")
    desc = client.describe_endpoint(EndpointName=endpoint_name)
    config = client.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
    model = client.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    containers = model.get("Containers") or [model.get("PrimaryContainer", {})]
    for container in reversed(containers):
        output = (container.get("Environment") or {}).get("SAGEMAKER_INFERENCE_OUTPUT")
        if output:
            return [k.strip() for k in output.split(",") if k.strip()]
    return list(DEFAULT_KEYS)


# -- request and response bodies -----------------------------------------------------------------
def strip_commas(text: str) -> str:
    """The course's preparation of a review for ``text/csv``: remove its commas."""
    return str(text).replace(",", "")


def csv_body(texts: Sequence[str]) -> str:
    """One review per line, CSV-quoted where needed; line breaks inside a review become spaces.

    AWS equivalent: what ``CSVSerializer`` sends, made safe for any review text.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for text in texts:
        value = "" if text is None or (isinstance(text, float) and text != text) else str(text)
        writer.writerow([" ".join(value.splitlines())])
    return buffer.getvalue()


def _cell(key: str, value: str) -> Any:
    if key == "probability":
        return float(value)
    if key in _LIST_KEYS:
        items = ast.literal_eval(value)
        return [float(v) for v in items] if key == "probabilities" else [str(v) for v in items]
    return value


def parse_csv_predictions(body: str | bytes, keys: Sequence[str]) -> pd.DataFrame:
    """A ``text/csv`` answer as a DataFrame with one column per response key.

    AWS equivalent: what the course does with ``response['Body'].read().decode().split(',')``.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    for i, row in enumerate(rows):
        if len(row) != len(keys):
            raise EndpointError(
                f"answer line {i + 1} has {len(row)} fields, expected {len(keys)} ({list(keys)}): "
                f"{','.join(row)[:120]!r}"
            )
    return pd.DataFrame(
        [[_cell(k, v) for k, v in zip(keys, row, strict=True)] for row in rows], columns=list(keys)
    )


def predict_reviews(
    lab: Any, endpoint_name: str, texts: Sequence[str], keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Send reviews in one ``text/csv`` request; one row per review with the response keys.

    AWS equivalent: ``sm_runtime.invoke_endpoint(EndpointName, ContentType='text/csv',
    Accept='text/csv', Body=...)``, one review per line.
    """
    keys = list(keys) if keys else response_keys(lab, endpoint_name)
    response = lab.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint_name,
        ContentType="text/csv",
        Accept="text/csv",
        Body=csv_body(texts).encode("utf-8"),
    )
    frame = parse_csv_predictions(response["Body"].read(), keys)
    if len(frame) != len(texts):
        raise EndpointError(f"sent {len(texts)} reviews, got {len(frame)} answers")
    frame.insert(0, "review", list(texts))
    return frame


# -- batch predictions ---------------------------------------------------------------------------
@dataclass
class BatchPrediction:
    """What :func:`batch_predict` produced: the ``.out`` object and the predictions."""

    output_uri: str
    predictions: pd.DataFrame
    requests: int
    seconds: float

    def __repr__(self) -> str:
        return (
            f"BatchPrediction({len(self.predictions)} rows, {self.requests} requests, "
            f"{self.seconds:.1f} s -> {self.output_uri})"
        )


def _batches(bodies: list[bytes], batch_size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` ranges of at most ``batch_size`` records and at most 6 MB each."""
    start = 0
    while start < len(bodies):
        stop, size = start, 0
        while stop < len(bodies) and stop - start < batch_size:
            if size + len(bodies[stop]) > MAX_PAYLOAD_BYTES:
                break
            size += len(bodies[stop])
            stop += 1
        if stop == start:
            raise EndpointError(
                f"record {start} alone is {len(bodies[start])} bytes, over the 6 MB payload limit"
            )
        yield start, stop
        start = stop


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.std import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="review",
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5,
        dynamic_ncols=False,
        ncols=90,
    )


def batch_predict(
    lab: Any,
    endpoint_name: str,
    input_uri: str,
    output_path: str | None = None,
    text_column: str = "review_body",
    batch_size: int = 100,
    keys: Sequence[str] | None = None,
    max_concurrent: int = 1,
    progress: bool = True,
) -> BatchPrediction:
    """Score every review of a CSV in the lake through the endpoint, in mini-batches.

    AWS equivalent: a batch transform job (``Transformer.transform(input_uri,
    content_type='text/csv', split_type='Line')``) writes ``<output_path>/<input name>.out``,
    one answer line per record; here the endpoint answers instead of a transform fleet. The
    input is a CSV with a header (as the labs write them); only ``text_column`` is sent.
    ``predictions`` holds the input's columns followed by the response keys.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: expected at least 1")
    keys = list(keys) if keys else response_keys(lab, endpoint_name)
    frame = lab.wr.s3.read_csv(input_uri)
    if text_column not in frame.columns:
        raise ValueError(
            f"{input_uri}: no column {text_column!r} to send; it has {list(frame.columns)}"
        )
    lines = [csv_body([t]).encode("utf-8") for t in frame[text_column].tolist()]
    ranges = list(_batches(lines, batch_size))
    runtime = lab.client("sagemaker-runtime")
    started = time.perf_counter()

    def call(span: tuple[int, int]) -> bytes:
        start, stop = span
        response = runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            ContentType="text/csv",
            Accept="text/csv",
            Body=b"".join(lines[start:stop]),
        )
        answer = response["Body"].read()
        got = sum(1 for row in csv.reader(io.StringIO(answer.decode("utf-8"))) if row)
        if got != stop - start:
            raise EndpointError(
                f"records {start}-{stop - 1}: sent {stop - start}, "
                f"the endpoint answered {got} lines"
            )
        return answer if answer.endswith(b"\n") else answer + b"\n"

    name = input_uri.rstrip("/").rsplit("/", 1)[-1]
    answers: list[bytes] = []
    with _progress(len(lines), f"batch predictions {name}", progress) as bar:
        if max_concurrent > 1:
            with ThreadPoolExecutor(max_workers=max_concurrent) as pool:
                for span, answer in zip(ranges, pool.map(call, ranges), strict=True):
                    answers.append(answer)
                    bar.update(span[1] - span[0])
        else:
            for span in ranges:
                answers.append(call(span))
                bar.update(span[1] - span[0])
    seconds = time.perf_counter() - started
    body = b"".join(answers)
    output_path = output_path or lab.s3_uri(f"{BATCH_OUTPUT_PREFIX}{endpoint_name}/")
    output_uri = output_path.rstrip("/") + f"/{name}.out"
    lab.wr.s3.upload(local_file=io.BytesIO(body), path=output_uri)
    predictions = parse_csv_predictions(body, keys)
    overlap = [k for k in keys if k in frame.columns]
    if overlap:
        raise ValueError(f"{input_uri} already has column(s) {overlap} named like response keys")
    result = pd.concat([frame.reset_index(drop=True), predictions], axis=1)
    return BatchPrediction(output_uri, result, len(ranges), seconds)


# -- scoring -------------------------------------------------------------------------------------
def _label_order(values: Sequence[Any]) -> list[str]:
    labels = sorted({str(v) for v in values})
    try:
        return sorted(labels, key=float)
    except ValueError:
        return labels


@dataclass
class Evaluation:
    """Accuracy, per-class precision / recall / F1, and the confusion matrix (labels as text)."""

    accuracy: float
    f1_macro: float
    per_class: pd.DataFrame
    confusion: pd.DataFrame

    def __repr__(self) -> str:
        return f"Evaluation(accuracy={self.accuracy:.3f}, f1_macro={self.f1_macro:.3f})"


def evaluate(y_true: Sequence[Any], y_pred: Sequence[Any]) -> Evaluation:
    """Score predicted labels against the true ones (both compared as text: 1 == '1').

    AWS equivalent: what Autopilot reports per candidate (Accuracy, F1macro, ...), computed
    here on reviews the job never saw.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    true = [str(v) for v in y_true]
    pred = [str(v) for v in y_pred]
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true labels but {len(pred)} predictions")
    if not true:
        raise ValueError("nothing to evaluate: no predictions")
    labels = _label_order(true + pred)
    p, r, f, n = precision_recall_fscore_support(true, pred, labels=labels, zero_division=0)
    per_class = pd.DataFrame(
        {"label": labels, "precision": p, "recall": r, "f1": f, "support": n.astype(int)}
    )
    cm = confusion_matrix(true, pred, labels=labels)
    confusion = pd.DataFrame(
        cm, index=pd.Index(labels, name="actual"), columns=pd.Index(labels, name="predicted")
    )
    return Evaluation(float(accuracy_score(true, pred)), float(f.mean()), per_class, confusion)


def plot_confusion_matrix(confusion: pd.DataFrame, title: str = "Confusion matrix") -> Any:
    """A seaborn heatmap of the confusion matrix (counts, with each row's share in brackets)."""
    import seaborn as sns
    from matplotlib.figure import Figure

    from utils.plots import sentiment_label

    totals = confusion.sum(axis=1).replace(0, 1)
    share = confusion.div(totals, axis=0)
    annot = confusion.astype(str) + "\n(" + (share * 100).round(0).astype(int).astype(str) + "%)"
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.subplots()
    sns.heatmap(
        share,
        annot=annot.to_numpy(),
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1,
        cbar=True,
        ax=ax,
        cbar_kws={"label": "share of the actual class"},
    )
    ax.set_xticklabels([sentiment_label(v) for v in confusion.columns])
    ax.set_yticklabels([sentiment_label(v) for v in confusion.index], rotation=0)
    ax.set_xlabel("predicted sentiment")
    ax.set_ylabel("actual sentiment")
    ax.set_title(title)
    return fig


def misclassified(
    predictions: pd.DataFrame,
    label_column: str = "sentiment",
    text_column: str = "review_body",
    n: int = 5,
) -> pd.DataFrame:
    """The ``n`` wrong answers the model was surest of (highest ``probability`` first)."""
    wrong = predictions[predictions[label_column].astype(str) != predictions["predicted_label"]]
    if "probability" in wrong.columns:
        wrong = wrong.sort_values("probability", ascending=False)
    columns = [
        c
        for c in (label_column, "predicted_label", "probability", text_column)
        if c in wrong.columns
    ]
    return wrong[columns].head(n).reset_index(drop=True)


# -- which job to deploy -------------------------------------------------------------------------
def list_automl_jobs(lab: Any, status_equals: str | None = None) -> list[dict[str, Any]]:
    """The AutoML jobs the labs created, newest first: ListAutoMLJobs summaries with the job's
    ``S3OutputPath``; a job is the labs' when its output is under ``s3://<bucket>/autopilot/``.

    AWS equivalent: ``sm.list_auto_ml_jobs(...)`` (all pages) and ``describe_auto_ml_job_v2``
    (which describes jobs of both APIs).
    """
    client = lab.client("sagemaker")
    prefix = lab.s3_uri(keys.AUTOPILOT_PREFIX).rstrip("/")
    kwargs: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
    if status_equals:
        kwargs["StatusEquals"] = status_equals
    out: list[dict[str, Any]] = []
    for page in client.get_paginator("list_auto_ml_jobs").paginate(**kwargs):
        for summary in page.get("AutoMLJobSummaries", []):
            desc = client.describe_auto_ml_job_v2(AutoMLJobName=summary["AutoMLJobName"])
            output = desc.get("OutputDataConfig", {}).get("S3OutputPath", "").rstrip("/")
            if output == prefix or output.startswith(prefix + "/"):
                out.append({**summary, "S3OutputPath": output})
    return out


def latest_automl_job(lab: Any) -> str:
    """The name of the labs' newest Completed AutoML job (the one 06_deploy_predict deploys).

    AWS equivalent: ``list_auto_ml_jobs(StatusEquals='Completed', SortBy='CreationTime',
    SortOrder='Descending')``, keeping jobs whose output is under the lab's autopilot prefix.
    """
    jobs = list_automl_jobs(lab, status_equals="Completed")
    if not jobs:
        raise LabError(
            f"no completed AutoML job of the labs on the {lab.backend} backend: run 05_autopilot "
            "first (and wait for its job to complete)"
        )
    return str(jobs[0]["AutoMLJobName"])


def autopilot_ready(lab: Any) -> str | None:
    """Prerequisite check for ``06_deploy_predict``: what ``05_autopilot`` leaves behind.

    None when a completed AutoML job of the labs exists and the held-out reviews are at
    ``s3://<bucket>/data/balanced/holdout.csv``; otherwise what is missing. AWS equivalent:
    ``list_auto_ml_jobs(StatusEquals='Completed')`` and ``wr.s3.does_object_exist``.
    """
    if not list_automl_jobs(lab, status_equals="Completed"):
        return (
            f"no completed AutoML job with its output under {lab.s3_uri(keys.AUTOPILOT_PREFIX)} "
            f"(backend {lab.backend!r})"
        )
    holdout = lab.s3_uri(keys.HOLDOUT_KEY)
    if not lab.wr.s3.does_object_exist(holdout):
        return f"no held-out reviews at {holdout} (backend {lab.backend!r})"
    return None
