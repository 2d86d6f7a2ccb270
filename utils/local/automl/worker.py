"""The background process that runs one local AutoML job: ``python -m utils.local.automl.worker``.

AWS equivalent: the Autopilot service running the job after CreateAutoMLJobV2 returned. It
moves the job through Autopilot's stages (Starting, AnalyzingData, FeatureEngineering,
ModelTuning or TrainingModels, GeneratingExplainabilityReport), writes the artifacts under the
output path, and ends Completed, Failed (with a FailureReason) or Stopped. ``SIGTERM`` asks it
to stop (what ``StopAutoMLJob`` does): the running candidate is killed, finished ones are kept.

``MaxAutoMLJobRuntimeInSeconds`` is the job's limit, counted from its CreationTime, as on AWS:
every step gets what is left of it (the engines keep time for the closing steps, the
explainability report gets what remains before them), and a deadline guard, armed before the
worker loads its engines, ends the job at the limit whatever it is doing (the running
candidate killed, the best finished candidate kept), so EndTime - CreationTime stays within it.

One worker runs a job: it claims the job in its record and leaves at once if another live
worker holds it. It records how it ended (``worker-end.json``) when it exits by itself or by a
signal it can catch, so that a reader can tell that apart from a SIGKILL.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.local.automl.bounded import END_MARGIN, stall_for_tests
from utils.local.automl.store import (
    JobStore,
    iso,
    now,
    parse_time,
    process_alive,
    process_identity,
)
from utils.local.lake import LocalLake, write_atomic

if TYPE_CHECKING:
    import pandas as pd

    from utils.local.automl.context import JobContext

_STOP = {"flag": False}
# the job ends once: by the main thread's _finish or by the deadline guard, never both
_END = threading.Lock()
_ENDED = {"by": ""}
_LAKE = threading.RLock()  # held around each lake write: the guard never exits amid one
# catchable signals whose default action kills: the worker records them before it dies
FATAL_SIGNALS = ("SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU")
# warnings every job prints (the libraries' own code): kept out of the worker's log
QUIET_WARNINGS = (
    (FutureWarning, r"'n_jobs' has no effect"),  # AutoGluon's and the text models' sklearn
    (UserWarning, r"n_quantiles \(\d+\) is greater than the total number of samples"),
    (UserWarning, r"Loky-backed parallel loops cannot be called in a multiprocessing"),
)


def _on_sigterm(signum: int, frame: Any) -> None:
    _STOP["flag"] = True


def _put(lake: LocalLake, uri: str, data: bytes) -> str:
    with _LAKE:
        write_atomic(lake.path_for(uri), data)
    return uri


class DeadlineGuard:
    """Ends the job at ``MaxAutoMLJobRuntimeInSeconds`` if the worker has not ended it by then.

    A thread that wakes ``END_MARGIN`` seconds before the limit: it takes the job's end (the
    main thread's own end waits for it), kills the running candidate's process, marks unfinished
    candidates Stopped, and ends the job as Autopilot does at its limit: Completed with
    MaxAutoMLJobRuntimeReached and the best finished candidate, or Failed when none finished
    (Stopped when a stop was requested). Then the process exits, holding the lake and the job's
    lock, so that the main thread can write nothing after the job's end.
    """

    def __init__(self, store: JobStore, name: str, deadline: float | None, total: float | None,
                 started_after: float) -> None:  # fmt: skip
        self.store, self.name = store, name
        self.deadline, self.total = deadline, total
        self.started_after = started_after  # seconds from CreationTime to the worker's start
        self.ctx: Any = None  # the JobContext, once the data is analysed
        self.per_candidate: float | None = None
        self._done = threading.Event()

    def start(self) -> None:
        if self.deadline is not None:
            threading.Thread(target=self._watch, name="automl-deadline", daemon=True).start()

    def disarm(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        assert self.deadline is not None
        if self._done.wait(max(0.0, self.deadline - END_MARGIN - time.monotonic())):
            return
        try:
            self._take_over()
        except BaseException:  # noqa: BLE001 - the job must still end: a reader marks it
            print(traceback.format_exc(), file=sys.stderr, flush=True)
            os._exit(1)

    def _take_over(self) -> None:
        _END.acquire()  # the main thread's _finish, if it is running, completes first
        if _ENDED["by"]:
            _END.release()
            return
        _ENDED["by"] = "deadline"
        _LAKE.acquire()  # no lake write of the main thread is left half done
        _kill_children()
        store, name = self.store, self.name
        with store.lock(name):  # held until the process exits: the main thread writes no more
            record = store.read_raw(name)
            stage = record.get("AutoMLJobSecondaryStatus")
            stopping = record["AutoMLJobStatus"] == "Stopping" or _STOP["flag"]
            reason = (f"MaxAutoMLJobRuntimeInSeconds ({self.total:g} s) was reached while this "
                      "candidate trained")  # fmt: skip
            for cand in store.candidates(name):
                if cand["CandidateStatus"] in ("InProgress", "Stopping"):
                    store.update_candidate(name, cand["CandidateName"], CandidateStatus="Stopped",
                                           FailureReason=None if stopping else reason,
                                           EndTime=iso())  # fmt: skip
            best = _best_finished(store, name, record)
            if best and best != record.get("best_candidate"):
                store.update(name, best_candidate=best)
            _write_leaderboard_quietly(self.ctx)
            note = (f"MaxAutoMLJobRuntimeInSeconds ({self.total:g} s) was reached during "
                    f"{stage}" + _CUT.get(stage or "", ""))  # fmt: skip
            store.event(name, note, stage=stage)
            if stopping:
                _finish(store, name, "Stopped", "Stopped")
            elif best:
                notes = [note, *(self.ctx.notes if self.ctx else [])]
                _finish(store, name, "Completed", "MaxAutoMLJobRuntimeReached", notes=notes)
            else:
                _finish(store, name, "Failed", "Failed", reason=self._no_candidate(stage))
            _kill_children()
            store.record_exit(name, os.getpid(), 0, by="worker")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    def _no_candidate(self, stage: str | None) -> str:
        if self.ctx is not None:
            return _no_candidate_reason(self.ctx, self.total, self.ctx.per_candidate_seconds)
        return (f"MaxAutoMLJobRuntimeInSeconds ({self.total:g} s) was reached during {stage}, "
                "before any candidate could train (the worker itself started "
                f"{self.started_after:.1f} s after the job was created). Raise "
                "total_job_runtime_in_seconds.")  # fmt: skip


_CUT = {  # what a job reaching its limit in that stage leaves undone
    "GeneratingExplainabilityReport": ": the explainability report was not written",
    "ModelTuning": ": the candidate in training was stopped",
    "TrainingModels": ": the candidate in training was stopped",
    "FeatureEngineering": ": no candidate had started",
    "AnalyzingData": ": no candidate had started",
}


def _kill_children() -> None:
    """SIGKILL every process this worker started (the running candidate and its children)."""
    import psutil

    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass


def _best_finished(store: JobStore, name: str, record: dict[str, Any]) -> str | None:
    """The job's best candidate: the one it recorded, else the best Completed one."""
    done = [c for c in store.candidates(name) if c["CandidateStatus"] == "Completed"
            and c.get("FinalAutoMLJobObjectiveMetric")]  # fmt: skip
    if not done:
        return None
    from utils.local.automl import metrics  # loaded already: candidates were scored with it

    names = {c["CandidateName"] for c in done}
    if record.get("best_candidate") in names:
        return record["best_candidate"]
    best, value = None, None
    for c in done:
        metric = c["FinalAutoMLJobObjectiveMetric"]
        if metrics.better(metric["StandardMetricName"], metric["Value"], value):
            best, value = c["CandidateName"], metric["Value"]
    return best


