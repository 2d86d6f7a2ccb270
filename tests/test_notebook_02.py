"""02_explore_athena, executed headless with papermill, on both backends.

01_ingest runs once per module into a template lab home (synthetic data); each test copies it.
On ``aws`` the notebook runs against a moto server: Glue for real, Athena with seeded results.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ROWS = 3000

pytestmark = pytest.mark.notebook


def _run(name: str, out: Path, env: dict[str, str] | None = None, **params) -> dict:
    import papermill

    from utils.records import read_records

    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("LAB_") and var != "LAB_SHARED_DATA":
                mp.delenv(var, raising=False)
        mp.setenv("LAB_OFFLINE", "1")
        mp.setenv("MPLBACKEND", "Agg")
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{name}.ipynb"),
            str(out),
            parameters=params,
            kernel_name="python3",
            cwd=str(ROOT / "notebooks"),
            progress_bar=False,
        )
    return read_records(out)


@pytest.fixture(scope="module")
def ingested_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("ingested02") / "lake"
    _run("01_ingest", home.parent / "01.out.ipynb", LAB_HOME=str(home), RAW_DATA="synthetic",
         SYNTHETIC_ROWS=ROWS)  # fmt: skip
    return home


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.to_numpy().tolist()]


def test_02_local_matches_pandas_and_reruns_the_same(ingested_home, tmp_path):
    import utils

    home = tmp_path / "lake"
    shutil.copytree(ingested_home, home)
    rec = _run("02_explore_athena", tmp_path / "02.out.ipynb", LAB_HOME=str(home))

    lab = utils.connect("local", home=home)
    df = lab.wr.s3.read_csv(lab.s3_uri("data/transformed/"))
    assert rec["databases"] == ["dsoaws_deep_learning"]
    schema = rec["table_schema"]
    assert schema["Column Name"].tolist() == ["sentiment", "review_body", "product_category"]
    assert schema["Type"].tolist() == ["int", "string", "string"]
    assert rec["athena_output"] == "s3://aws-athena-query-results-000000000000-us-east-1/"

    counts = rec["count_by_sentiment"]
    expected = df["sentiment"].value_counts().sort_index()
    assert counts["sentiment"].tolist() == expected.index.tolist()
    assert counts["count_sentiment"].tolist() == expected.tolist()
    assert (
        rec["total_reviews"] == len(df) == rec["count_reviews_by_category"]["count_reviews"].sum()
    )

    avg = rec["avg_sentiment_by_category"].set_index("product_category")["avg_sentiment"]
    expected_avg = df.groupby("product_category")["sentiment"].mean()
    assert avg.sort_index().round(9).tolist() == expected_avg.sort_index().round(9).tolist()
    assert avg.is_monotonic_decreasing

    per_cat = rec["count_by_category_and_sentiment"]
    expected_pc = df.groupby(["product_category", "sentiment"]).size()
    got_pc = per_cat.set_index(["product_category", "sentiment"])["count_reviews"]
    assert got_pc.sort_index().tolist() == expected_pc.sort_index().tolist()

    words = (df["review_body"].str.split(" ").str.len()).astype(float)
    summary = rec["num_words_summary"]
    assert summary["count"] == len(df)
    assert summary["mean"] == pytest.approx(words.mean())
    assert summary["50%"] == pytest.approx(words.quantile(0.5))
    assert summary["max"] == words.max()
    assert rec["data_scanned_bytes"] == sum(
        p.stat().st_size for p in lab.local_path(lab.s3_uri("data/transformed/")).rglob("*.csv")
    )

    again = _run("02_explore_athena", tmp_path / "02b.out.ipynb", LAB_HOME=str(home))
    for key in ("databases", "count_by_sentiment", "count_by_category_and_sentiment",
                "num_words_summary", "total_reviews"):  # fmt: skip
        a, b = rec[key], again[key]
        assert (_rows(a) == _rows(b)) if isinstance(a, pd.DataFrame) else a == b, key
    assert lab.wr.catalog.tables(database="dsoaws_deep_learning")["Table"].tolist() == ["reviews"]


def test_02_stops_when_01_has_not_run(tmp_path):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as err:
        _run("02_explore_athena", tmp_path / "02.out.ipynb", LAB_HOME=str(tmp_path / "empty"))
    assert "PrerequisiteError" in err.value.ename
    assert "Run 01_ingest first" in err.value.evalue


def test_02_on_aws_against_moto(moto_server, tmp_path):
    import boto3
    import requests

    env = {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    bucket = "lab-nb02-bucket"
    _run("01_ingest", tmp_path / "01.out.ipynb", env=env, BACKEND="aws", BUCKET=bucket,
         RAW_DATA="synthetic", SYNTHETIC_ROWS=ROWS)  # fmt: skip

    # moto runs no SQL: queue one result per query, in the notebook's order
    def result(columns: list[tuple[str, str]], rows: list[tuple]) -> dict:
        def row(values):
            return {"Data": [{"VarCharValue": str(v)} for v in values]}

        return {"rows": [row([c for c, _ in columns])] + [row(r) for r in rows],
                "column_info": [{"Name": c, "Type": t, "Label": c} for c, t in columns]}  # fmt: skip

    seeded = [
        result([("sentiment", "integer"), ("count_sentiment", "bigint")],
               [(-1, 300), (0, 350), (1, 2000)]),
        result([("product_category", "varchar"), ("count_product_category", "bigint")],
               [("Dresses", 1500), ("Knits", 1150)]),
        result([("product_category", "varchar"), ("avg_sentiment", "double")],
               [("Knits", 0.7), ("Dresses", 0.6)]),
        result([("product_category", "varchar"), ("count_reviews", "bigint")],
               [("Dresses", 1500), ("Knits", 1150)]),
        result([("product_category", "varchar"), ("sentiment", "integer"),
                ("count_reviews", "bigint")], [("Dresses", 1, 1100), ("Dresses", -1, 400)]),
        result([("num_words", "bigint")], [(10,), (20,), (30,)]),
        result([("n", "bigint")], [(2650,)]),
    ]  # fmt: skip
    response = requests.post(
        f"{moto_server}/moto-api/static/athena/query-results", json={"results": seeded}, timeout=10
    )
    assert response.status_code == 201

    rec = _run("02_explore_athena", tmp_path / "02.out.ipynb", env=env, BACKEND="aws",
               BUCKET=bucket, CTAS_APPROACH=False)  # fmt: skip
    assert rec["count_by_sentiment"].to_dict("list") == {
        "sentiment": [-1, 0, 1], "count_sentiment": [300, 350, 2000]
    }  # fmt: skip
    assert rec["avg_sentiment_by_category"]["avg_sentiment"].tolist() == [0.7, 0.6]
    assert rec["num_words_summary"]["max"] == 30.0 and rec["total_reviews"] == 2650
    assert rec["athena_output"] == "s3://aws-athena-query-results-123456789012-us-east-1/"
    glue = boto3.client("glue", endpoint_url=moto_server, region_name="us-east-1")
    table = glue.get_table(DatabaseName="dsoaws_deep_learning", Name="reviews")["Table"]
    assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/data/transformed/"
    assert table["Parameters"]["skip.header.line.count"] == "1"
    assert rec["table_schema"]["Column Name"].tolist() == [
        "sentiment", "review_body", "product_category"
    ]  # fmt: skip
