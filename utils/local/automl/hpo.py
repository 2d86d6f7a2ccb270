"""HYPERPARAMETER_TUNING mode: candidate pipelines searched with Optuna, plus a stacked ensemble.

AWS equivalent: Autopilot's HPO mode, which generates candidate pipelines (a data processor and
an algorithm: linear learner, XGBoost, MLP) and tunes them with Bayesian optimisation, each
trial a SageMaker training job. Here a trial is a featurizer set (word / character n-grams,
first and last sentence, negation-marked words) and a learner with hyperparameters, sampled by
Optuna's TPE sampler after a few well-known starting points; each trial runs in a forked
process with ``MaxRuntimePerTrainingJobInSeconds`` as a hard limit and is validated as
Autopilot validates (5-fold CV up to 50,000 rows). When at least two trials finished, the last
candidate slot goes to a stacked ensemble of the best distinct trials (their out-of-fold
probabilities, with the texts' sentiment-lexicon scores, into a logistic regression).
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any

import joblib
import numpy as np

from utils.local.automl import learners as L
from utils.local.automl import lexicon, metrics
from utils.local.automl.bounded import run_bounded
from utils.local.automl.context import JobContext, StopRequested, containers, training_steps
from utils.local.automl.model import CandidateModel, dump_model, write_model_tar
from utils.local.automl.text import CountCache, text_blocks
from utils.local.automl.validation import make_folds

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "word": ("word",),
    "char": ("char",),
    "word+char": ("word", "char"),
    "word+char+sentences": ("word", "char", "first", "last"),
    "negation+char+sentences": ("negated", "char", "first", "last"),
}
CLASSIFIER_SEEDS = [
    ("linear-svm", "word+char+sentences", L.DEFAULTS["linear-svm"]),
    ("nb-logistic", "word+char+sentences", L.DEFAULTS["nb-logistic"]),
    ("naive-bayes", "word", L.DEFAULTS["naive-bayes"]),
    ("xgboost", "word", L.DEFAULTS["xgboost"]),
    ("logistic-regression", "word+char", L.DEFAULTS["logistic-regression"]),
    ("linear-svm", "negation+char+sentences", {"C": 0.1, "class_weight": None}),
    ("mlp", "word", L.DEFAULTS["mlp"]),
]
REGRESSOR_SEEDS = [
    ("ridge", "word+char+sentences", L.DEFAULTS["ridge"]),
    ("linear-svr", "word+char", L.DEFAULTS["linear-svr"]),
    ("xgboost", "word", L.DEFAULTS["xgboost"]),
    ("mlp", "word", L.DEFAULTS["mlp"]),
]
FINISH_RESERVE = 20.0  # seconds kept for the ensemble and the reports when time runs short
# the pipeline timed when every candidate hit MaxRuntimePerTrainingJobInSeconds: a quick one
QUICKEST = {"classification": ("naive-bayes", "word"), "regression": ("ridge", "word")}


def feature_sets(cache: CountCache) -> dict[str, list[str]]:
    """Featurizer sets available for this data (one per text layout; "tabular" without text)."""
    if not cache.text_columns:
        return {"tabular": []}
    out = {}
    for name, blocks in FEATURE_SETS.items():
        out[name] = [f"{c}:{b}" for c in cache.text_columns for b in blocks]
    return out


def prepare_features(ctx: JobContext) -> tuple[CountCache, list, str]:
    """FeatureEngineering: count the n-gram blocks and fit each fold's data processors."""
    ds = ctx.dataset
    folds, how = make_folds(ds.y, ds.is_classification, ctx.seed, ctx_validation(ctx))
    cache = CountCache(ds.frame[ds.features], ds.column_types)
    for col in cache.text_columns:
        for spec in text_blocks(col, len(ds.frame)):
            ctx.check_stop()
            cache.add(spec)
    everything = np.arange(len(ds.frame))
    for train, _ in [*folds, (everything, None)]:
        for key in cache.specs:
            ctx.check_stop()
            cache.block(key, train)
    return cache, folds, how


