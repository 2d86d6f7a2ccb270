"""99_cleanup, executed headless with papermill: a dry run first, then for real; local and moto."""

from __future__ import annotations

import json

import joblib
import pandas as pd
import pytest

import utils
from utils import endpoints
from utils.local.endpoint import process_alive

pytestmark = pytest.mark.notebook

COLUMNS = {"sentiment": "int", "review_body": "string", "product_category": "string"}
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


def _reviews() -> pd.DataFrame:
    return pd.DataFrame({"sentiment": [1, 0, -1], "review_body": ["good", "ok", "bad"],
                         "product_category": ["Dresses", "Tops", "Jeans"]})  # fmt: skip


def _model(path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = ["love it", "it is ok", "awful"] * 4, [1, 0, -1] * 4
    joblib.dump(make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels), path)
    return path


def _lab_made_things(lab) -> None:
    wr = lab.wr
    wr.s3.to_csv(_reviews(), lab.s3_uri("data/transformed/reviews.csv"), index=False)
    wr.s3.to_csv(_reviews(), lab.s3_uri("data/balanced/balanced.csv"), index=False)
    wr.s3.to_csv(_reviews(), lab.s3_uri("notes/mine.csv"), index=False)  # not the labs'
    wr.catalog.create_database(name=lab.database, exist_ok=True)
    wr.catalog.create_csv_table(database=lab.database, table="reviews", columns_types=COLUMNS,
                                path=lab.s3_uri("data/transformed/"), mode="overwrite",
                                skip_header_line_count=1, sep=",")  # fmt: skip


def _blazingtext_job(lab) -> str:
    """What 07_blazingtext leaves, small: channels, a trained model and its training job."""
    from utils import blazingtext

    rows = [(f"__label__{s}", f"{w} review {i}") for i in range(15)
            for s, w in ((1, "lovely"), (0, "fine"), (-1, "awful"))]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["sentiment", "review_body"])
    channels = blazingtext.upload_channels(lab, frame, frame.head(6))
    estimator = lab.Estimator(image_uri=blazingtext.image_uri(lab),
                              output_path=lab.s3_uri(blazingtext.OUTPUT_PREFIX))  # fmt: skip
    estimator.set_hyperparameters(mode="supervised", epochs=1, vector_dim=4, buckets=500)
    estimator.fit(channels, logs="None")
    return estimator.latest_training_job.name


def test_99_cleanup_local_dry_run_then_delete(run_notebook, tmp_path):
    home = tmp_path / "lake"
    lab = utils.connect("local", home=home)
    _lab_made_things(lab)
    job = _blazingtext_job(lab)
    lab.wr.athena.read_sql_query("SELECT COUNT(*) AS n FROM reviews", database=lab.database)
    endpoints.deploy_model(lab, _model(tmp_path / "m.joblib"), "lab-ep", predictor_cls=None)
    server = json.loads((home / "endpoints" / "lab-ep.json").read_text())["Local"]
    try:
        rec = run_notebook("99_cleanup", LAB_HOME=str(home))  # DRY_RUN = True by default
        assert rec["dry_run"] is True
        # s3-objects: the 2 CSVs, and blazingtext/'s 2 channel files and its model
        assert rec["found"] == {"endpoint": 1, "endpoint-config": 1, "model": 1,
                                "training-job": 1, "glue-table": 1, "glue-database": 1,
                                "s3-objects": 5, "athena-results": 1}  # fmt: skip
        inventory = rec["inventory"].set_index("name")
        assert inventory.loc[job, "kind"] == "training-job"
        assert inventory.loc[lab.s3_uri("blazingtext/"), "detail"].startswith("3 objects")
        assert set(rec["results"]["result"]) == {"would delete"}
        assert rec["remaining"] == rec["found"]  # nothing was deleted
        assert endpoints.describe_endpoint(lab, "lab-ep")["EndpointStatus"] == "InService"
        assert (home / "training-jobs" / f"{job}.json").is_file()

        rec = run_notebook("99_cleanup", LAB_HOME=str(home), DRY_RUN=False)
        assert set(rec["results"]["result"]) == {"deleted"}
        assert rec["remaining"] == {}
        assert process_alive(server["Pid"], server["Token"]) is False
        assert lab.wr.s3.list_objects(lab.s3_uri("")) == [lab.s3_uri("notes/mine.csv")]
        assert list((home / "training-jobs").iterdir()) == []
    finally:
        endpoints.delete_endpoint(lab, "lab-ep", delete_model=True, missing_ok=True)


def test_99_cleanup_on_aws_against_moto(run_notebook, moto_server, monkeypatch):
    import boto3

    for key, value in {**MOTO_ENV, "AWS_ENDPOINT_URL": moto_server}.items():
        monkeypatch.setenv(key, value)
    bucket = "lab-cleanup-bucket"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    lab = utils.connect("aws", bucket=bucket, region="us-east-1", database="cleanup_nb_db")
    _lab_made_things(lab)
    sm = boto3.client("sagemaker", region_name="us-east-1")
    model_url = f"s3://{bucket}/autopilot/job/model.tar.gz"
    sm.create_model(ModelName="nb-lab-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/l",
                    Containers=[{"Image": "img", "ModelDataUrl": model_url}])  # fmt: skip
    sm.create_endpoint_config(EndpointConfigName="nb-lab-config", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "nb-lab-model", "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large"}])  # fmt: skip
    sm.create_endpoint(EndpointName="nb-lab-ep", EndpointConfigName="nb-lab-config")

    rec = run_notebook("99_cleanup", env={**MOTO_ENV, "AWS_ENDPOINT_URL": moto_server},
                       BACKEND="aws", BUCKET=bucket, DATABASE="cleanup_nb_db", DRY_RUN=False)  # fmt: skip
    assert rec["found"]["endpoint"] == 1 and rec["found"]["model"] == 1
    assert rec["found"]["s3-objects"] == 2 and rec["found"]["glue-table"] == 1
    assert set(rec["results"]["result"]) == {"deleted"}
    assert rec["remaining"] == {}
    names = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    assert "nb-lab-ep" not in names
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["notes/mine.csv"]
    assert "cleanup_nb_db" not in lab.wr.catalog.databases()["Database"].tolist()
