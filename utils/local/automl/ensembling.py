"""ENSEMBLING mode: AutoGluon's bagged models and a weighted ensemble, on text-model features.

AWS equivalent: Autopilot's ENSEMBLING mode, which trains AutoGluon models (CatBoost, extra
trees, LightGBM, linear, random forest, XGBoost, neural networks) with k-fold bagging and
combines them with a weighted ensemble. Here, before AutoGluon sees the data, each text column
becomes the out-of-fold scores of linear text models (:mod:`utils.local.automl.stack`), which
serve review text far better than AutoGluon's default n-gram features. Then each AutoGluon model
type is trained in its own forked process (so ``MaxRuntimePerTrainingJobInSeconds`` and
``StopAutoMLJob`` act at once) and is one candidate; the weighted ensemble is the last one.
AutoGluon's neural networks need PyTorch, which the local backend does not install.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from utils.local.automl import metrics
from utils.local.automl.bounded import OutOfTime, run_bounded
from utils.local.automl.context import JobContext, StopRequested, containers, training_steps
from utils.local.automl.model import CandidateModel, dump_model, write_model_tar
from utils.local.automl.stack import build_stack
from utils.local.automl.text import CountCache, text_blocks
from utils.local.automl.validation import make_folds

LABEL = "__label__"
# AutoGluon model types in the order they are tried (fast and strong first)
AG_ORDER = ("LR", "CAT", "GBM", "XGB", "XT", "RF")
AG_ALGORITHM = {"LR": "linear", "CAT": "catboost", "GBM": "lightgbm", "XGB": "xgboost",
                "XT": "extra-trees", "RF": "random-forest", "ENS": "weighted-ensemble"}  # fmt: skip
AG_METRIC = {
    "Accuracy": "accuracy", "BalancedAccuracy": "balanced_accuracy", "F1": "f1",
    "F1macro": "f1_macro", "PrecisionMacro": "precision_macro", "RecallMacro": "recall_macro",
    "Precision": "precision", "Recall": "recall", "AUC": "roc_auc", "MSE": "mean_squared_error",
    "MAE": "mean_absolute_error", "R2": "r2", "RMSE": "root_mean_squared_error",
}  # fmt: skip
AG_PROBLEM = {"BinaryClassification": "binary", "MulticlassClassification": "multiclass",
              "Regression": "regression"}  # fmt: skip
STACK_SHARE = 0.45  # at most this share of the remaining budget goes to the text models
TIME_FAILURES = {"InsufficientTime", "TimeLimitExceeded"}  # AutoGluon: not enough time


class _NoTorchNotice(logging.Filter):
    """AutoGluon logs "Failed to import torch" (as an error) at every fit without PyTorch,
    which the local backend does not install: the notice says nothing about a job."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to import torch" not in record.getMessage()


logging.getLogger("autogluon.common.utils.resource_utils").addFilter(_NoTorchNotice())


def safe_columns(columns: list[str]) -> dict[str, str]:
    """Column names AutoGluon stores without trouble (letters, digits, underscores)."""
    out, used = {}, set()
    for c in columns:
        name = re.sub(r"[^0-9a-zA-Z_]+", "_", str(c)).strip("_") or "f"
        base, i = name, 1
        while name in used:
            i += 1
            name = f"{base}_{i}"
        used.add(name)
        out[c] = name
    return out


class AutoGluonEstimator:
    """One model of an AutoGluon predictor unpacked next to the candidate's ``model.joblib``."""

    def __init__(self, model: str, problem_type: str, columns: dict[str, str]) -> None:
        self.model = model
        self.problem_type = problem_type
        self.columns = columns
        self.path: Path | None = None
        self._predictor: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_predictor"] = None
        return state

    def bind(self, base_dir: Path) -> None:
        self.path = Path(base_dir) / "autogluon"

    def predictor(self) -> Any:
        if self._predictor is None:
            from autogluon.tabular import TabularPredictor

            if self.path is None:
                raise RuntimeError("load the candidate with load_candidate_model() first")
            predictor = TabularPredictor.load(str(self.path), verbosity=0,
                                              require_py_version_match=False)  # fmt: skip
            # keep this model (and the models it stacks on) in memory: AutoGluon otherwise
            # reads them from disk at every predict, which an endpoint does per request
            predictor.persist(models=[self.model], with_ancestors=True)
            self._predictor = predictor
        return self._predictor

    def _frame(self, features: pd.DataFrame) -> pd.DataFrame:
        return features.rename(columns=self.columns)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        proba = self.predictor().predict_proba(self._frame(features), model=self.model,
                                               as_multiclass=True)  # fmt: skip
        return proba.sort_index(axis=1).to_numpy(dtype=float)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.predictor().predict(self._frame(features), model=self.model).to_numpy()