def ctx_validation(ctx: JobContext) -> float | None:
    rec = ctx.store.read_raw(ctx.name)
    return (rec["request"].get("DataSplitConfig") or {}).get("ValidationFraction")


def write_data_processors(ctx: JobContext, cache: CountCache, sets: dict[str, list[str]]) -> dict:
    """One data processor model per featurizer set, fitted on all rows (``data-processor-models``)."""
    everything = np.arange(len(ctx.dataset.frame))
    out = {}
    for i, (name, keys) in enumerate(sets.items()):
        dpp = f"dpp{i}"
        tag = hashlib.sha1(f"{ctx.name}{dpp}".encode()).hexdigest()[:8]
        uri = ctx.uri(f"data-processor-models/{ctx.name}-{dpp}-1-{tag}/output/model.tar.gz")
        featurizer = cache.fitted(keys, everything)
        buffer = io.BytesIO()
        joblib.dump(featurizer, buffer, compress=3)
        write_model_tar(ctx.lake.path_for(uri), {"featurizer.joblib": buffer.getvalue()})
        out[name] = (dpp, uri)
    return out


def cross_fit(
    ds: Any, cache: CountCache, folds: list, keys: list[str], learner_name: str,
    params: dict[str, Any], seed: int, name: str = "",
) -> tuple[CandidateModel, dict[str, float], np.ndarray, np.ndarray]:  # fmt: skip
    """Validate one pipeline on ``folds`` and fit its final model.

    Returns the model, its validation scores, and the out-of-fold outputs with their rows.
    With cross-validation the final model is trained on every row; with a holdout, the model
    trained on the training split is the final one (as Autopilot does).
    """
    y = ds.y
    k = len(ds.classes)
    valid_rows = np.concatenate([v for _, v in folds])
    raw_oof: np.ndarray | None = None
    last = None
    for train, valid in folds:
        X = cache.matrix(keys, train)
        learner = L.make_learner(learner_name, ds.problem_type, k, seed, **params)
        learner.fit(X[train], y[train])
        raw = np.asarray(learner.raw(X[valid]), dtype=float).reshape(len(valid), -1)
        if raw_oof is None:
            raw_oof = np.zeros((len(y), raw.shape[1]))
        raw_oof[valid] = raw
        last = learner
    everything = np.arange(len(y))
    if len(folds) > 1:
        final = L.make_learner(learner_name, ds.problem_type, k, seed, **params)
        final.fit(cache.matrix(keys, everything), y)
        featurizer = cache.fitted(keys, everything)
    else:
        final = last
        featurizer = cache.fitted(keys, folds[0][0])
    assert raw_oof is not None and final is not None
    if ds.is_classification:
        final.calibrate(raw_oof[valid_rows], y[valid_rows])
        out = final.proba_from_raw(raw_oof[valid_rows])
    else:
        out = raw_oof[valid_rows].ravel()
    scores = metrics.all_scores(ds.problem_type, y[valid_rows], out, k)
    model = CandidateModel(featurizer, final, ds.problem_type, ds.classes, ds.features,
                           ds.target, name)  # fmt: skip
    return model, scores, out, valid_rows


def train_trial(
    ctx: JobContext, cache: CountCache, folds: list, keys: list[str], learner_name: str,
    params: dict[str, Any], name: str, model_uri: str,
) -> dict[str, Any]:  # fmt: skip
    """One candidate: cross-validate, refit, save ``model.tar.gz``; runs in a forked child."""
    started = time.monotonic()
    model, scores, out, rows = cross_fit(ctx.dataset, cache, folds, keys, learner_name, params,
                                         ctx.seed, name)  # fmt: skip
    size = write_model_tar(ctx.lake.path_for(model_uri), {"model.joblib": dump_model(model)})
    return {"scores": scores, "oof": out, "rows": rows, "seconds": time.monotonic() - started,
            "bytes": size}  # fmt: skip


