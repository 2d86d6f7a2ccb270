"""Course helpers for SageMaker Autopilot jobs: follow a job live, tabulate and plot candidates.

AWS equivalent: what the course does around ``sagemaker.automl.automl.AutoML`` (its ``while``
loops on ``describe_auto_ml_job``, printing the candidates). The notebooks call the SDK's
``AutoML`` themselves, on ``lab.session``; these helpers read only what its calls answer
(DescribeAutoMLJob, ListCandidatesForAutoMLJob, and the logs client), on both backends.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

TERMINAL = ("Completed", "Failed", "Stopped")


STAGES = ("Starting", "AnalyzingData", "FeatureEngineering", "ModelTuning", "TrainingModels",
          "GeneratingExplainabilityReport", "GeneratingModelInsightsReport")  # fmt: skip
LOG_GROUP = "/aws/sagemaker/AutoMLJobs"
# "text": progress bars print as text even in a kernel (papermill's: no browser shows a widget);
# otherwise tqdm picks its notebook widget in JupyterLab and text elsewhere
PROGRESS_ENV = "LAB_PROGRESS"
# how far this kernel has shown each job's log: a second tracking cell goes on from there,
# while a fresh kernel (a late learner) shows the job's story from its start
_SHOWN: dict[str, tuple[str, str, set[str]]] = {}


def _criteria(desc: dict[str, Any]) -> dict[str, Any]:
    """The job's completion criteria, from a V1 or V2 description."""
    resolved = (desc.get("ResolvedAttributes") or {}).get("CompletionCriteria")
    if resolved:
        return resolved
    v1 = (desc.get("AutoMLJobConfig") or {}).get("CompletionCriteria")
    v2 = ((desc.get("AutoMLProblemTypeConfig") or {}).get("TabularJobConfig") or {}).get(
        "CompletionCriteria")  # fmt: skip
    return v1 or v2 or {}


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class JobView:
    """A live view of one AutoML job: a progress bar and the job's story as it happens.

    AWS equivalent: the course's ``while`` loops on ``describe_auto_ml_job``. The bar (tqdm's
    notebook widget in JupyterLab, text elsewhere, e.g. in papermill's output) shows the stage,
    the time used against ``MaxAutoMLJobRuntimeInSeconds``, the candidates finished against
    ``MaxCandidates`` and the best objective value so far: all from DescribeAutoMLJob and
    ListCandidatesForAutoMLJob, so it reads the same on both backends. Below it, one line per
    event: the job's log where the logs client has one (the local Autopilot's events: each
    stage, each featurizer ready, each candidate's score, with their times, from the start, so
    a late view still shows every stage), otherwise each new stage and each finished candidate.
    """

    def __init__(self, automl: Any, job_name: str, show: bool = True) -> None:
        self.automl = automl
        self.job_name = job_name
        self.show = show
        self.seen: list[tuple[str, str]] = []
        self._log_stream, self._log_token, self.done = _SHOWN.get(job_name, (None, None, set()))
        self._has_log: bool | None = None
        self._bar: Any = None
        self.logs = automl.sagemaker_session.boto_session.client("logs")

    # -- what the API answers -----------------------------------------------------------------
    def _candidates(self) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        try:
            return self.automl.list_candidates(job_name=self.job_name)
        except ClientError:  # e.g. a job that only generates candidate definitions
            return []

    def _log_lines(self) -> list[str]:
        """New events of the job's log stream, if the logs client has one."""
        from botocore.exceptions import ClientError

        if self._has_log is False:
            return []
        logs = self.logs
        try:
            if self._log_stream is None:
                streams = logs.describe_log_streams(
                    logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.job_name}/"
                )["logStreams"]
                if not streams:
                    self._has_log = False
                    return []
                self._log_stream = streams[0]["logStreamName"]
            kwargs = {"nextToken": self._log_token} if self._log_token else {}
            answer = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=self._log_stream,
                                         startFromHead=True, **kwargs)  # fmt: skip
        except ClientError:  # no such log group: AWS's Autopilot logs per step, not per job
            self._has_log = False
            return []
        self._has_log = True
        self._log_token = answer["nextForwardToken"]
        _SHOWN[self.job_name] = (self._log_stream, self._log_token, self.done)
        lines = []
        for event in answer["events"]:
            stamp = dt.datetime.fromtimestamp(event["timestamp"] / 1000).strftime("%H:%M:%S")
            lines.append(f"[{stamp}] {event['message']}")
        return lines

    # -- the view -----------------------------------------------------------------------------
    def _bar_for(self, planned: int | None) -> Any:
        if self._bar is None and self.show:
            # as text, the bar shares stdout with the job's lines: tqdm clears and redraws it
            # around each line, and a saved notebook shows the lines, then the bar's last state
            options: dict[str, Any] = {}
            if os.environ.get(PROGRESS_ENV) == "text":
                from tqdm.std import tqdm

                options["file"] = sys.stdout
            else:
                from tqdm.auto import tqdm

            self._bar = tqdm(total=planned if planned and planned <= 750 else None,
                             desc=self.job_name, unit="candidate", dynamic_ncols=True,
                             leave=True, **options)  # fmt: skip
        return self._bar

    def _say(self, line: str) -> None:
        if not self.show:
            return
        if self._bar is not None:
            self._bar.write(line)
        else:
            print(line, flush=True)

    def refresh(self) -> dict[str, Any]:
        """Ask the service once; update the bar and print what happened since. Returns the
        job's description."""
        desc = self.automl.describe_auto_ml_job(self.job_name)
        status, secondary = desc["AutoMLJobStatus"], desc["AutoMLJobSecondaryStatus"]
        candidates = self._candidates()
        criteria = _criteria(desc)
        planned = criteria.get("MaxCandidates")
        bar = self._bar_for(planned)
        log = self._log_lines()
        for line in log:
            self._say(line)
        if not self.seen or self.seen[-1] != (status, secondary):
            self.seen.append((status, secondary))
            if not self._has_log:
                self._say(f"[{dt.datetime.now():%H:%M:%S}] {status} / {secondary}")
        finished = [c for c in candidates if c["CandidateStatus"] != "InProgress"]
        best = None
        for cand in finished:
            metric = cand.get("FinalAutoMLJobObjectiveMetric") or {}
            if cand["CandidateName"] not in self.done:
                self.done.add(cand["CandidateName"])
                _SHOWN[self.job_name] = (self._log_stream, self._log_token, self.done)
                if not self._has_log:
                    value = metric.get("Value")
                    score = f"{metric.get('MetricName')} {value:.4f}" if value is not None else (
                        cand["CandidateStatus"])  # fmt: skip
                    self._say(f"candidate {cand['CandidateName']}: {score}")
        if desc.get("BestCandidate"):
            best = desc["BestCandidate"].get("FinalAutoMLJobObjectiveMetric") or None
        if bar is not None:
            created = desc["CreationTime"]
            end = desc.get("EndTime") or dt.datetime.now(created.tzinfo)
            used = (end - created).total_seconds()
            budget = criteria.get("MaxAutoMLJobRuntimeInSeconds")
            parts = [f"{_clock(used)} of {_clock(budget)}" if budget else _clock(used)]
            if best and best.get("Value") is not None:
                parts.append(f"best {best.get('MetricName')} {best['Value']:.4f}")
            bar.n = len(finished)
            bar.set_description(f"{self.job_name}: {secondary}", refresh=False)
            bar.set_postfix_str(", ".join(parts), refresh=False)
            bar.refresh()
        return desc

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def track(
    automl: Any,
    job_name: str,
    until: Callable[[dict[str, Any]], bool] | None = None,
    poll_seconds: float = 30.0,
    timeout_seconds: float | None = None,
    seen: list[tuple[str, str]] | None = None,
    show: bool = True,
) -> dict[str, Any]:
    """Follow the job with a :class:`JobView` until ``until(description)`` is true or it ends.

    Returns the last description; ``seen`` (a list) collects the (status, secondary status)
    pairs seen across calls. AWS equivalent: the course's ``while job_status not in
    ('Failed', 'Completed', 'Stopped'): describe_auto_ml_job(...)`` loops.
    """
    view = JobView(automl, job_name, show=show)
    if seen:
        view.seen = list(seen)
    started = time.monotonic()
    try:
        while True:
            desc = view.refresh()
            if seen is not None:
                seen[:] = view.seen
            if desc["AutoMLJobStatus"] in TERMINAL or (until is not None and until(desc)):
                return desc
            if timeout_seconds is not None and time.monotonic() - started > timeout_seconds:
                raise TimeoutError(f"AutoML job {job_name} is still {view.seen[-1]} after "
                                   f"{timeout_seconds:g} s")  # fmt: skip
            time.sleep(poll_seconds)
    finally:
        view.close()