def _fit_one(
    ctx: JobContext, ag_path: Path, train: pd.DataFrame, code: str, first: bool,
    time_limit: float | None, folds: int,
) -> dict[str, Any]:  # fmt: skip
    """Train one AutoGluon model type (bagged) in a forked child; returns its OOF outputs.
    ``time_limit`` is AutoGluon's own (None: none); training nothing for lack of time raises
    :class:`OutOfTime`, a model's error a RuntimeError with AutoGluon's reason."""
    from autogluon.tabular import TabularPredictor

    ds = ctx.dataset
    args = dict(hyperparameters={code: {}}, fit_weighted_ensemble=False,
                time_limit=None if time_limit is None else max(1.0, time_limit))  # fmt: skip
    if first:
        if ag_path.exists():
            shutil.rmtree(ag_path)
        predictor = TabularPredictor(label=LABEL, problem_type=AG_PROBLEM[ds.problem_type],
                                     eval_metric=AG_METRIC[ctx.objective], path=str(ag_path),
                                     verbosity=0)  # fmt: skip
        before: set[str] = set()
        failed_before = 0
        try:
            predictor.fit(train, num_bag_folds=folds, num_bag_sets=1, num_stack_levels=0,
                          dynamic_stacking=False, raise_on_no_models_fitted=False, **args)  # fmt: skip
        except RuntimeError as exc:  # an AutoGluon version that raises anyway
            if "No models were trained" not in str(exc):
                raise
    else:
        predictor = TabularPredictor.load(str(ag_path), verbosity=0)
        before = set(predictor.model_names())
        failed_before = len(_failures(predictor))
        predictor.fit_extra(**args)
    new = [m for m in predictor.model_names() if m not in before]
    if not new:
        _no_model(code, time_limit, _failures(predictor)[failed_before:])
    return _outputs(ctx, predictor, new[0])


def _failures(predictor: Any) -> list[tuple[str, str]]:
    """AutoGluon's failed model fits so far, in order: (exception type, message)."""
    try:
        frame = predictor._trainer.model_failures()
    except Exception:  # noqa: BLE001 - no trainer yet, or an AutoGluon without the table
        return []
    if frame is None or len(frame) == 0:
        return []
    if "exc_order" in frame:
        frame = frame.sort_values("exc_order")
    return [(str(t), str(m)) for t, m in zip(frame["exc_type"], frame["exc_str"], strict=False)]


def _no_model(code: str, time_limit: float | None, failures: list[tuple[str, str]]) -> None:
    """AutoGluon trained nothing: for lack of time (it skipped the model, or the model hit
    AutoGluon's time limit) that is OutOfTime; otherwise the model's own error."""
    algorithm = AG_ALGORITHM[code]
    errors = [(t, m) for t, m in failures if t not in TIME_FAILURES]
    if errors:
        kind, message = errors[-1]
        raise RuntimeError(f"AutoGluon's {algorithm} model failed: {kind}: {message}"[:600])
    given = "" if time_limit is None else f" within the {max(1.0, time_limit):.1f} s it was given"
    raise OutOfTime(f"AutoGluon trained no {algorithm} model{given} (too little time: "
                    + ("it stopped the model at its time limit)" if failures
                       else "it skipped the model)"))  # fmt: skip


def _fit_ensemble(ctx: JobContext, ag_path: Path, members: list[str]) -> dict[str, Any]:
    from autogluon.tabular import TabularPredictor

    predictor = TabularPredictor.load(str(ag_path), verbosity=0)
    names = predictor.fit_weighted_ensemble(base_models=members, name_suffix="")
    return _outputs(ctx, predictor, names[0])


