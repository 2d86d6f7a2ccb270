"""``lab.AutoML``: SageMaker Autopilot through the sagemaker SDK's ``AutoML`` on either backend.

AWS equivalent: ``sagemaker.automl.automl.AutoML``. On ``aws`` the class drives the real
service through the V2 API (CreateAutoMLJobV2, DescribeAutoMLJobV2); on ``local`` it is the
embedded Autopilot of :mod:`utils.local.automl`. Both take the same constructor arguments and
answer with the same keys. The helpers below keep ``05_autopilot`` thin: follow a job's stages,
tabulate and plot its candidates.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

TERMINAL = ("Completed", "Failed", "Stopped")


def automl_class(lab: Any) -> type:
    """The ``AutoML`` class for ``lab``'s backend, bound to the lab (home, bucket, region)."""
    if lab.is_local:
        from utils.local.automl import local_automl_class

        lab.home.mkdir(parents=True, exist_ok=True)
        return local_automl_class(lab)
    from utils.aws.automl import aws_automl_class

    return aws_automl_class(lab)


def track(
    automl: Any,
    job_name: str,
    until: Callable[[dict[str, Any]], bool] | None = None,
    poll_seconds: float = 30.0,
    timeout_seconds: float | None = None,
    seen: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Poll ``describe_auto_ml_job`` and print each new (status, secondary status) with the time.

    Returns the last description once ``until(description)`` is true or the job has ended.
    ``seen`` (a list) collects the statuses across calls. AWS equivalent: the course's
    ``while job_status not in ('Failed', 'Completed', 'Stopped'): describe_auto_ml_job(...)``.
    """
    seen = seen if seen is not None else []
    started = time.monotonic()
    while True:
        desc = automl.describe_auto_ml_job(job_name)
        state = (desc["AutoMLJobStatus"], desc["AutoMLJobSecondaryStatus"])
        if not seen or seen[-1] != state:
            seen.append(state)
            stamp = dt.datetime.now().strftime("%H:%M:%S")
            print(f"[{stamp}] {state[0]} / {state[1]}")
        if state[0] in TERMINAL or (until is not None and until(desc)):
            return desc
        if timeout_seconds is not None and time.monotonic() - started > timeout_seconds:
            raise TimeoutError(f"AutoML job {job_name} is still {state} after "
                               f"{timeout_seconds:g} s")  # fmt: skip
        time.sleep(poll_seconds)


def past(*stages: str) -> Callable[[dict[str, Any]], bool]:
    """``until`` for :func:`track`: true once the job has left all of ``stages`` behind."""
    order = ["Starting", "AnalyzingData", "FeatureEngineering", "ModelTuning", "TrainingModels",
             "GeneratingExplainabilityReport", "GeneratingModelInsightsReport"]  # fmt: skip
    last = max(order.index(s) for s in stages)

    def check(desc: dict[str, Any]) -> bool:
        secondary = desc["AutoMLJobSecondaryStatus"]
        return secondary not in order or order.index(secondary) > last

    return check


def algorithm(candidate: dict[str, Any]) -> str:
    """The candidate's algorithm, read from its model container's image name."""
    containers = candidate.get("InferenceContainers") or []
    if not containers:
        return ""
    model = containers[1] if len(containers) == 3 else containers[0]
    image = model.get("Image", "").rsplit("/", 1)[-1].split(":")[0]
    for prefix in ("automl-", "sagemaker-"):
        if image.startswith(prefix):
            image = image[len(prefix) :]
    return image


def candidates_frame(candidates: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per candidate: name, status, algorithm, objective metric and its value."""
    rows = []
    for c in candidates:
        metric = c.get("FinalAutoMLJobObjectiveMetric") or {}
        rows.append({
            "candidate": c["CandidateName"],
            "status": c["CandidateStatus"],
            "algorithm": algorithm(c),
            "metric": metric.get("MetricName"),
            "value": metric.get("Value"),
            "seconds": ((c["EndTime"] - c["CreationTime"]).total_seconds()
                        if c.get("EndTime") and c.get("CreationTime") else None),
        })  # fmt: skip
    return pd.DataFrame(rows)


def candidate_metrics(candidate: dict[str, Any]) -> pd.DataFrame:
    """A candidate's ``CandidateProperties.CandidateMetrics`` as a table."""
    rows = (candidate.get("CandidateProperties") or {}).get("CandidateMetrics") or []
    return pd.DataFrame([{"metric": r.get("MetricName"), "set": r.get("Set"),
                          "value": r.get("Value")} for r in rows])  # fmt: skip


def plot_candidates(frame: pd.DataFrame, title: str = "AutoML candidates") -> Any:
    """A horizontal bar chart of the candidates' objective values (best on top)."""
    import matplotlib.pyplot as plt

    done = frame.dropna(subset=["value"]).sort_values("value")
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(3, len(done)) + 1))
    labels = [
        f"{n[-12:]} ({a})" if a else n
        for n, a in zip(done["candidate"], done["algorithm"], strict=True)
    ]
    ax.barh(labels, done["value"], color="#4C72B0")
    for y, v in enumerate(done["value"]):
        ax.text(v, y, f" {v:.3f}", va="center")
    metric = done["metric"].iloc[0] if len(done) else ""
    ax.set_xlabel(metric)
    ax.set_xlim(0, min(1.0, max(done["value"], default=1) * 1.15) or 1)
    ax.set_title(title)
    fig.tight_layout()
    return fig
