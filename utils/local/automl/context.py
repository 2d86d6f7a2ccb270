"""What an engine needs while it runs a job: data, budget, stop signal, and the job's records.

AWS equivalent: the state Autopilot's orchestration keeps for a job: its completion criteria,
the candidates it has launched, where each artifact goes under the output path.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from utils.local.automl import metrics
from utils.local.automl.bounded import CLOSING_SECONDS, END_MARGIN, run_bounded, stall_for_tests
from utils.local.automl.constants import VALIDATION_METRIC_NAME
from utils.local.automl.data import Dataset
from utils.local.automl.store import JobStore, iso
from utils.local.lake import LocalLake

PROBE_MIN_SECONDS = 60.0  # a measurement of the quickest candidate may use at least this long


class StopRequested(Exception):  # noqa: N818 - a signal, not an error
    """The job was asked to stop (StopAutoMLJob); engines unwind and keep what finished."""


@dataclass
class JobContext:
    """One running job, as the engines see it."""

    store: JobStore
    lake: LocalLake
    name: str
    region: str
    output_prefix: str  # s3://bucket/output_path/<job>/
    dataset: Dataset
    objective: str
    mode: str
    max_candidates: int
    per_candidate_seconds: float
    deadline: float  # time.monotonic() when MaxAutoMLJobRuntimeInSeconds is reached
    seed: int
    stop_flag: Callable[[], bool]
    completed: int = 0
    best_value: float | None = None
    best_name: str | None = None
    next_index: int = 1
    ended_by: str = "Completed"  # or MaxCandidatesReached / MaxAutoMLJobRuntimeReached
    notes: list[str] = field(default_factory=list)
    # how long one candidate needs, measured when every candidate hit the per-candidate limit
    candidate_minimum: str | None = None

    # -- budget --------------------------------------------------------------------------------
    def remaining(self) -> float:
        """Seconds until MaxAutoMLJobRuntimeInSeconds (counted from the job's CreationTime)."""
        return self.deadline - time.monotonic()

    def usable(self) -> float:
        """Seconds a step may still use: what remains before the closing steps' reserve."""
        return self.remaining() - END_MARGIN - CLOSING_SECONDS

    def measure_minimum(self, work: Callable[[], Any], what: str,
                        suggest: Callable[[float, Any], float]) -> None:  # fmt: skip
        """Every candidate hit MaxRuntimePerTrainingJobInSeconds: time ``work`` (the quickest
        pipeline, written nowhere) with no per-candidate limit, within what is left of the job's
        limit, so the job's FailureReason can say how long one candidate needs here.

        ``suggest(seconds, value)`` turns the measurement into a per-candidate limit that would
        do. Sets ``candidate_minimum`` (a sentence's end), or leaves it None without time.
        """
        limit = self.per_candidate_seconds
        timeout = min(max(PROBE_MIN_SECONDS, 10 * limit), self.usable())
        if timeout <= limit:
            return
        self.progress(f"every candidate hit MaxRuntimePerTrainingJobInSeconds ({limit:g} s): "
                      f"timing a quick pipeline ({what}) with no limit")  # fmt: skip
        outcome = run_bounded(work, timeout, self.should_stop)
        if outcome.status == "stopped":
            raise StopRequested()
        if outcome.status == "ok":
            need = max(outcome.seconds, suggest(outcome.seconds, outcome.value))
            self.candidate_minimum = (
                f"a quick pipeline ({what}) took {outcome.seconds:.1f} s with no limit: "
                f"raise max_runtime_per_training_job_in_seconds to at least "
                f"{math.ceil(1.2 * need) + 1} s"
            )
        elif outcome.status == "timeout":
            self.candidate_minimum = (
                f"a quick pipeline ({what}) had not finished after {outcome.seconds:.0f} s "
                "with no limit: raise max_runtime_per_training_job_in_seconds above "
                f"{math.ceil(outcome.seconds)} s"
            )
        if self.candidate_minimum:
            self.progress(f"one candidate needs more than {limit:g} s: {self.candidate_minimum}")

    def should_stop(self) -> bool:
        return bool(self.stop_flag())

    def check_stop(self) -> None:
        if self.should_stop():
            raise StopRequested()

    # -- progress ------------------------------------------------------------------------------
    def stage(self, secondary: str, message: str = "") -> None:
        self.check_stop()

        def change(rec: dict[str, Any]) -> None:
            if rec["AutoMLJobStatus"] == "InProgress":
                rec["AutoMLJobSecondaryStatus"] = secondary
            rec.setdefault("progress", {})["stage"] = secondary
            rec["progress"]["message"] = message

        self.store.update(self.name, change)
        self.store.event(self.name, message or secondary, stage=secondary)
        stall_for_tests(secondary)

    def progress(self, message: str, **extra: Any) -> None:
        def change(rec: dict[str, Any]) -> None:
            prog = rec.setdefault("progress", {})
            prog.update(message=message, candidates_completed=self.completed,
                        best_value=self.best_value, best_candidate=self.best_name,
                        metric=self.objective, **extra)  # fmt: skip

        self.store.update(self.name, change)
        self.store.event(self.name, message)

    # -- naming --------------------------------------------------------------------------------
    def candidate_name(self, definition: dict[str, Any]) -> str:
        digest = hashlib.sha1(
            f"{self.name}/{self.next_index}/{sorted(definition.items())}".encode()
        ).hexdigest()[:8]
        name = f"{self.name}-{self.next_index:03d}-{digest}"
        self.next_index += 1
        return name

    def uri(self, key: str) -> str:
        return self.output_prefix + key

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:000000000000:{kind}/{name.lower()}"

    # -- candidates ------------------------------------------------------------------------------
    def start_candidate(self, name: str, steps: list[dict[str, str]],
                        definition: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        record = {
            "CandidateName": name,
            "ObjectiveStatus": "Pending",
            "CandidateSteps": steps,
            "CandidateStatus": "InProgress",
            "CreationTime": iso(),
            "LastModifiedTime": iso(),
            "_local": {"definition": definition},
        }
        self.store.write_candidate(self.name, record)
        return record

    def finish_candidate(
        self,
        name: str,
        scores: dict[str, float],
        containers: list[dict[str, Any]],
        model_uri: str,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        value = scores[self.objective]
        final = {
            "Type": metrics.direction(self.objective),
            "MetricName": VALIDATION_METRIC_NAME[self.objective],
            "Value": float(value),
            "StandardMetricName": self.objective,
        }
        candidate_metrics = [
            {"MetricName": m, "Value": float(v), "Set": "Validation", "StandardMetricName": m}
            for m, v in scores.items()
            if v is not None and np.isfinite(v)
        ]
        local = dict(extra or {})
        local["model_uri"] = model_uri
        record = self.store.update_candidate(
            self.name, name,
            FinalAutoMLJobObjectiveMetric=final, ObjectiveStatus="Succeeded",
            CandidateStatus="Completed", InferenceContainers=containers,
            CandidateProperties={"CandidateMetrics": candidate_metrics},
            EndTime=iso(),
        )  # fmt: skip
        record["_local"].update(local)
        self.store.write_candidate(self.name, record)
        self.completed += 1
        if metrics.better(self.objective, value, self.best_value):
            self.best_value, self.best_name = float(value), name
            self.store.update(self.name, best_candidate=name)
        return record

    def save_oof(self, name: str, rows: np.ndarray, out: np.ndarray) -> None:
        """Keep a candidate's out-of-fold outputs (for the model insights report)."""
        folder = self.store.work_dir(self.name) / "oof"
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / f"{name}.npz", rows=np.asarray(rows), out=np.asarray(out))

    def fail_candidate(self, name: str, status: str, reason: str) -> None:
        self.store.update_candidate(
            self.name, name, CandidateStatus=status,
            ObjectiveStatus="Failed" if status == "Failed" else "Pending",
            FailureReason=reason[:1024] if reason else None, EndTime=iso(),
        )  # fmt: skip
        self.store.event(self.name, f"candidate {name}: {status}. {reason}".strip())


def training_steps(ctx: JobContext, candidate: str, dpp: str | None) -> list[dict[str, str]]:
    """CandidateSteps as Autopilot lists them: split, feature pipeline, transform, training."""
    tag = hashlib.sha1(ctx.name.encode()).hexdigest()[:8]
    steps = [{"CandidateStepType": "AWS::SageMaker::ProcessingJob",
              "CandidateStepArn": ctx.arn("processing-job", f"{ctx.name}-db-1-{tag}"),
              "CandidateStepName": f"{ctx.name}-db-1-{tag}"}]  # fmt: skip
    if dpp:
        steps.append({"CandidateStepType": "AWS::SageMaker::TrainingJob",
                      "CandidateStepArn": ctx.arn("training-job", f"{ctx.name}-{dpp}-1-{tag}"),
                      "CandidateStepName": f"{ctx.name}-{dpp}-1-{tag}"})  # fmt: skip
        steps.append({"CandidateStepType": "AWS::SageMaker::TransformJob",
                      "CandidateStepArn": ctx.arn("transform-job", f"{ctx.name}-{dpp}-csv-1-{tag}"),
                      "CandidateStepName": f"{ctx.name}-{dpp}-csv-1-{tag}"})  # fmt: skip
    steps.append({"CandidateStepType": "AWS::SageMaker::TrainingJob",
                  "CandidateStepArn": ctx.arn("training-job", candidate),
                  "CandidateStepName": candidate})  # fmt: skip
    return steps


def supported_keys(problem_type: str) -> str:
    if problem_type == "Regression":
        return "predicted_label"
    return "predicted_label,probability,labels,probabilities"


def containers(ctx: JobContext, algorithm: str, model_uri: str, dpp_uri: str | None) -> list[dict]:
    """InferenceContainers: feature transform, model, inverse label transform (as Autopilot)."""
    from utils.local.automl.constants import INFERENCE_KEYS  # noqa: F401 - documented keys

    keys = supported_keys(ctx.dataset.problem_type)
    model = {
        "Image": f"local/automl-{algorithm}:latest",
        "ModelDataUrl": model_uri,
        "Environment": {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                        "SAGEMAKER_INFERENCE_SUPPORTED": keys,
                        "LOCAL_MODEL_FORMAT": "joblib CandidateModel (self-contained)"},
    }  # fmt: skip
    if dpp_uri is None:
        return [model]
    transform = {
        "Image": "local/automl-sklearn-feature-transform:latest",
        "ModelDataUrl": dpp_uri,
        "Environment": {"AUTOML_TRANSFORM_MODE": "feature-transform",
                        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/x-recordio-protobuf",
                        "SAGEMAKER_PROGRAM": "sagemaker_serve",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
    }  # fmt: skip
    inverse = {
        "Image": "local/automl-sklearn-feature-transform:latest",
        "ModelDataUrl": dpp_uri,
        "Environment": {"AUTOML_TRANSFORM_MODE": "inverse-label-transform",
                        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                        "SAGEMAKER_INFERENCE_INPUT": "predicted_label",
                        "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                        "SAGEMAKER_INFERENCE_SUPPORTED": keys,
                        "SAGEMAKER_PROGRAM": "sagemaker_serve",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
    }  # fmt: skip
    return [transform, model, inverse]