def _outputs(ctx: JobContext, predictor: Any, model: str) -> dict[str, Any]:
    ds = ctx.dataset
    y = ds.y
    if ds.is_classification:
        oof = predictor.predict_proba_oof(model=model, as_multiclass=True)
        out = oof.sort_index(axis=1).to_numpy(dtype=float)
    else:
        out = predictor.predict_oof(model=model).to_numpy(dtype=float)
    scores = metrics.all_scores(ds.problem_type, y, out, len(ds.classes))
    return {"model": model, "scores": scores, "oof": out}


def _package(ctx: JobContext, ag_path: Path, model: str, featurizer: Any,
             columns: dict[str, str], name: str, target: Path) -> int:  # fmt: skip
    """Clone the AutoGluon model (and what it needs) next to the candidate's model.joblib, in
    the ``model.tar.gz`` at ``target``."""
    from autogluon.tabular import TabularPredictor

    ds = ctx.dataset
    predictor = TabularPredictor.load(str(ag_path), verbosity=0)
    staging = ctx.store.work_dir(ctx.name) / "deploy" / name
    if staging.exists():
        shutil.rmtree(staging)
    clone_dir = staging / "autogluon"
    predictor.clone_for_deployment(path=str(clone_dir), model=model, dirs_exist_ok=True)
    estimator = AutoGluonEstimator(model, ds.problem_type, columns)
    candidate = CandidateModel(featurizer, estimator, ds.problem_type, ds.classes, ds.features,
                               ds.target, name)  # fmt: skip
    size = write_model_tar(target, {"model.joblib": dump_model(candidate)},
                           dirs=[clone_dir])  # fmt: skip
    shutil.rmtree(staging, ignore_errors=True)
    return size