def past(*stages: str) -> Callable[[dict[str, Any]], bool]:
    """``until`` for :func:`track`: true once the job has left all of ``stages`` behind."""
    last = max(STAGES.index(s) for s in stages)

    def check(desc: dict[str, Any]) -> bool:
        secondary = desc["AutoMLJobSecondaryStatus"]
        return secondary not in STAGES or STAGES.index(secondary) > last

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
    """A horizontal bar chart of the candidates' objective values, in the table's order (its
    first row on top), on an axis that spans the values, so that close scores differ visibly.

    The figure is not registered with pyplot: end a cell with it to show it once.
    """
    from matplotlib.figure import Figure

    done = frame.dropna(subset=["value"]).reset_index(drop=True)
    fig = Figure(figsize=(8, 0.45 * max(3, len(done)) + 1.2), layout="constrained")
    ax = fig.subplots()
    labels = [f"{n[-12:]} ({a})" if a else n
              for n, a in zip(done["candidate"], done["algorithm"], strict=True)]  # fmt: skip
    positions = list(range(len(done)))[::-1]  # the first row on top
    values = done["value"].astype(float)
    ax.barh(positions, values, color="#4C72B0")
    ax.set_yticks(positions, labels)
    low, high = (float(values.min()), float(values.max())) if len(done) else (0.0, 1.0)
    pad = max((high - low) * 0.25, abs(high) * 0.01, 1e-3)
    ax.set_xlim(low - pad, high + pad)
    for y, v in zip(positions, values, strict=True):
        ax.text(v, y, f" {v:.4f}", va="center")
    metric = done["metric"].iloc[0] if len(done) else ""
    ax.set_xlabel(f"{metric} (axis zoomed to the values, not from 0)")
    ax.set_title(title)
    return fig
