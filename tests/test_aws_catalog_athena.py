"""The aws path (real awswrangler) against moto, offline, and its parity with the local backend.

Glue calls run on moto's Glue. Athena does not run queries on moto: each query's results are
seeded through moto's Athena backend (the documented ``query_results_queue``), so awswrangler's
code path (StartQueryExecution, polling, GetQueryResults, reading the CSV result from S3) runs.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

DB = "dsoaws_deep_learning"
COLUMNS = {"sentiment": "int", "review_body": "string", "product_category": "string"}
COUNTS = [(-1, 2), (0, 1), (1, 3)]
SQL = (
    "SELECT sentiment, COUNT(sentiment) AS count_sentiment FROM reviews "
    "GROUP BY sentiment ORDER BY sentiment"
)
CSV = (
    "sentiment,review_body,product_category\n-1,bad,Knits\n-1,poor,Dresses\n0,ok,Knits\n"
    "1,good,Dresses\n1,nice,Knits\n1,great,Dresses\n"
)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # awswrangler: "No `s3_output` ..."
        yield


def seed_athena_result(header: list[str], types: list[str], rows: list[tuple]) -> None:
    """Queue one result set on moto's Athena; the next query that finishes returns it."""
    from moto.athena.models import QueryResults, athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    def row(values):
        return {"Data": [{"VarCharValue": str(v)} for v in values]}

    backend = athena_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    column_info = [{"Name": n, "Type": t, "Label": n} for n, t in zip(header, types, strict=True)]
    backend.query_results_queue.append(
        QueryResults(rows=[row(header)] + [row(r) for r in rows], column_info=column_info)
    )


def register_reviews(lab) -> None:
    """The notebook's cells: upload the CSV, create the database and the reviews table."""
    wr = lab.wr
    uri = lab.s3_uri("data/transformed/reviews.csv")
    if lab.is_local:
        path = lab.local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CSV)
    else:
        lab.client("s3").put_object(Bucket=lab.bucket, Key="data/transformed/reviews.csv",
                                      Body=CSV.encode())  # fmt: skip
    wr.catalog.create_database(name=DB, exist_ok=True)
    wr.catalog.create_csv_table(
        database=DB, table="reviews", path=lab.s3_uri("data/transformed/"),
        columns_types=COLUMNS, mode="overwrite", skip_header_line_count=1, sep=",",
    )  # fmt: skip


def catalog_views(wr) -> dict[str, object]:
    """What the notebook shows of the catalog, as plain data."""
    return {
        "databases": wr.catalog.databases().to_dict("list"),
        "table": wr.catalog.table(database=DB, table="reviews").to_dict("list"),
        "tables": wr.catalog.tables(database=DB).to_dict("list"),
        "types": wr.catalog.get_table_types(database=DB, table="reviews"),
        "exists": wr.catalog.does_table_exist(database=DB, table="reviews"),
        "missing": wr.catalog.get_table_types(database=DB, table="nope"),
    }


def test_catalog_calls_give_the_same_answers_on_both_backends(
    local_lab, aws_lab
):  # aws last: its session is boto3's default
    register_reviews(aws_lab)
    register_reviews(local_lab)
    on_aws, on_local = catalog_views(aws_lab.wr), catalog_views(local_lab.wr)
    assert on_local == on_aws
    assert on_aws["table"]["Column Name"] == list(COLUMNS)
    # Glue's record: what awswrangler stored on moto is what the local catalog stores

    glue = aws_lab.client("glue").get_table(DatabaseName=DB, Name="reviews")["Table"]
    local = local_lab.wr.catalog.get_table_record(DB, "reviews")
    for key in ("Parameters", "TableType", "PartitionKeys"):
        assert local[key] == glue[key], key
    for key in ("Columns", "InputFormat", "OutputFormat", "SerdeInfo", "Compressed"):
        assert local["StorageDescriptor"][key] == glue["StorageDescriptor"][key], key
    assert glue["StorageDescriptor"]["Location"] == aws_lab.s3_uri("data/transformed/")


def test_delete_calls_on_both_backends(any_lab):
    register_reviews(any_lab)
    wr = any_lab.wr
    assert wr.catalog.delete_table_if_exists(database=DB, table="reviews") is True
    assert wr.catalog.delete_table_if_exists(database=DB, table="reviews") is False
    wr.catalog.delete_database(name=DB)
    assert DB not in wr.catalog.databases()["Database"].tolist()


def test_unknown_table_is_a_glue_entity_not_found_on_both_backends(any_lab):
    from botocore.exceptions import ClientError

    register_reviews(any_lab)
    with pytest.raises(ClientError) as info:
        any_lab.wr.catalog.table(database=DB, table="nope")
    assert info.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_read_sql_query_on_moto_with_seeded_results_matches_local(
    local_lab, aws_lab
):  # aws last: its session is boto3's default
    register_reviews(aws_lab)
    register_reviews(local_lab)
    seed_athena_result(["sentiment", "count_sentiment"], ["integer", "bigint"], COUNTS)
    on_aws = aws_lab.wr.athena.read_sql_query(
        sql=SQL, database=DB, ctas_approach=False, athena_query_wait_polling_delay=0.01
    )
    on_local = local_lab.wr.athena.read_sql_query(sql=SQL, database=DB, ctas_approach=False)
    pd.testing.assert_frame_equal(on_local, on_aws)  # values and dtypes (Int32, Int64)
    assert on_aws.query_metadata["Status"]["State"] == "SUCCEEDED"
    assert set(on_aws.query_metadata) <= set(on_local.query_metadata)
    # the local default (CTAS approach) returns the same frame
    pd.testing.assert_frame_equal(local_lab.wr.athena.read_sql_query(sql=SQL, database=DB), on_aws)


def test_start_wait_and_get_results_on_moto(
    local_lab, aws_lab
):  # aws last: its session is boto3's default
    register_reviews(aws_lab)
    register_reviews(local_lab)
    wr = aws_lab.wr
    assert wr.athena.create_athena_bucket() == (
        "s3://aws-athena-query-results-123456789012-us-east-1/"
    )
    seed_athena_result(["sentiment", "count_sentiment"], ["integer", "bigint"], COUNTS)
    qid = wr.athena.start_query_execution(sql=SQL, database=DB)
    execution = wr.athena.wait_query(qid, athena_query_wait_polling_delay=0.01)
    assert execution["Status"]["State"] == "SUCCEEDED"
    on_aws = wr.athena.get_query_results(qid)
    local_qid = local_lab.wr.athena.start_query_execution(sql=SQL, database=DB)
    on_local = local_lab.wr.athena.get_query_results(local_qid)
    pd.testing.assert_frame_equal(on_local, on_aws)
    local_execution = local_lab.wr.athena.wait_query(local_qid)
    assert set(execution) <= set(local_execution)
    assert set(execution["Status"]) <= set(local_execution["Status"])
    done = wr.athena.start_query_execution(
        sql=SQL, database=DB, wait=True, athena_query_wait_polling_delay=0.01
    )
    assert done["Status"]["State"] == "SUCCEEDED" and done["Query"] == SQL
    assert local_lab.wr.athena.create_athena_bucket().startswith("s3://aws-athena-query-results-")