def _claim(store: JobStore, name: str) -> str:
    """Make this process the job's one worker; returns why not (``""`` when it is)."""
    me = process_identity()
    refused: list[str] = []

    def claim(rec: dict[str, Any]) -> None:
        if rec["AutoMLJobStatus"] not in ("InProgress", "Stopping"):
            refused.append(f"the job is {rec['AutoMLJobStatus']} already")
            return
        held = rec.get("worker") or {}
        if held.get("pid") not in (None, me["pid"]) and process_alive(
            held["pid"], held.get("create_time")
        ):
            refused.append(f"worker pid {held['pid']} runs it")
            return
        rec["worker"] = {**me, "log": str(store.log_path(name))}

    store.update(name, claim)
    return refused[0] if refused else ""


def run_job(home: Path, name: str) -> int:
    """Run the job ``name`` stored under ``home``; returns the process exit code."""
    store = JobStore(home)
    refused = _claim(store, name)
    if refused:
        print(f"worker {os.getpid()}: not running AutoML job {name}: {refused}", file=sys.stderr)
        return 0
    record = store.read_raw(name)
    store.event(name, f"worker started (pid {os.getpid()})", pid=os.getpid())
    request = record["request"]
    config = request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    criteria = config.get("CompletionCriteria", {})
    created = parse_time(record["CreationTime"]) or now()
    total = criteria.get("MaxAutoMLJobRuntimeInSeconds")
    elapsed = (now() - created).total_seconds()
    deadline = time.monotonic() + total - elapsed if total else None
    guard = DeadlineGuard(store, name, deadline, total, elapsed)
    guard.start()  # before the engines load: the limit holds from the worker's first second
    try:
        return _run(store, name, record, guard, deadline)
    finally:
        guard.disarm()