def run(ctx: JobContext) -> None:
    """Run HYPERPARAMETER_TUNING to completion, stop, or the end of the budget."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ds = ctx.dataset
    ctx.stage("FeatureEngineering", "fitting the data processors: n-gram TF-IDF per fold")
    cache, folds, how = prepare_features(ctx)
    sets = feature_sets(cache)
    dpps = write_data_processors(ctx, cache, sets)
    ctx.progress(f"data processors ready: {', '.join(sets)}; validation: {how}")

    ctx.stage("ModelTuning", f"tuning candidates ({how})")
    names = sorted(L.REGRESSORS if ds.problem_type == "Regression" else L.CLASSIFIERS)
    seeds = REGRESSOR_SEEDS if ds.problem_type == "Regression" else CLASSIFIER_SEEDS
    direction = "minimize" if metrics.direction(ctx.objective) == "Minimize" else "maximize"
    sampler = optuna.samplers.TPESampler(seed=ctx.seed, n_startup_trials=4)
    study = optuna.create_study(direction=direction, sampler=sampler)
    for learner_name, fset, params in seeds:
        if fset not in sets:
            fset = next(iter(sets))
        suggested = {f"{learner_name}:{p}": v for p, v in params.items() if p != "max_features"}
        if learner_name == "xgboost" and "alpha" in params:
            suggested.pop("xgboost:alpha")
            suggested["xgboost:xgb_alpha"] = params["alpha"]
        if learner_name == "mlp" and "alpha" in params:
            suggested.pop("mlp:alpha")
            suggested["mlp:mlp_alpha"] = params["alpha"]
        study.enqueue_trial({"learner": learner_name, "features": fset, **suggested})

    ensemble_slot = ctx.max_candidates >= 3
    trials_allowed = ctx.max_candidates - (1 if ensemble_slot else 0)
    launched = 0
    results: dict[str, dict[str, Any]] = {}
    # what is kept for the ensemble and the explainability report; ctx.usable() keeps the
    # closing steps' time on top, so the job ends within MaxAutoMLJobRuntimeInSeconds
    reserve = min(FINISH_RESERVE, 0.1 * max(ctx.usable(), 0))
    failures: list[str] = []
    limit_failures = 0  # candidates stopped by MaxRuntimePerTrainingJobInSeconds
    while launched < trials_allowed:
        ctx.check_stop()
        budget = ctx.usable() - reserve
        if budget < 1.0:
            ctx.ended_by = "MaxAutoMLJobRuntimeReached"
            break
        trial = study.ask()
        learner_name = trial.suggest_categorical("learner", names)
        fset = trial.suggest_categorical("features", list(sets))
        params = L.suggest(trial, learner_name)
        definition = {"pipeline": f"{fset} -> {learner_name}", "features": fset,
                      "feature_blocks": [cache.specs[k].as_dict() for k in sets[fset]],
                      "learner": learner_name, "hyperparameters": params, "seed": ctx.seed,
                      "validation": how}  # fmt: skip
        name = ctx.candidate_name(definition)
        dpp, dpp_uri = dpps[fset]
        algo = learner_name
        model_uri = ctx.uri(f"tuning/{ctx.name}-{dpp}-{algo}/{name}/output/model.tar.gz")
        ctx.start_candidate(name, training_steps(ctx, name, dpp), definition)
        launched += 1
        timeout = min(ctx.per_candidate_seconds, budget)
        ctx.progress(f"training candidate {launched}: {definition['pipeline']}",
                     candidates_launched=launched)  # fmt: skip
        outcome = run_bounded(
            lambda n=name, ks=sets[fset], ln=learner_name, pr=params, mu=model_uri: train_trial(
                ctx, cache, folds, ks, ln, pr, n, mu
            ),
            timeout, ctx.should_stop,
        )  # fmt: skip
        if outcome.status == "ok":
            value = outcome.value["scores"][ctx.objective]
            study.tell(trial, value)
            ctx.finish_candidate(
                name, outcome.value["scores"], containers(ctx, algo, model_uri, dpp_uri), model_uri,
                extra={"seconds": round(outcome.seconds, 2), "definition": definition},
            )  # fmt: skip
            results[name] = outcome.value | {"definition": definition, "model_uri": model_uri}
            ctx.save_oof(name, outcome.value["rows"], outcome.value["oof"])
            ctx.progress(f"candidate {name}: {ctx.objective} {value:.4f} "
                         f"({outcome.seconds:.1f} s)")  # fmt: skip
            continue
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if outcome.status == "stopped":
            ctx.fail_candidate(name, "Stopped", "the AutoML job was stopped")
            raise StopRequested()
        if outcome.status == "timeout" and timeout < ctx.per_candidate_seconds:
            ctx.fail_candidate(name, "Stopped", "MaxAutoMLJobRuntimeInSeconds was reached "
                               "while this candidate trained")  # fmt: skip
            ctx.ended_by = "MaxAutoMLJobRuntimeReached"
            failures.append("MaxAutoMLJobRuntimeInSeconds was reached while a candidate trained")
            break
        if outcome.status == "timeout":
            limit_failures += 1
            reason = (f"MaxRuntimePerTrainingJobInSeconds ({ctx.per_candidate_seconds:g} s) "
                      f"was reached after {outcome.seconds:.0f} s")  # fmt: skip
        else:
            reason = f"training failed: {outcome.error.strip().splitlines()[0][:400]}"
            ctx.store.event(ctx.name, f"candidate {name} error", detail=outcome.error[-4000:])
        failures.append(reason)
        ctx.fail_candidate(name, "Failed", reason)
    else:
        ctx.ended_by = "MaxCandidatesReached"

    if ensemble_slot and len(results) >= 2 and ctx.usable() > 1:
        ctx.check_stop()
        build_ensemble(ctx, results)
    ctx.notes.extend(failures)
    if not results and launched and limit_failures == launched:
        _measure_quickest(ctx, cache, folds, sets)


def _measure_quickest(ctx: JobContext, cache: CountCache, folds: list,
                      sets: dict[str, list[str]]) -> None:  # fmt: skip
    """Every candidate hit MaxRuntimePerTrainingJobInSeconds: time a quick pipeline (validated
    as a candidate is, written nowhere) so the job's FailureReason can say what one needs."""
    ds = ctx.dataset
    learner, fset = QUICKEST["regression" if ds.problem_type == "Regression" else "classification"]
    if fset not in sets:
        fset = next(iter(sets))

    def work() -> None:
        cross_fit(ds, cache, folds, sets[fset], learner, L.DEFAULTS[learner], ctx.seed)

    ctx.measure_minimum(work, f"{fset} -> {learner}", lambda seconds, _: seconds)


