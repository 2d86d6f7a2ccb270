"""00_setup and 01_ingest, executed headless with papermill, on both backends."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.notebook

ROWS = 3000


def test_00_setup_local(run_notebook, tmp_path):
    rec = run_notebook("00_setup", LAB_HOME=str(tmp_path / "lake"))
    assert rec["backend"] == "local"
    checks = rec["checks"].set_index("check")["status"]
    assert checks["lab home writable"] == "ok"
    assert checks["DuckDB (local Glue + Athena)"] == "ok"


def test_01_ingest_local_synthetic_and_rerun_is_idempotent(run_notebook, tmp_path):
    import utils
    from utils import datasets

    home = tmp_path / "lake"
    rec = run_notebook("01_ingest", LAB_HOME=str(home), RAW_DATA="synthetic", SYNTHETIC_ROWS=ROWS)
    assert rec["raw_origin"] == "synthetic" and rec["raw_synthetic"] is True
    assert rec["raw_rows"] == ROWS
    counts = rec["sentiment_counts"]
    assert set(counts) == {"-1", "0", "1"}
    assert sum(counts.values()) == rec["rows_kept"] < ROWS  # missing texts are dropped
    assert counts["1"] > counts["0"] and counts["1"] > counts["-1"]  # realistic imbalance

    lab = utils.connect("local", home=home)
    uri = rec["transformed_uri"]
    df = lab.wr.s3.read_csv(uri)
    assert list(df.columns) == ["sentiment", "review_body", "product_category"]
    assert len(df) == rec["rows_kept"]
    # the uploaded file is what the transform gives on the same seeded data
    raw = datasets.read_raw(
        lab.local_path(lab.s3_uri("data/raw/womens_clothing_ecommerce_reviews.csv"))
    )
    assert len(datasets.transform(raw).df) == len(df)

    before = {p: lab.local_path(p).read_bytes() for p in rec["objects"]}
    rec2 = run_notebook("01_ingest", LAB_HOME=str(home), RAW_DATA="synthetic", SYNTHETIC_ROWS=ROWS)
    assert rec2["objects"] == rec["objects"]  # nothing duplicated
    assert {p: lab.local_path(p).read_bytes() for p in rec2["objects"]} == before  # same bytes


def test_01_ingest_stops_clearly_on_a_missing_raw_file(run_notebook, tmp_path):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as err:
        run_notebook(
            "01_ingest", LAB_HOME=str(tmp_path / "lake"), RAW_DATA=str(tmp_path / "no.csv")
        )
    assert "RawDataError" in err.value.ename
    assert "no.csv" in err.value.evalue


def test_01_ingest_on_aws_against_moto(run_notebook, moto_server):
    import boto3

    env = {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    rec = run_notebook("01_ingest", env=env, BACKEND="aws", BUCKET="lab-nb-bucket",
                       RAW_DATA="synthetic", SYNTHETIC_ROWS=ROWS)  # fmt: skip
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="lab-nb-bucket")["Contents"])
    assert keys == ["data/raw/womens_clothing_ecommerce_reviews.csv",
                    "data/transformed/womens_clothing_ecommerce_reviews_transformed.csv"]  # fmt: skip
    assert rec["objects"] == [f"s3://lab-nb-bucket/{k}" for k in keys]
    body = s3.get_object(Bucket="lab-nb-bucket", Key=keys[1])["Body"].read().decode()
    assert body.count("\n") == rec["rows_kept"] + 1


def test_00_setup_on_aws_against_moto(run_notebook, moto_server):
    env = {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    rec = run_notebook("00_setup", env=env, BACKEND="aws")
    assert rec["bucket"] == "sagemaker-us-east-1-123456789012"
    checks = rec["checks"].set_index("check")["status"]
    assert checks["AWS credentials"] == "ok"
