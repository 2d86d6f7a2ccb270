"""The local AutoML job's lifecycle, driven by the sagemaker SDK's own ``AutoML`` on
``lab.session``: stages, artifacts, stop, crash, another process, limits, bad input. Synthetic
reviews (a few hundred rows) and tiny budgets keep each job to seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from botocore.exceptions import ClientError
from sagemaker.automl.automl import AutoML
from sagemaker.exceptions import UnexpectedStatusException

from utils.local.automl import load_candidate_model
from utils.local.automl.bounded import TEST_DELAY_VAR
from utils.local.automl.store import JobStore
from utils.local.automl.synthetic import make_reviews


def _automl(lab, **kwargs):
    """The course's class, on the lab's session and role."""
    return AutoML(role=lab.role, sagemaker_session=lab.session, **kwargs)


def _wait(lab, name):
    """``Session.wait_for_auto_ml_job`` (what ``AutoML.fit(wait=True)`` calls), polling fast."""
    return lab.session.wait_for_auto_ml_job(name, poll=0.5)


def _upload(lab, frame, key="data/train.csv"):
    lab.ensure_bucket()
    lab.wr.s3.to_csv(frame, lab.s3_uri(key), index=False)
    return lab.s3_uri(key)


def _poll(automl, name, until, timeout=120):
    """Describe the job until ``until(desc)``; returns the secondary statuses seen."""
    seen, started = [], time.monotonic()
    while True:
        desc = automl.describe_auto_ml_job(name)
        if not seen or seen[-1] != desc["AutoMLJobSecondaryStatus"]:
            seen.append(desc["AutoMLJobSecondaryStatus"])
        if until(desc):
            return seen, desc
        assert time.monotonic() - started < timeout, f"timed out; seen {seen}"
        time.sleep(0.1)


@pytest.fixture
def synthetic_uri(local_lab):
    return _upload(local_lab, make_reviews(300, seed=3))


def test_hpo_job_runs_through_autopilots_stages(local_lab, synthetic_uri):
    automl = _automl(local_lab, target_attribute_name="sentiment", base_job_name="automl-dm",
                              output_path=local_lab.s3_uri("autopilot"), max_candidates=3,
                              mode="HYPERPARAMETER_TUNING",
                              total_job_runtime_in_seconds=300)  # fmt: skip
    started = time.monotonic()
    automl.fit(inputs=synthetic_uri, wait=False, logs=False)
    assert time.monotonic() - started < 5, "fit(wait=False) must return at once"
    name = automl.current_job_name
    assert name.startswith("automl-d-") and len(name) <= 32  # trimmed as the SDK trims
    seen, desc = _poll(automl, name, lambda d: d["AutoMLJobStatus"] != "InProgress")
    assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["AutoMLJobSecondaryStatus"] == "MaxCandidatesReached"
    order = ["Starting", "AnalyzingData", "FeatureEngineering", "ModelTuning",
             "GeneratingExplainabilityReport", "MaxCandidatesReached"]  # fmt: skip
    assert [s for s in seen if s in order] == [s for s in order if s in seen]
    assert {"ModelTuning", "MaxCandidatesReached"} <= set(seen)
    events = [e["stage"] for e in JobStore(local_lab.home).events(name) if "stage" in e]
    assert [s for s in order if s in events] == order  # every stage was passed, in order

    cands = automl.list_candidates(name, sort_by="FinalObjectiveMetricValue",
                                   sort_order="Descending")  # fmt: skip
    assert len(cands) == 3 and all(c["CandidateStatus"] == "Completed" for c in cands)
    for c in cands:
        assert c["CandidateName"].startswith(name + "-")
        assert c["FinalAutoMLJobObjectiveMetric"]["MetricName"] == "validation:accuracy"
        assert c["FinalAutoMLJobObjectiveMetric"]["StandardMetricName"] == "Accuracy"
        metrics = {m["MetricName"] for m in c["CandidateProperties"]["CandidateMetrics"]}
        assert {"Accuracy", "F1macro", "BalancedAccuracy", "LogLoss"} <= metrics
        assert c["InferenceContainers"][-1]["Environment"]["SAGEMAKER_INFERENCE_SUPPORTED"]
    best = automl.best_candidate(name)
    assert best["CandidateName"] == cands[0]["CandidateName"]
    assert best["FinalAutoMLJobObjectiveMetric"]["Value"] > 0.6  # words carry the label
    assert desc["ResolvedAttributes"]["ProblemType"] == "MulticlassClassification"
    assert desc["ResolvedAttributes"]["AutoMLJobObjective"] == {"MetricName": "Accuracy"}

    # artifacts under <output_path>/<job>/, laid out as Autopilot's
    lake = local_lab.wr.s3
    arts = desc["AutoMLJobArtifacts"]
    for key in ("DataExplorationNotebookLocation", "CandidateDefinitionNotebookLocation"):
        nb = nbformat.reads(local_lab.local_path(arts[key]).read_text(), as_version=4)
        nbformat.validate(nb)
    explore = local_lab.local_path(arts["DataExplorationNotebookLocation"]).read_text()
    assert "Prediction power" in explore and "Class balance" in explore
    prefix = local_lab.s3_uri(f"autopilot/{name}/")
    keys = [u[len(prefix) :] for u in lake.list_objects(prefix)]
    assert any(k.startswith("data-processor-models/") and k.endswith("model.tar.gz") for k in keys)
    assert sum(k.startswith("tuning/") and k.endswith("/output/model.tar.gz") for k in keys) == 3
    assert "leaderboard.csv" in keys and "candidate_definitions.json" in keys
    locations = best["CandidateProperties"]["CandidateArtifactLocations"]
    analysis = json.loads(local_lab.local_path(locations["Explainability"] + "analysis.json")
                          .read_text())  # fmt: skip
    pushes = analysis["text"]["review_body"]["classes"]["1"]["pushes_towards"]
    assert {"love", "perfect", "gorgeous", "great"} & {t for t, _ in pushes[:8]}

    # the best candidate's model predicts in-process; a fresh process sees the same job
    model = load_candidate_model(local_lab, name)
    assert list(model.predict(["love perfect gorgeous", "awful ripped returned"])) == [1, -1]
    proba = model.predict_proba(["love it"])
    assert proba.shape == (1, 3) and abs(proba.sum() - 1) < 1e-6
    assert model.invoke(["love it"], ["predicted_label", "probability"])[0]["predicted_label"] == 1
    # the last candidate is the stacked ensemble: members' scores plus the texts' lexicon scores
    stacked = [c for c in cands if "stacked" in json.dumps(c["InferenceContainers"])]
    assert len(stacked) == 1
    ensemble = load_candidate_model(local_lab, name, stacked[0]["CandidateName"])
    assert ensemble.estimator.lexicon_columns == ["review_body"]
    texts = ["love perfect gorgeous", "awful ripped returned"]
    assert list(ensemble.predict(texts)) == [1, -1]
    assert ensemble.predict_proba(texts).shape == (2, 3)
    code = (
        "import json, utils\n"
        "from sagemaker.automl.automl import AutoML\n"
        f"lab = utils.connect('local', home={str(local_lab.home)!r})\n"
        f"a = AutoML.attach({name!r}, sagemaker_session=lab.session)\n"
        "d = a.describe_auto_ml_job()\n"
        "print(json.dumps([d['AutoMLJobStatus'], a.best_candidate()['CandidateName']]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["Completed", best["CandidateName"]]

    with pytest.raises(ClientError, match="attach") as again:  # names are unique, as on AWS
        automl.fit(inputs=synthetic_uri, job_name=name, wait=False, logs=False)
    assert again.value.response["Error"]["Code"] == "ResourceInUse"


def test_stop_keeps_the_finished_candidates(local_lab, synthetic_uri, monkeypatch):
    monkeypatch.setenv(TEST_DELAY_VAR, "0.7")
    automl = _automl(local_lab, target_attribute_name="sentiment", max_candidates=40,
                              mode="HYPERPARAMETER_TUNING")  # fmt: skip
    automl.fit(inputs=synthetic_uri, job_name="to-stop", wait=False, logs=False)
    _poll(automl, "to-stop", lambda d: "BestCandidate" in d or d["AutoMLJobStatus"] != "InProgress")
    sm = local_lab.client("sagemaker")
    sm.stop_auto_ml_job(AutoMLJobName="to-stop")
    assert automl.describe_auto_ml_job("to-stop")["AutoMLJobStatus"] in ("Stopping", "Stopped")
    _, desc = _poll(automl, "to-stop", lambda d: d["AutoMLJobStatus"] != "Stopping")
    assert (desc["AutoMLJobStatus"], desc["AutoMLJobSecondaryStatus"]) == ("Stopped", "Stopped")
    cands = automl.list_candidates("to-stop")
    assert len(cands) < 40 and "BestCandidate" in desc
    assert {c["CandidateStatus"] for c in cands} <= {"Completed", "Stopped"}
    assert load_candidate_model(local_lab, "to-stop").predict(["love"]).shape == (1,)
    with pytest.raises(ClientError, match="only a job in progress"):
        sm.stop_auto_ml_job(AutoMLJobName="to-stop")


def test_a_dead_worker_makes_the_job_failed(local_lab, synthetic_uri, monkeypatch):
    monkeypatch.setenv(TEST_DELAY_VAR, "5")
    automl = _automl(local_lab, target_attribute_name="sentiment", max_candidates=40,
                              mode="HYPERPARAMETER_TUNING")  # fmt: skip
    automl.fit(inputs=synthetic_uri, job_name="to-crash", wait=False, logs=False)
    _poll(automl, "to-crash", lambda d: d["AutoMLJobSecondaryStatus"] == "ModelTuning")
    pid = JobStore(local_lab.home).read_raw("to-crash")["worker"]["pid"]
    os.killpg(pid, signal.SIGKILL)  # the worker and its training child: out of memory, say
    _, desc = _poll(automl, "to-crash", lambda d: d["AutoMLJobStatus"] != "InProgress", 30)
    assert desc["AutoMLJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith(
        f"The job's worker process (pid {pid}) was killed by SIGKILL (signal 9"
    )  # this process started it: its waiter saw the signal
    assert all(c["CandidateStatus"] != "InProgress" for c in automl.list_candidates("to-crash"))


def test_max_job_runtime_ends_the_job_with_the_best_finished_candidate(local_lab, synthetic_uri,
                                                                       monkeypatch):  # fmt: skip
    monkeypatch.setenv(TEST_DELAY_VAR, "1")
    automl = _automl(local_lab, target_attribute_name="sentiment", max_candidates=100,
                              mode="HYPERPARAMETER_TUNING",
                              total_job_runtime_in_seconds=15)  # fmt: skip
    automl.fit(inputs=synthetic_uri, job_name="short-budget", wait=True, logs=False)
    desc = automl.describe_auto_ml_job("short-budget")
    assert desc["AutoMLJobSecondaryStatus"] == "MaxAutoMLJobRuntimeReached"
    took = (desc["EndTime"] - desc["CreationTime"]).total_seconds()
    assert took <= 15, f"the job ran {took:.1f} s for a 15 s budget"  # the limit, as on AWS
    done = automl.list_candidates("short-budget", status_equals="Completed")
    assert 1 <= len(done) < 100
    assert desc["BestCandidate"]["CandidateName"] in {c["CandidateName"] for c in done}


def test_per_candidate_limit_and_too_small_budgets_fail_clearly(local_lab, synthetic_uri,
                                                                monkeypatch):  # fmt: skip
    monkeypatch.setenv(TEST_DELAY_VAR, "3")
    per = _automl(local_lab, target_attribute_name="sentiment", max_candidates=2,
                           mode="HYPERPARAMETER_TUNING",
                           max_runtime_per_training_job_in_seconds=1)  # fmt: skip
    per.fit(inputs=synthetic_uri, job_name="per-candidate", wait=False, logs=False)
    total = _automl(
        local_lab,
        target_attribute_name="sentiment",
        max_candidates=5,
        mode="HYPERPARAMETER_TUNING",
        total_job_runtime_in_seconds=2,
    )
    total.fit(inputs=synthetic_uri, job_name="tiny-budget", wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException, match="MaxRuntimePerTrainingJobInSeconds") as err:
        _wait(local_lab, "per-candidate")
    assert "raise max_runtime_per_training_job_in_seconds" in str(err.value)
    assert {c["CandidateStatus"] for c in per.list_candidates("per-candidate")} == {"Failed"}
    with pytest.raises(UnexpectedStatusException, match="MaxAutoMLJobRuntimeInSeconds"):
        _wait(local_lab, "tiny-budget")


BAD_INPUTS = {
    "no-target": (make_reviews(50).rename(columns={"sentiment": "label"}), "was not found"),
    "one-class": (make_reviews(50).assign(sentiment=1), "only one distinct value"),
    "header-only": (make_reviews(5).iloc[:0], "no data rows"),
    "empty-file": (b"", "is empty"),
    "binary": (b"\xff\xfe\x00\x81garbage\x00\xff\n\x80,\x81\n", "Could not read"),
    "nothing-there": (None, "No objects found"),
}


def test_bad_inputs_fail_the_job_with_a_reason(local_lab):
    local_lab.ensure_bucket()
    jobs = {}
    for name, (content, _) in BAD_INPUTS.items():
        uri = local_lab.s3_uri(f"bad/{name}.csv")
        if isinstance(content, bytes):
            path = local_lab.local_path(uri)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        elif content is not None:
            _upload(local_lab, content, f"bad/{name}.csv")
        automl = _automl(local_lab, target_attribute_name="sentiment", max_candidates=1,
                                  mode="HYPERPARAMETER_TUNING")  # fmt: skip
        automl.fit(inputs=uri, job_name=name, wait=False, logs=False)  # all run at once
        jobs[name] = automl
    for name, automl in jobs.items():
        with pytest.raises(UnexpectedStatusException) as err:
            _wait(local_lab, name)
        desc = automl.describe_auto_ml_job(name)
        assert desc["AutoMLJobStatus"] == "Failed"
        assert BAD_INPUTS[name][1] in desc["FailureReason"], desc["FailureReason"]
        assert BAD_INPUTS[name][1] in str(err.value)


def test_fit_wait_raises_the_failure_reason(local_lab):
    uri = _upload(local_lab, make_reviews(40).assign(sentiment=0), "one.csv")
    automl = _automl(local_lab, target_attribute_name="sentiment", mode="HYPERPARAMETER_TUNING")
    with pytest.raises(UnexpectedStatusException, match="only one distinct value"):
        automl.fit(inputs=uri, job_name="one-class-wait", wait=True, logs=False)


def test_ensembling_job_with_autogluon(local_lab, synthetic_uri):
    automl = _automl(
        local_lab,
        target_attribute_name="sentiment",
        max_candidates=1,
        total_job_runtime_in_seconds=240,
    )  # AUTO: < 100 MB -> ENSEMBLING
    automl.fit(inputs=synthetic_uri, job_name="ens-1", wait=True, logs=False)
    desc = automl.describe_auto_ml_job("ens-1")
    assert JobStore(local_lab.home).read_raw("ens-1")["local"]["resolved_mode"] == "ENSEMBLING"
    seen = [e["stage"] for e in JobStore(local_lab.home).events("ens-1") if "stage" in e]
    assert "TrainingModels" in seen and "ModelTuning" not in seen
    assert desc["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"] > 0.6
    model = load_candidate_model(local_lab, "ens-1")
    assert list(model.predict(["love perfect gorgeous", "awful ripped returned"])) == [1, -1]


@pytest.mark.slow
def test_ensembling_weighted_ensemble_and_extra_columns(local_lab):
    frame = make_reviews(300, seed=5, classes=2, extra_columns=True)
    uri = _upload(local_lab, frame)
    automl = _automl(local_lab, target_attribute_name="sentiment", max_candidates=3,
                              mode="ENSEMBLING", total_job_runtime_in_seconds=300)  # fmt: skip
    automl.fit(inputs=uri, job_name="ens-3", wait=True, logs=False)
    desc = automl.describe_auto_ml_job("ens-3")
    assert desc["ResolvedAttributes"]["ProblemType"] == "BinaryClassification"
    assert desc["ResolvedAttributes"]["AutoMLJobObjective"] == {"MetricName": "F1"}
    cands = automl.list_candidates("ens-3")
    assert len(cands) == 3
    model = load_candidate_model(local_lab, "ens-3", cands[-1]["CandidateName"])
    rows = frame.drop(columns="sentiment").head(4)
    assert set(model.predict(rows)) <= {-1, 1}