def build_ensemble(ctx: JobContext, results: dict[str, dict[str, Any]]) -> None:
    """The last candidate: a stacked ensemble of the best distinct trials."""
    ds = ctx.dataset
    sign = -1 if metrics.direction(ctx.objective) == "Minimize" else 1
    ranked = sorted(results, key=lambda n: -sign * results[n]["scores"][ctx.objective])
    members, seen = [], set()
    for n in ranked:
        pipe = results[n]["definition"]["pipeline"]
        if pipe in seen:
            continue
        seen.add(pipe)
        members.append(n)
        if len(members) == 6:
            break
    if len(members) < 2:
        return
    definition = {"pipeline": "stacked ensemble", "learner": "stacked-ensemble",
                  "members": members, "meta_learner": "logistic-regression" if
                  ds.is_classification else "ridge", "seed": ctx.seed}  # fmt: skip
    name = ctx.candidate_name(definition)
    model_uri = ctx.uri(f"tuning/{ctx.name}-ensemble/{name}/output/model.tar.gz")
    ctx.start_candidate(name, training_steps(ctx, name, None), definition)
    timeout = max(1.0, min(ctx.per_candidate_seconds, ctx.usable()))
    outcome = run_bounded(lambda: _fit_ensemble(ctx, results, members, name, model_uri),
                          timeout, ctx.should_stop)  # fmt: skip
    if outcome.status == "ok":
        definition["meta_hyperparameters"] = outcome.value["meta"]
        ctx.save_oof(name, outcome.value["rows"], outcome.value["oof"])
        ctx.finish_candidate(name, outcome.value["scores"],
                             containers(ctx, "stacked-ensemble", model_uri, None), model_uri,
                             extra={"seconds": round(outcome.seconds, 2),
                                    "definition": definition})  # fmt: skip
        ctx.progress(f"ensemble {name}: {ctx.objective} "
                     f"{outcome.value['scores'][ctx.objective]:.4f}")  # fmt: skip
    elif outcome.status == "stopped":
        ctx.fail_candidate(name, "Stopped", "the AutoML job was stopped")
        raise StopRequested()
    else:
        why = "time budget reached" if outcome.status == "timeout" else outcome.error[:400]
        ctx.fail_candidate(name, "Failed", f"ensemble: {why}")