def _run(store: JobStore, name: str, record: dict[str, Any], guard: DeadlineGuard,
         deadline: float | None) -> int:  # fmt: skip
    from utils.local.automl.constants import AUTO_ENSEMBLING_MAX_BYTES
    from utils.local.automl.context import JobContext, StopRequested
    from utils.local.automl.data import InputDataError, analyze, check_objective

    lake = LocalLake(store.root.parent)
    request = record["request"]
    config = request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    criteria = config.get("CompletionCriteria", {})
    total = criteria.get("MaxAutoMLJobRuntimeInSeconds")
    if deadline is None:
        deadline = time.monotonic() + 10 * 365 * 86400

    def stop_flag() -> bool:
        if _STOP["flag"]:
            return True
        try:
            return bool(store.read_raw(name).get("stop_requested"))
        except Exception:  # noqa: BLE001 - a transient read problem is not a stop
            return False

    ctx: JobContext | None = None
    try:
        _set(store, name, "AnalyzingData", "reading and analysing the input")
        if stop_flag():
            raise StopRequested()
        uri = request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        compression = request["AutoMLJobInputDataConfig"][0].get("CompressionType")
        ds = analyze(lake, uri, config["TargetAttributeName"], config.get("ProblemType"),
                     compression)  # fmt: skip
        if config.get("FeatureSpecificationS3Uri"):
            _apply_feature_specification(lake, ds, config["FeatureSpecificationS3Uri"])
        objective = check_objective(
            ds.problem_type, (request.get("AutoMLJobObjective") or {}).get("MetricName")
        )
        mode = config.get("Mode") or "AUTO"
        resolved_mode = mode
        if mode == "AUTO":
            resolved_mode = ("ENSEMBLING" if ds.size_bytes < AUTO_ENSEMBLING_MAX_BYTES
                             else "HYPERPARAMETER_TUNING")  # fmt: skip
        for w in ds.warnings:
            store.event(name, f"note: {w}")
        output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/") + f"/{name}/"
        seed = int(record.get("local", {}).get("seed", 0))
        max_candidates = criteria.get("MaxCandidates") or 250
        per_candidate = float(criteria.get("MaxRuntimePerTrainingJobInSeconds") or 86400)
        ctx = JobContext(store=store, lake=lake, name=name, region=record["region"],
                         output_prefix=output, dataset=ds, objective=objective,
                         mode=resolved_mode, max_candidates=int(max_candidates),
                         per_candidate_seconds=per_candidate, deadline=deadline, seed=seed,
                         stop_flag=stop_flag)  # fmt: skip
        guard.ctx = ctx

        def resolved(rec: dict[str, Any]) -> None:
            rec["ResolvedAttributes"] = {
                "AutoMLJobObjective": {"MetricName": objective},
                "CompletionCriteria": {"MaxCandidates": int(max_candidates),
                                       "MaxRuntimePerTrainingJobInSeconds": int(per_candidate),
                                       "MaxAutoMLJobRuntimeInSeconds": int(total or 2592000)},
                "AutoMLProblemTypeResolvedAttributes": {
                    "TabularResolvedAttributes": {"ProblemType": ds.problem_type}},
            }  # fmt: skip
            rec["local"]["resolved_mode"] = resolved_mode
            rec["local"]["rows"] = len(ds.frame)
            rec["local"]["column_types"] = ds.column_types

        store.update(name, resolved)
        store.event(name, f"{len(ds.frame):,} rows, {ds.problem_type}, objective {objective}, "
                    f"mode {resolved_mode} (requested {mode})")  # fmt: skip
        _write_analysis_reports(ctx, uri)
        if config.get("GenerateCandidateDefinitionsOnly"):
            _end_job(store, name, "Completed", "CandidateDefinitionsGenerated")
            return 0
        if resolved_mode == "ENSEMBLING":
            from utils.local.automl import ensembling as engine
        else:
            from utils.local.automl import hpo as engine  # type: ignore[no-redef]
        engine.run(ctx)
        ctx.check_stop()
        if ctx.best_name is None:
            raise InputDataError(_no_candidate_reason(ctx, total, per_candidate))
        _set(store, name, "GeneratingExplainabilityReport",
             f"explaining the best candidate {ctx.best_name}")  # fmt: skip
        _write_final_reports(ctx)
        ctx.check_stop()
        _end_job(store, name, "Completed", ctx.ended_by, notes=ctx.notes)
        return 0
    except StopRequested:
        _write_leaderboard_quietly(ctx)
        _end_job(store, name, "Stopped", "Stopped")
        return 0
    except InputDataError as exc:
        _write_leaderboard_quietly(ctx)
        _end_job(store, name, "Failed", "Failed", reason=str(exc))
        return 0
    except Exception as exc:  # noqa: BLE001 - any bug fails the job with its reason
        print(traceback.format_exc(), file=sys.stderr, flush=True)
        _write_leaderboard_quietly(ctx)
        _end_job(store, name, "Failed", "Failed",
                 reason=f"InternalError: {type(exc).__name__}: {exc} "
                        f"(traceback in {store.log_path(name)})")  # fmt: skip
        return 1