def run(ctx: JobContext) -> None:
    """Run ENSEMBLING to completion, stop, or the end of the budget."""
    ds = ctx.dataset
    y = ds.y
    ctx.stage("FeatureEngineering", "text models: counting n-grams and fitting linear models")
    folds, how = make_folds(y, ds.is_classification, ctx.seed, force_cv=True)
    cache = CountCache(ds.frame[ds.features], ds.column_types)
    for col in cache.text_columns:
        for spec in text_blocks(col, len(ds.frame)):
            ctx.check_stop()
            cache.add(spec)
    stack_deadline = time.monotonic() + STACK_SHARE * max(0.0, ctx.usable())
    features, featurizer, log = build_stack(
        cache, y, folds, ds.problem_type, ds.classes, ctx.seed, stack_deadline,
        progress=ctx.progress, should_stop=ctx.should_stop,
    )  # fmt: skip
    ctx.check_stop()
    del cache
    tag = hashlib.sha1(f"{ctx.name}dpp0".encode()).hexdigest()[:8]
    dpp_uri = ctx.uri(f"data-processor-models/{ctx.name}-dpp0-1-{tag}/output/model.tar.gz")
    buffer = io.BytesIO()
    joblib.dump(featurizer, buffer, compress=3)
    write_model_tar(ctx.lake.path_for(dpp_uri), {"featurizer.joblib": buffer.getvalue(),
                                                  "text_models.json": _json(log)})  # fmt: skip
    columns = safe_columns(list(features.columns))
    train = features.rename(columns=columns)
    train[LABEL] = y
    ctx.progress(f"text features ready: {len(features.columns)} columns from "
                 f"{len(featurizer.bases)} text models; bagging: {how}")  # fmt: skip

    ctx.stage("TrainingModels", "training AutoGluon models with k-fold bagging")
    ensemble_slot = ctx.max_candidates >= 3
    n_base = min(len(AG_ORDER), ctx.max_candidates - (1 if ensemble_slot else 0))
    ag_path = ctx.store.work_dir(ctx.name) / "autogluon"
    done: dict[str, dict[str, Any]] = {}  # candidate -> outputs
    launched = 0
    ready = False
    limit_failures = 0  # candidates stopped by MaxRuntimePerTrainingJobInSeconds
    # what is kept for the ensemble and the explainability report; ctx.usable() keeps the
    # closing steps' time on top, so the job ends within MaxAutoMLJobRuntimeInSeconds
    reserve = min(15.0, 0.1 * max(ctx.usable(), 0))
    for code in AG_ORDER[:n_base]:
        ctx.check_stop()
        budget = ctx.usable() - reserve
        # AutoGluon gets 85 % of a candidate's time less 2 s: under 2 s of that it trains nothing
        if budget < 2.0 or (budget < ctx.per_candidate_seconds and budget * 0.85 - 2 < 2.0):
            ctx.ended_by = "MaxAutoMLJobRuntimeReached"
            break
        definition = {"pipeline": f"text models -> AutoGluon {AG_ALGORITHM[code]} (bagged)",
                      "learner": AG_ALGORITHM[code], "autogluon_model_type": code,
                      "hyperparameters": {code: {}}, "num_bag_folds": len(folds),
                      "text_models": log, "seed": ctx.seed, "validation": how}  # fmt: skip
        name = ctx.candidate_name(definition)
        uri = ctx.uri(f"tuning/{ctx.name}-ensembling/{name}/output/model.tar.gz")
        ctx.start_candidate(name, training_steps(ctx, name, "dpp0"), definition)
        launched += 1
        timeout = min(ctx.per_candidate_seconds, budget)
        ctx.progress(f"training candidate {launched}: AutoGluon {AG_ALGORITHM[code]}",
                     candidates_launched=launched)  # fmt: skip
        # AutoGluon stops itself a little before the hard limit, so its work is kept; one slow
        # model type may use at most twice its fair share of what is left
        left = n_base - launched + 1 + (1 if ensemble_slot else 0)
        share = max(15.0, 2 * budget / left)
        soft = max(1.0, min(timeout * 0.85 - 2, share))
        outcome = run_bounded(
            lambda c=code, f=not ready, t=soft, n=name, u=uri: _fit_and_package(
                ctx, ag_path, train, c, f, t, len(folds), featurizer, columns, n, u
            ),
            timeout, ctx.should_stop,
        )  # fmt: skip
        if outcome.status == "ok":
            ready = True
            done[name] = outcome.value
            ctx.save_oof(name, np.arange(len(y)), outcome.value["oof"])
            ctx.finish_candidate(name, outcome.value["scores"],
                                 containers(ctx, f"autogluon-{AG_ALGORITHM[code]}", uri, dpp_uri),
                                 uri, extra={"seconds": round(outcome.seconds, 2),
                                             "autogluon_model": outcome.value["model"],
                                             "definition": definition})  # fmt: skip
            ctx.progress(f"candidate {name} ({AG_ALGORITHM[code]}): {ctx.objective} "
                         f"{outcome.value['scores'][ctx.objective]:.4f}")  # fmt: skip
            continue
        if outcome.status == "stopped":
            ctx.fail_candidate(name, "Stopped", "the AutoML job was stopped")
            raise StopRequested()
        if outcome.status == "timeout":
            # killed at the limit, or AutoGluon gave up within its soft limit (outcome.error)
            ready = ready and (ag_path / "predictor.pkl").exists()
            if outcome.error and share < timeout * 0.85 - 2:  # its share was short, not a limit
                reason = (f"{outcome.error}; that was its share of the time left in "
                          "MaxAutoMLJobRuntimeInSeconds")  # fmt: skip
                ctx.fail_candidate(name, "Failed", reason)
                ctx.notes.append(reason)
                continue
            limit_is_job = timeout < ctx.per_candidate_seconds
            reason = ("MaxAutoMLJobRuntimeInSeconds was reached while this candidate trained"
                      if limit_is_job else f"MaxRuntimePerTrainingJobInSeconds "
                      f"({ctx.per_candidate_seconds:g} s) was reached")  # fmt: skip
            if outcome.error:
                reason += f": {outcome.error}"
            ctx.fail_candidate(name, "Stopped" if limit_is_job else "Failed", reason)
            ctx.notes.append(reason)
            if limit_is_job:
                ctx.ended_by = "MaxAutoMLJobRuntimeReached"
                break
            limit_failures += 1
            continue
        reason = f"training failed: {outcome.error.strip().splitlines()[0][:400]}"
        ctx.store.event(ctx.name, f"candidate {name} error", detail=outcome.error[-4000:])
        ctx.fail_candidate(name, "Failed", reason)
        ctx.notes.append(reason)
    else:
        if n_base < len(AG_ORDER):
            ctx.ended_by = "MaxCandidatesReached"

    if not done and launched and limit_failures == launched:
        _measure_quickest(ctx, train, len(folds), featurizer, columns)
    if ensemble_slot and len(done) >= 2 and ctx.usable() > 1:
        ctx.check_stop()
        members = [v["model"] for v in done.values()]
        definition = {"pipeline": "AutoGluon weighted ensemble (Caruana ensemble selection)",
                      "learner": "weighted-ensemble", "members": list(done),
                      "autogluon_members": members, "seed": ctx.seed}  # fmt: skip
        name = ctx.candidate_name(definition)
        uri = ctx.uri(f"tuning/{ctx.name}-ensembling/{name}/output/model.tar.gz")
        ctx.start_candidate(name, training_steps(ctx, name, "dpp0"), definition)
        outcome = run_bounded(
            lambda: _ensemble_and_package(ctx, ag_path, members, featurizer, columns, name, uri),
            max(1.0, min(ctx.per_candidate_seconds, ctx.usable())), ctx.should_stop,
        )  # fmt: skip
        if outcome.status == "ok":
            ctx.save_oof(name, np.arange(len(y)), outcome.value["oof"])
            ctx.finish_candidate(name, outcome.value["scores"],
                                 containers(ctx, "autogluon-weighted-ensemble", uri, dpp_uri),
                                 uri, extra={"seconds": round(outcome.seconds, 2),
                                             "autogluon_model": outcome.value["model"],
                                             "definition": definition})  # fmt: skip
            ctx.progress(f"candidate {name} (weighted ensemble): {ctx.objective} "
                         f"{outcome.value['scores'][ctx.objective]:.4f}")  # fmt: skip
        elif outcome.status == "stopped":
            ctx.fail_candidate(name, "Stopped", "the AutoML job was stopped")
            raise StopRequested()
        else:
            why = "time budget reached" if outcome.status == "timeout" else outcome.error[:400]
            ctx.fail_candidate(name, "Failed", f"ensemble: {why}")


