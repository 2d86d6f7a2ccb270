"""The local Autopilot: AutoML jobs with SageMaker Autopilot's lifecycle, artifacts and answers.

AWS equivalent: Amazon SageMaker Autopilot. Modules:

- the job API (CreateAutoMLJob, DescribeAutoMLJob, ... V1 and V2) is the local SageMaker
  client's, :mod:`utils.local.sagemaker.automl`; the sagemaker SDK's ``AutoML`` drives it;
- :mod:`.worker`: the background process that runs a job through Autopilot's stages;
- :mod:`.store`: job records under ``<lab home>/automl/<job>/``;
- :mod:`.data`, :mod:`.validation`, :mod:`.metrics`: analysis, problem type, folds, objectives;
- :mod:`.text`, :mod:`.learners`, :mod:`.stack`: featurizers, algorithms, text-model stack;
- :mod:`.hpo`, :mod:`.ensembling`: the HYPERPARAMETER_TUNING and ENSEMBLING engines;
- :mod:`.reports`, :mod:`.model`: reports, and the deployable candidate model.
"""

from __future__ import annotations

from typing import Any

from utils.local.automl.model import CandidateModel, CandidateModelError
from utils.local.automl.store import JobStore, ResourceInUse, ResourceNotFound


def _candidate(lab: Any, job_name: str, candidate_name: str | None) -> dict[str, Any]:
    store = JobStore(lab.home)
    record = store.read(job_name)
    name = candidate_name or record.get("best_candidate")
    if not name:
        raise ResourceNotFound(
            f"AutoML job {job_name} has no completed candidate yet (status "
            f"{record['AutoMLJobStatus']}/{record['AutoMLJobSecondaryStatus']})"
        )
    for cand in store.candidates(job_name):
        if cand["CandidateName"] == name:
            if cand["CandidateStatus"] != "Completed" or "model_uri" not in cand["_local"]:
                raise ResourceNotFound(f"candidate {name} is {cand['CandidateStatus']}: "
                                       "only a completed candidate has a model")  # fmt: skip
            return cand
    raise ResourceNotFound(f"AutoML job {job_name} has no candidate named {name!r}")


def load_candidate_model(lab: Any, job_name: str, candidate_name: str | None = None
                         ) -> CandidateModel:  # fmt: skip
    """Load a candidate's model (the best one by default) to predict in-process.

    AWS equivalent: ``AutoML.create_model(candidate=...)`` plus an endpoint; here the model's
    ``predict(texts)`` returns labels and ``predict_proba(texts)`` class probabilities (columns
    in ``model.classes_`` order). The model comes from the candidate's ``model.tar.gz`` in the
    lake, unpacked once under the job's folder.
    """
    from utils.local.automl.model import load_model_file, unpack

    cand = _candidate(lab, job_name, candidate_name)
    store = JobStore(lab.home)
    from utils.local.lake import LocalLake

    tar = LocalLake(lab.home).path_for(cand["_local"]["model_uri"])
    if not tar.is_file():
        raise ResourceNotFound(f"the model of {cand['CandidateName']} is missing from the lake "
                               f"({cand['_local']['model_uri']}); was the output deleted?")  # fmt: skip
    folder = store.job_dir(job_name) / "models" / cand["CandidateName"]
    return load_model_file(unpack(tar, folder))


def refit_candidate(lab: Any, job_name: str, candidate_name: str | None = None) -> CandidateModel:
    """Train a HYPERPARAMETER_TUNING candidate again from its definition and the job's input.

    AWS equivalent: running the candidate definition notebook's generated pipeline. Same
    featurizer blocks, learner, hyperparameters, seed and validation folds as in the job.
    """
    import numpy as np

    from utils.local.automl.data import analyze
    from utils.local.automl.hpo import cross_fit
    from utils.local.automl.text import CountCache, NgramSpec
    from utils.local.automl.validation import make_folds
    from utils.local.lake import LocalLake

    cand = _candidate(lab, job_name, candidate_name)
    definition = cand["_local"]["definition"]
    if "feature_blocks" not in definition:
        raise NotImplementedError(
            f"refit_candidate: {cand['CandidateName']} is a {definition.get('learner')} "
            "candidate; only single pipelines of HYPERPARAMETER_TUNING mode are refitted here "
            "(its definition lists everything needed to rebuild it by hand)"
        )
    record = JobStore(lab.home).read(job_name)
    req = record["request"]
    tab = req["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    uri = req["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    ds = analyze(LocalLake(lab.home), uri, tab["TargetAttributeName"],
                 record["ResolvedAttributes"]["AutoMLProblemTypeResolvedAttributes"]
                 ["TabularResolvedAttributes"]["ProblemType"])  # fmt: skip
    if "column_types" in record["local"]:
        ds.column_types = record["local"]["column_types"]
    fraction = (req.get("DataSplitConfig") or {}).get("ValidationFraction")
    folds, _ = make_folds(ds.y, ds.is_classification, definition["seed"], fraction)
    cache = CountCache(ds.frame[ds.features], ds.column_types)
    keys = []
    for spec in definition["feature_blocks"]:
        spec = NgramSpec(**{**spec, "ngram_range": tuple(spec["ngram_range"])})
        cache.add(spec)
        keys.append(spec.key)
    for train, _ in [*folds, (np.arange(len(ds.frame)), None)]:
        for key in keys:
            cache.block(key, train)
    model, *_ = cross_fit(ds, cache, folds, keys, definition["learner"],
                          definition["hyperparameters"], definition["seed"],
                          cand["CandidateName"])  # fmt: skip
    return model


__all__ = [
    "CandidateModel",
    "CandidateModelError",
    "JobStore",
    "ResourceInUse",
    "ResourceNotFound",
    "load_candidate_model",
    "refit_candidate",
]