def _fit_ensemble(ctx, results, members, name, model_uri) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.preprocessing import StandardScaler

    from utils.local.automl.model import IdentityFeaturizer, StackedEstimator, load_model_file
    from utils.local.automl.model import unpack as _unpack

    ds = ctx.dataset
    rows = results[members[0]]["rows"]
    y = ds.y[rows]
    blocks = []
    for m in members:  # every trial used the same folds: rows line up
        out = results[m]["oof"]
        blocks.append(np.log(np.clip(out, 1e-9, 1)) if ds.is_classification else
                      out.reshape(-1, 1))  # fmt: skip
    text_columns = [c for c in ds.features if ds.column_types.get(c) == "text"]
    if len(rows) > lexicon.MAX_ROWS:
        text_columns = []
    for col in text_columns:  # sentiment-lexicon scores join the members' scores
        blocks.append(lexicon.features(ds.frame[col].to_numpy()[rows].tolist()))
    Z = np.hstack(blocks)
    scaler = StandardScaler().fit(Z)
    Zs = scaler.transform(Z)
    best, best_c, best_out = None, None, None
    for c in (0.03, 0.3, 3.0):
        if ds.is_classification:
            meta = LogisticRegression(C=c, max_iter=2000)
            cv = StratifiedKFold(5, shuffle=True, random_state=ctx.seed + 1)
            out = cross_val_predict(meta, Zs, y, cv=cv, method="predict_proba")
        else:
            meta = Ridge(alpha=1.0 / c)
            out = cross_val_predict(meta, Zs, y, cv=KFold(5, shuffle=True,
                                                          random_state=ctx.seed + 1))  # fmt: skip
        value = metrics.score(ctx.objective, y, out, len(ds.classes))
        if metrics.better(ctx.objective, value, best):
            best, best_c, best_out = value, c, out
    meta = (LogisticRegression(C=best_c, max_iter=2000) if ds.is_classification
            else Ridge(alpha=1.0 / best_c)).fit(Zs, y)  # fmt: skip
    scores = metrics.all_scores(ds.problem_type, y, best_out, len(ds.classes))
    loaded = []
    for m in members:
        tar = ctx.lake.path_for(results[m]["model_uri"])
        folder = _unpack(tar, ctx.store.work_dir(ctx.name) / "members" / m)
        loaded.append(load_model_file(folder))
    estimator = StackedEstimator(loaded, meta, scaler, text_columns)
    model = CandidateModel(IdentityFeaturizer(), estimator, ds.problem_type, ds.classes,
                           ds.features, ds.target, name)  # fmt: skip
    write_model_tar(ctx.lake.path_for(model_uri), {"model.joblib": dump_model(model)})
    return {"scores": scores, "meta": {"C": best_c}, "oof": best_out, "rows": rows}