def _apply_feature_specification(lake: LocalLake, ds: Any, uri: str) -> None:
    """Keep only the columns a feature specification file names (``FeatureAttributeNames``)."""
    from utils.local.automl.data import InputDataError

    path = lake.path_for(uri)
    if not path.is_file():
        raise InputDataError(f"ClientError: the feature specification {uri} does not exist")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        names = list(spec["FeatureAttributeNames"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputDataError(f"ClientError: the feature specification {uri} is not JSON with "
                             f"FeatureAttributeNames: {exc}") from exc  # fmt: skip
    unknown = [n for n in names if n not in ds.column_types]
    if unknown or not names:
        raise InputDataError(f"ClientError: the feature specification names {unknown or names}, "
                             f"not feature columns of the input {list(ds.column_types)}")  # fmt: skip
    types = spec.get("FeatureDataTypes", {})
    mapping = {"text": "text", "categorical": "categorical", "numeric": "numeric"}
    ds.column_types = {n: mapping.get(str(types.get(n, "")).lower(), ds.column_types[n])
                       for n in names}  # fmt: skip
    ds.frame = ds.frame[[*names, ds.target]]


def _no_candidate_reason(ctx: JobContext, total: float | None, per_candidate: float) -> str:
    spent = list(ctx.store.candidates(ctx.name))
    if not spent:
        return (f"MaxAutoMLJobRuntimeInSeconds ({total:g} s) was reached before any candidate "
                "could start: the data analysis and feature engineering used the whole budget. "
                "Raise total_job_runtime_in_seconds.")  # fmt: skip
    reasons = sorted({c.get("FailureReason", "") for c in spent if c.get("FailureReason")})
    if ctx.ended_by == "MaxAutoMLJobRuntimeReached" or any("MaxAutoMLJob" in r for r in reasons):
        return (f"No candidate finished within MaxAutoMLJobRuntimeInSeconds ({total:g} s); "
                "raise total_job_runtime_in_seconds so that at least one candidate can train. "
                f"Candidates: {'; '.join(reasons)}")  # fmt: skip
    if ctx.candidate_minimum is not None or any("MaxRuntimePerTrainingJob" in r for r in reasons):
        return (f"MaxRuntimePerTrainingJobInSeconds ({per_candidate:g} s) is below what one "
                "candidate needs here: every candidate was stopped at that limit before it "
                "finished; " + (ctx.candidate_minimum or "raise "
                "max_runtime_per_training_job_in_seconds (no time was left in "
                "MaxAutoMLJobRuntimeInSeconds to measure how long one candidate needs)") + ".")  # fmt: skip
    return "No candidate finished: " + "; ".join(reasons)[:900]


def _set(store: JobStore, name: str, secondary: str, message: str) -> None:
    def change(rec: dict[str, Any]) -> None:
        if rec["AutoMLJobStatus"] == "InProgress":
            rec["AutoMLJobSecondaryStatus"] = secondary
        rec.setdefault("progress", {}).update(stage=secondary, message=message)

    store.update(name, change)
    store.event(name, message, stage=secondary)
    stall_for_tests(secondary)


def _end_job(store: JobStore, name: str, status: str, secondary: str,
             reason: str | None = None, notes: list[str] | None = None) -> None:  # fmt: skip
    """The main thread's end of the job; if the deadline guard has taken it, this waits for
    the process to exit (the guard holds the end until then)."""
    with _END:
        if _ENDED["by"]:
            return
        _ENDED["by"] = "worker"
        _finish(store, name, status, secondary, reason, notes)


def _finish(store: JobStore, name: str, status: str, secondary: str, reason: str | None = None,
            notes: list[str] | None = None) -> None:  # fmt: skip
    def change(rec: dict[str, Any]) -> None:
        rec["AutoMLJobStatus"] = status
        rec["AutoMLJobSecondaryStatus"] = secondary
        rec["EndTime"] = iso()
        if reason:
            rec["FailureReason"] = reason[:1024]
        partial = [n for n in (notes or []) if n]
        if partial:
            rec["PartialFailureReasons"] = [{"PartialFailureMessage": p[:1024]}
                                            for p in dict.fromkeys(partial)][:5]  # fmt: skip
        rec.setdefault("progress", {}).update(stage=secondary, message=reason or secondary)

    for cand in store.candidates(name):
        if cand["CandidateStatus"] in ("InProgress", "Stopping"):
            store.update_candidate(name, cand["CandidateName"], CandidateStatus="Stopped",
                                   EndTime=iso())  # fmt: skip
    # the event first: whoever sees the final status has the final log line too
    store.event(name, f"job {status}" + (f" ({secondary})" if secondary != status else "")
                + (f": {reason}" if reason else ""), stage=secondary)  # fmt: skip
    store.update(name, change)


def _write_analysis_reports(ctx: JobContext, source: str) -> None:
    """AnalyzingData's outputs: the data exploration and candidate definition notebooks."""
    from utils.local.automl import reports

    ds = ctx.dataset
    power = reports.prediction_power(ds, ctx.seed)
    prof = reports.profile(ds)
    rep = reports.data_exploration(ds, ctx.name, source, power, prof, ctx.objective, ctx.mode)
    import hashlib

    tag = hashlib.sha1(ctx.name.encode()).hexdigest()[:8]
    base = f"sagemaker-automl-candidates/{ctx.name}-pr-1-{tag}/notebooks/"
    explore = ctx.uri(base + "SageMakerAutopilotDataExplorationNotebook.ipynb")
    _put(ctx.lake, explore, rep.notebook())
    _put(ctx.lake, ctx.uri(base + "SageMakerAutopilotDataExplorationReport.html"), rep.html())
    _put(ctx.lake, ctx.uri(base + "data_profile.json"),
         json.dumps({"profile": prof, "prediction_power": power.to_dict("records")},
                    indent=1, default=str).encode())  # fmt: skip
    definitions = ctx.uri(base + "SageMakerAutopilotCandidateDefinitionNotebook.ipynb")
    plan = _plan(ctx)
    cdef = reports.candidate_definitions(ctx.name, ctx.mode, plan, [])
    _put(ctx.lake, definitions, cdef.notebook())
    _put(ctx.lake, ctx.uri(base + "SageMakerAutopilotCandidateDefinitionReport.html"), cdef.html())

    def artifacts(rec: dict[str, Any]) -> None:
        rec["AutoMLJobArtifacts"] = {"CandidateDefinitionNotebookLocation": definitions,
                                     "DataExplorationNotebookLocation": explore}  # fmt: skip
        rec["local"]["notebooks_prefix"] = ctx.uri(base)

    ctx.store.update(ctx.name, artifacts)
    ctx.store.event(ctx.name, f"data exploration report: {explore}")


def _plan(ctx: JobContext) -> dict[str, Any]:
    ds = ctx.dataset
    text = [c for c, t in ds.column_types.items() if t == "text"]
    if ctx.mode == "ENSEMBLING":
        from utils.local.automl.ensembling import AG_ALGORITHM, AG_ORDER
        from utils.local.automl.stack import CLASSIFICATION_BASES, REGRESSION_BASES

        bases = REGRESSION_BASES if ds.problem_type == "Regression" else CLASSIFICATION_BASES
        return {
            "text featurizer": (f"out-of-fold scores of linear text models on {text}: "
                                + ", ".join(f"{b.name} ({b.learner})" for b in bases)
                                if text else "none (no text column)"),
            "models": ", ".join(AG_ALGORITHM[c] for c in AG_ORDER) + " (AutoGluon, bagged), "
                      "then a weighted ensemble",
            "validation": "5-fold bagging",
            "max candidates": ctx.max_candidates,
        }  # fmt: skip
    from utils.local.automl import hpo
    from utils.local.automl.learners import CLASSIFIERS, REGRESSORS

    learners = REGRESSORS if ds.problem_type == "Regression" else CLASSIFIERS
    return {
        "featurizer sets": ", ".join(hpo.FEATURE_SETS) if text else "tabular only",
        "learners": ", ".join(sorted(learners)),
        "search": "Optuna TPE sampler after seeded starting points",
        "validation": "5-fold cross-validation up to 50,000 rows, else a holdout",
        "max candidates": ctx.max_candidates,
    }


def _write_final_reports(ctx: JobContext) -> None:
    """Explainability and model insights for the best candidate; leaderboard; definitions.

    The explainability report gets what is left of MaxAutoMLJobRuntimeInSeconds before the
    closing steps; with less than 2 s left it is skipped (a PartialFailureReason says so),
    as Autopilot leaves unfinished steps undone at the job's limit."""
    from utils.local.automl import reports
    from utils.local.automl.bounded import run_bounded
    from utils.local.automl.context import StopRequested
    from utils.local.automl.model import load_model_file, unpack

    best = ctx.best_name
    cand = next(c for c in ctx.store.candidates(ctx.name) if c["CandidateName"] == best)
    model_uri = cand["_local"]["model_uri"]
    folder = ctx.store.job_dir(ctx.name) / "models" / best

    def work() -> dict[str, Any]:
        model = load_model_file(unpack(ctx.lake.path_for(model_uri), folder))
        return reports.explain(model, ctx.dataset, ctx.objective, ctx.seed)

    budget = ctx.usable()
    exp_uri = ctx.uri(f"documentation/explainability/output/{best}/")
    insights_uri = ctx.uri(f"documentation/model_insights/output/{best}/")
    locations = {}
    if budget < 2.0:  # not worth starting: it needs seconds even on small data
        ctx.notes.append("explainability report: skipped, MaxAutoMLJobRuntimeInSeconds left "
                         f"{max(0.0, ctx.remaining()):.1f} s for the closing steps")  # fmt: skip
    else:
        outcome = run_bounded(work, budget, ctx.should_stop)
        if outcome.status == "stopped":
            raise StopRequested()
        if outcome.status == "ok":
            rep = reports.explainability_report(ctx.name, best, outcome.value)
            _put(ctx.lake, exp_uri + "analysis.json",
                 json.dumps(outcome.value, indent=1, default=str).encode())  # fmt: skip
            _put(ctx.lake, exp_uri + "report.html", rep.html())
            _put(ctx.lake, exp_uri + "report.ipynb", rep.notebook())
            locations["Explainability"] = exp_uri
        elif outcome.status == "timeout":
            ctx.notes.append(f"explainability report: not finished in the {budget:.0f} s "
                             "MaxAutoMLJobRuntimeInSeconds left for it")  # fmt: skip
        else:
            ctx.notes.append(f"explainability report: {outcome.status} {outcome.error[:200]}")
    confusion = _confusion(ctx, best)
    ins = reports.model_insights(ctx.name, cand, confusion)
    _put(ctx.lake, insights_uri + "report.html", ins.html())
    if locations:
        locations["ModelInsights"] = insights_uri
        props = dict(cand.get("CandidateProperties") or {})
        props["CandidateArtifactLocations"] = locations
        ctx.store.update_candidate(ctx.name, best, CandidateProperties=props)
    _write_leaderboard(ctx)
    cands = ctx.store.candidates(ctx.name)
    cdef = reports.candidate_definitions(ctx.name, ctx.mode, _plan(ctx), cands)
    record = ctx.store.read_raw(ctx.name)
    loc = record["AutoMLJobArtifacts"]["CandidateDefinitionNotebookLocation"]
    _put(ctx.lake, loc, cdef.notebook())
    _put(ctx.lake, loc.replace("Notebook.ipynb", "Report.html"), cdef.html())
    _put(ctx.lake, ctx.uri("candidate_definitions.json"),
         json.dumps({c["CandidateName"]: c["_local"].get("definition") for c in cands},
                    indent=1, default=str).encode())  # fmt: skip


def _confusion(ctx: JobContext, name: str) -> pd.DataFrame | None:
    import numpy as np
    import pandas as pd

    path = ctx.store.work_dir(ctx.name) / "oof" / f"{name}.npz"
    if not ctx.dataset.is_classification or not path.is_file():
        return None
    data = np.load(path)
    y = ctx.dataset.y[data["rows"]]
    pred = data["out"].argmax(axis=1)
    labels = [str(c) for c in ctx.dataset.classes]
    k = len(labels)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (y, pred), 1)
    return pd.DataFrame(matrix, index=pd.Index(labels, name="true"), columns=labels)


def _write_leaderboard(ctx: JobContext) -> None:
    import io

    import pandas as pd

    from utils.local.automl import metrics

    rows = []
    for c in ctx.store.candidates(ctx.name):
        metric = c.get("FinalAutoMLJobObjectiveMetric") or {}
        d = c.get("_local", {}).get("definition", {})
        rows.append({"candidate": c["CandidateName"], "status": c["CandidateStatus"],
                     "pipeline": d.get("pipeline", ""), "objective": ctx.objective,
                     "value": metric.get("Value"), "seconds": c["_local"].get("seconds"),
                     "failure_reason": c.get("FailureReason", "")})  # fmt: skip
    frame = pd.DataFrame(rows)
    if not frame.empty:
        asc = metrics.direction(ctx.objective) == "Minimize"
        frame = frame.sort_values("value", ascending=asc, na_position="last")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    _put(ctx.lake, ctx.uri("leaderboard.csv"), buffer.getvalue().encode())


def _write_leaderboard_quietly(ctx: JobContext | None) -> None:
    if ctx is None:
        return
    try:
        _write_leaderboard(ctx)
    except Exception:  # noqa: BLE001 - a report must not hide the job's real outcome
        print(traceback.format_exc(), file=sys.stderr, flush=True)


def _record_fatal_signals(store: JobStore, name: str) -> None:
    """For each catchable signal that would kill the worker: record it, then die of it."""
    me = os.getpid()

    def fatal(signum: int, frame: Any) -> None:
        if os.getpid() == me:  # not in a forked training child
            try:
                store.record_exit(name, me, -signum, by="worker")
            except Exception:  # noqa: BLE001 - dying anyway; the spawner may still see it
                pass
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in FATAL_SIGNALS:
        if hasattr(signal, sig):
            signal.signal(getattr(signal, sig), fatal)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one local AutoML job (started by fit()).")
    parser.add_argument("--home", required=True, help="the lab home holding the job's record")
    parser.add_argument("--job", required=True, help="the AutoML job name")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a notebook's interrupt is not a stop
    faulthandler.enable()  # a crash in native code leaves "Fatal Python error" in the log
    for category, message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    store = JobStore(Path(args.home))
    _record_fatal_signals(store, args.job)
    code = 1
    try:
        code = run_job(Path(args.home), args.job)
    finally:  # an exception leaves 1 here and its traceback in the log
        try:
            store.record_exit(args.job, os.getpid(), code, by="worker")
        except Exception:  # noqa: BLE001 - the job's folder may be gone
            pass
    return code


if __name__ == "__main__":
    sys.exit(main())
