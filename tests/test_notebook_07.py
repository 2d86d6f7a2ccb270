"""07_blazingtext, executed headless with papermill on synthetic data, after 01 and 04.

01_ingest and 04_detect_bias run first into the same lab home (04 writes the balanced reviews 07
reads); then 07, with the sagemaker SDK's own classes on the local backend, uploads the channels,
trains twice (and once more with a bad hyperparameter, which fails), deploys, predicts and deletes
its endpoint and model. 05_autopilot has not run, so the comparison holds BlazingText alone and
says which notebooks to run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.notebook

ROWS = 3000  # about 870 balanced reviews
BUCKETS = 20_000  # small models keep the run fast; the notebook's default is 200,000


def _execute(name: str, out: Path, **parameters) -> None:
    import papermill

    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{name}.ipynb"),
        str(out / f"{name}.out.ipynb"),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )


@pytest.fixture(scope="module")
def balanced_home(tmp_path_factory) -> Path:
    """A lab home after 01_ingest (synthetic reviews) and 04_detect_bias."""
    home = tmp_path_factory.mktemp("bt07") / "lake"
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("LAB_") and var != "LAB_SHARED_DATA":
                mp.delenv(var, raising=False)
        mp.setenv("LAB_OFFLINE", "1")
        mp.setenv("MPLBACKEND", "Agg")
        _execute("01_ingest", home.parent, LAB_HOME=str(home), RAW_DATA="synthetic",
                 SYNTHETIC_ROWS=ROWS)  # fmt: skip
        _execute("04_detect_bias", home.parent, LAB_HOME=str(home), DPI=40)
    return home


def test_07_trains_deploys_predicts_and_cleans_up(run_notebook, balanced_home):
    import utils
    from utils import keys

    rec = run_notebook("07_blazingtext", LAB_HOME=str(balanced_home), BUCKETS=BUCKETS)
    lab = utils.connect("local", home=balanced_home)
    sm = lab.client("sagemaker")

    # the course's split: 90 / 10, stratified, nothing held out (05 has not run)
    assert rec["holdout_reviews_excluded"] == 0
    assert rec["train_rows"] + rec["validation_rows"] == rec["balanced_rows"]
    assert rec["validation_rows"] == pytest.approx(0.1 * rec["balanced_rows"], abs=3)

    # the channels, uploaded with sess.upload_data under blazingtext/data/
    data = lab.s3_uri(keys.BLAZINGTEXT_DATA_PREFIX)
    assert rec["channels"] == {"train": f"{data}train/sentiment-train.txt",
                               "validation": f"{data}validation/sentiment-validation.txt"}  # fmt: skip
    lines = lab.local_path(rec["channels"]["train"]).read_text().splitlines()
    assert len(lines) == rec["train_rows"] and all(s.startswith("__label__") for s in lines)

    # accuracies in a sane range; three classes make chance 1/3
    for name in ("course", "tuned"):
        for split in ("train", "validation"):
            assert 0.0 <= rec[f"{name}_{split}_accuracy"] <= 1.0
    assert rec["course_validation_accuracy"] > 0.4
    assert rec["tuned_validation_accuracy"] > 0.5
    assert rec["tuned_train_accuracy"] > rec["course_train_accuracy"]
    jobs = rec["training_jobs"]
    assert jobs["hyperparameters"].tolist() == ["course", "tuned"]
    assert jobs["job"].str.startswith("blazingtext-").all()
    best = (
        "tuned"
        if rec["tuned_validation_accuracy"] >= rec["course_validation_accuracy"]
        else ("course")
    )
    assert rec["deployed_hyperparameters"] == best

    # the metrics came from training_job_analytics: the values the jobs reported
    for name, job in zip(jobs["hyperparameters"], jobs["job"], strict=True):
        frame = rec[f"{name}_analytics"]
        assert list(frame.columns) == ["timestamp", "metric_name", "value"]
        desc = sm.describe_training_job(TrainingJobName=job)
        assert desc["TrainingJobStatus"] == "Completed"
        final = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
        assert dict(zip(frame["metric_name"], frame["value"], strict=True)) == pytest.approx(final)
        assert rec[f"{name}_validation_accuracy"] == pytest.approx(final["validation:accuracy"])
        assert rec[f"{name}_train_accuracy"] == pytest.approx(final["train:accuracy"])
        assert desc["OutputDataConfig"]["S3OutputPath"] == lab.s3_uri(
            keys.BLAZINGTEXT_OUTPUT_PREFIX)  # fmt: skip
        assert [c["ChannelName"] for c in desc["InputDataConfig"]] == ["train", "validation"]
    assert sm.describe_training_job(TrainingJobName=jobs["job"][0])["HyperParameters"] == {
        "mode": "supervised", "epochs": "10", "learning_rate": "0.01", "min_count": "2",
        "vector_dim": "300", "word_ngrams": "3", "buckets": str(BUCKETS)}  # fmt: skip

    # the job with a typo in mode (on by default locally) failed, with the container's reason
    assert rec["failed_job_status"] == "Failed"
    assert rec["failed_job_reason"].startswith("ClientError: mode='supervize'")
    assert "did you mean 'supervised'?" in rec["failed_job_reason"]

    # BlazingText's answers for the course's three reviews
    labels = [p["label"] for p in rec["sample_predictions"]]
    assert set(labels) <= {"__label__-1", "__label__0", "__label__1"}
    assert all(0 < p["prob"] <= 1 for p in rec["sample_predictions"])
    # what the endpoint itself sent (invoke_endpoint): BlazingText's own JSON, the same answers
    raw = rec["raw_response"]
    assert isinstance(raw, list) and [set(item) for item in raw] == [{"label", "prob"}] * 3
    assert [item["label"] for item in raw] == [[label] for label in labels]
    assert [item["prob"][0] for item in raw] == [p["prob"] for p in rec["sample_predictions"]]

    # the comparison: BlazingText alone, scored through the endpoint on its validation rows,
    # agrees with the accuracy the training job logged
    table = rec["comparison"]
    assert table["model"].tolist() == ["BlazingText"]
    assert int(table["reviews"][0]) == rec["validation_rows"]
    deployed = rec[f"{best}_validation_accuracy"]
    assert table["accuracy"][0] == pytest.approx(deployed)
    assert "run 05_autopilot and 06_deploy_predict" in rec["comparison_message"]

    # the models are in the lake; the endpoint, its configuration and its model are gone
    models = lab.wr.s3.list_objects(lab.s3_uri(keys.BLAZINGTEXT_OUTPUT_PREFIX + "/"),
                                    suffix="model.tar.gz")  # fmt: skip
    assert sorted(models) == sorted(
        lab.s3_uri(f"{keys.BLAZINGTEXT_OUTPUT_PREFIX}/{job}/output/model.tar.gz")
        for job in jobs["job"]
    )
    assert lab.check("07_blazingtext") is None  # what a later notebook would require
    listed = sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
    statuses = {s["TrainingJobName"]: s["TrainingJobStatus"] for s in listed}
    assert {statuses[job] for job in jobs["job"]} == {"Completed"}
    assert sorted(statuses.values()) == ["Completed", "Completed", "Failed"]
    assert rec["endpoint_deleted"] is True
    assert rec["endpoint_name"].startswith("blazingtext-")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []


def test_07_checks_its_prerequisite_first(tmp_path):
    """Before 04 there is nothing to train on: the cell after the parameters stops the run."""
    import nbformat

    from utils.errors import PrerequisiteError

    nb = nbformat.read(ROOT / "notebooks" / "07_blazingtext.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert 'lab.require("04_detect_bias")' in code[1].source
    assert 'lab.check("05_autopilot")' in code[1].source  # optional: only says what to run
    import utils

    lab = utils.connect("local", home=tmp_path / "empty")
    with pytest.raises(PrerequisiteError, match=r"^Run 04_detect_bias first: no balanced reviews"):
        lab.require("04_detect_bias")
    assert lab.check("05_autopilot").startswith("Run 05_autopilot first: no completed AutoML job")
    # what 07 leaves, for a notebook that needs a trained BlazingText model
    with pytest.raises(PrerequisiteError, match=r"^Run 07_blazingtext first: no BlazingText model "
                       r"under s3://[^ ]+/blazingtext/output/ \(backend 'local'\)"):  # fmt: skip
        lab.require("07_blazingtext")
    with pytest.raises(ValueError, match="unknown notebook '08_nothing'"):
        lab.check("08_nothing")