def _fit_and_package(ctx, ag_path, train, code, first, time_limit, folds, featurizer, columns,
                     name, uri):  # fmt: skip
    out = _fit_one(ctx, ag_path, train, code, first, time_limit, folds)
    out["bytes"] = _package(ctx, ag_path, out["model"], featurizer, columns, name,
                            ctx.lake.path_for(uri))  # fmt: skip
    return out


def _ensemble_and_package(ctx, ag_path, members, featurizer, columns, name, uri):
    out = _fit_ensemble(ctx, ag_path, members)
    out["bytes"] = _package(ctx, ag_path, out["model"], featurizer, columns, name,
                            ctx.lake.path_for(uri))  # fmt: skip
    return out


def _measure_quickest(ctx: JobContext, train: pd.DataFrame, folds: int, featurizer: Any,
                      columns: dict[str, str]) -> None:  # fmt: skip
    """Every candidate hit MaxRuntimePerTrainingJobInSeconds: time the quickest AutoGluon model
    type (bagged, then packaged as a candidate is, in the job's scratch folder only) with no
    time limit, so the job's FailureReason can say what one candidate needs."""
    code = AG_ORDER[0]
    scratch = ctx.store.work_dir(ctx.name) / "probe"

    def work() -> dict[str, float]:
        started = time.monotonic()
        out = _fit_one(ctx, scratch / "autogluon", train, code, True, None, folds)
        fitted = time.monotonic() - started
        _package(ctx, scratch / "autogluon", out["model"], featurizer, columns, "probe",
                 scratch / "model.tar.gz")  # fmt: skip
        return {"fit": fitted}

    def suggest(seconds: float, value: dict[str, float]) -> float:
        # a candidate's AutoGluon gets 85 % of the limit less 2 s (see run): enough for the fit
        return (value["fit"] + 2) / 0.85

    try:
        ctx.measure_minimum(work, f"AutoGluon {AG_ALGORITHM[code]}, bagged", suggest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _json(data: Any) -> bytes:
    import json

    return json.dumps(data, indent=1, default=str).encode()
