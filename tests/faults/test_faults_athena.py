"""The local Athena under adversarial SQL: it reads only S3 through the catalog, binds parameters
as values, rejects what Trino rejects, and never answers from a stale cache (issue 14, items 4,
5 and the Athena parts of 9). Each fault asserts the error and that the lake did not change."""

from __future__ import annotations

import os

import duckdb
import pandas as pd
import pytest
from botocore.exceptions import ParamValidationError

from utils.local.athena import QueryError

DB = "dsoaws_deep_learning"
REVIEWS = pd.DataFrame(
    {"sentiment": [1, 0, -1, 1], "review_body": ["Love it", "It is ok", "Too small", "Great"],
     "product_category": ["Dresses", "Knits", "Dresses", "Knits"]}
)  # fmt: skip


@pytest.fixture
def lab(local_lab):
    """A lab home with the reviews in S3 and the ``reviews`` table registered over them."""
    wr = local_lab.wr
    local_lab.ensure_bucket()
    wr.s3.to_csv(REVIEWS, local_lab.s3_uri("data/transformed/reviews.csv"), index=False)
    wr.catalog.create_database(name=DB, exist_ok=True)
    wr.catalog.create_csv_table(
        database=DB, table="reviews", path=local_lab.s3_uri("data/transformed/"),
        columns_types={"sentiment": "int", "review_body": "string", "product_category": "string"},
        mode="overwrite", skip_header_line_count=1, sep=",",
    )  # fmt: skip
    wr.athena.create_athena_bucket()
    return local_lab


def q(lab, sql: str, **kwargs) -> pd.DataFrame:
    return lab.wr.athena.read_sql_query(sql, database=DB, **kwargs)


# -- item 4: the host's files are out of reach -----------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("SELECT * FROM read_csv('/etc/passwd', header=false, sep=':')", "read_csv"),
        ("SELECT * FROM read_text('/etc/hostname')", "read_text"),
        ("SELECT * FROM reviews, read_parquet('/tmp/*.parquet')", "read_parquet"),
        ("SELECT * FROM query('SELECT 42')", "query"),
        ("SELECT * FROM range(3)", "range"),
        ("SELECT (SELECT count(*) FROM read_blob('/etc/passwd')) AS n", "read_blob"),
        ("WITH x AS (SELECT * FROM read_json_auto('/etc/os-release')) SELECT * FROM x",
         "read_json_auto"),
    ],
)  # fmt: skip
def test_duckdb_table_functions_are_unknown_functions(lab, lake_state, sql, function):
    before = lake_state(lab.home)
    for ctas_approach in (True, False):
        with pytest.raises(QueryError) as err:
            q(lab, sql, ctas_approach=ctas_approach)
        assert err.value.reason.startswith("FUNCTION_NOT_FOUND: line 1:")
        assert f"Function '{function}' not registered" in err.value.reason
    assert lake_state(lab.home) == before  # no result written


def test_a_file_path_as_a_table_is_looked_up_in_the_catalog(lab, lake_state):
    before = lake_state(lab.home)
    with pytest.raises(QueryError, match="TABLE_NOT_FOUND.*/etc/passwd"):
        q(lab, 'SELECT * FROM "/etc/passwd"')
    assert lake_state(lab.home) == before


def test_ctas_cannot_copy_a_host_file_into_the_lake(lab, lake_state):
    before = lake_state(lab.home)
    sql = ("CREATE TABLE stolen WITH (external_location = '" + lab.s3_uri("stolen/") + "') AS "
           "SELECT * FROM read_csv('/etc/passwd', header=false, sep=':')")  # fmt: skip
    with pytest.raises(QueryError, match="FUNCTION_NOT_FOUND"):
        lab.wr.athena.start_query_execution(sql, database=DB, wait=True)
    assert not lab.wr.catalog.does_table_exist(database=DB, table="stolen")
    assert lake_state(lab.home) == before


def test_the_query_connection_has_no_file_access_and_a_locked_configuration(lab):
    athena = lab.wr.athena
    assert len(q(lab, "SELECT * FROM reviews")) == 4  # the table reads (from the lake)
    with athena._connection() as cur:
        with pytest.raises(duckdb.PermissionException):
            cur.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error):
            cur.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error, match="locked"):
            cur.execute("SET autoload_known_extensions = true")


# -- item 5: parameters are values ---------------------------------------------------------------
def test_qmark_parameters_are_bound_as_values(lab, lake_state):
    sql = "SELECT review_body FROM reviews WHERE sentiment = ? ORDER BY review_body"
    assert q(lab, sql, params=["1"], paramstyle="qmark")["review_body"].tolist() == [
        "Great", "Love it"]  # fmt: skip
    before = lake_state(lab.home)
    with pytest.raises(QueryError) as err:
        q(lab, sql, params=["1 OR 1=1"], paramstyle="qmark")
    assert err.value.reason.startswith("INVALID_PARAMETER_USAGE: execution parameter 1")
    assert "'1 OR 1=1'" in err.value.reason and "is not a value" in err.value.reason
    assert lake_state(lab.home) == before
    # a quote inside a string value is part of the value
    text = "SELECT count(*) AS n FROM reviews WHERE review_body = ?"
    assert q(lab, text, params=["'x'' OR ''1''=''1'"], paramstyle="qmark")["n"].tolist() == [0]
    assert q(lab, text, params=["'Too small'"], paramstyle="qmark")["n"].tolist() == [1]
    for bad in ["(SELECT max(sentiment) FROM reviews)", "sentiment", "abs(-1)", "1; DROP TABLE x"]:
        with pytest.raises(QueryError, match="INVALID_PARAMETER_USAGE"):
            q(lab, sql, params=[bad], paramstyle="qmark")


def test_qmark_values_bind_in_the_order_written(lab):
    sql = ("WITH c AS (SELECT * FROM reviews WHERE sentiment = ?) "
           "SELECT review_body FROM c WHERE product_category = ? AND review_body <> ?")  # fmt: skip
    df = q(lab, sql, params=["1", "'Knits'", "'nothing'"], paramstyle="qmark")
    assert df["review_body"].tolist() == ["Great"]
    assert df.query_metadata["ExecutionParameters"] == ["1", "'Knits'", "'nothing'"]
    typed = q(lab, "SELECT count(*) AS n FROM reviews WHERE sentiment IN (?, ?) AND "
                   "CAST('2024-01-02' AS DATE) > ?", params=["0", "-1", "DATE '2024-01-01'"],
              paramstyle="qmark", ctas_approach=False)  # fmt: skip
    assert typed["n"].tolist() == [2]


def test_qmark_parameter_count_and_type_mismatches_are_refused(lab):
    sql = "SELECT * FROM reviews WHERE sentiment = ?"
    for params in ([], ["1", "2"]):
        with pytest.raises(QueryError, match="INVALID_PARAMETER_USAGE: Incorrect number of "
                           f"parameters: expected 1 but found {len(params)}"):  # fmt: skip
            q(lab, sql, params=params, paramstyle="qmark")
    with pytest.raises(ParamValidationError, match="ExecutionParameters"):
        q(lab, sql, params=[1], paramstyle="qmark")  # boto3 takes strings only, as on AWS


def test_named_parameters_are_quoted_client_side_as_awswrangler_does(lab):
    sql = "SELECT review_body FROM reviews WHERE product_category = :cat ORDER BY 1"
    assert q(lab, sql, params={"cat": "Knits"})["review_body"].tolist() == ["Great", "It is ok"]
    assert q(lab, sql, params={"cat": "x' OR '1'='1"}).empty  # a value, not SQL
    assert q(lab, sql, params={"cat": "\\' OR 1=1 --"}).empty
    n = q(lab, "SELECT count(*) AS n FROM reviews WHERE sentiment = :s", params={"s": 1})
    assert n["n"].tolist() == [2]


# -- item 9: what Trino rejects, and a stale cache -----------------------------------------------
@pytest.mark.parametrize(
    ("sql", "where", "near"),
    [
        ("SELECT sentiment, FROM reviews", (1, 19), "FROM"),
        ("SELECT , sentiment FROM reviews", (1, 8), ","),
        ("SELECT sentiment FROM reviews WHERE sentiment IN (1, 2,)", (1, 56), ")"),
        ("SELECT sentiment,\n       , review_body FROM reviews", (2, 8), ","),
        ("SELECT concat(review_body, ) AS x FROM reviews", (1, 28), ")"),
    ],
)
def test_an_empty_list_item_is_a_syntax_error_as_on_trino(lab, sql, where, near):
    with pytest.raises(QueryError) as err:
        q(lab, sql)
    assert (err.value.line, err.value.column) == where
    assert err.value.reason.startswith(f"SYNTAX_ERROR: line {where[0]}:{where[1]}: "
                                       f"mismatched input '{near}'")  # fmt: skip


def test_a_file_rewritten_with_the_same_size_and_mtime_is_read_again(lab):
    path = lab.local_path(lab.s3_uri("data/transformed/reviews.csv"))
    assert q(lab, "SELECT count(*) AS n FROM reviews WHERE sentiment = 1")["n"].tolist() == [2]
    st = path.stat()
    data = path.read_bytes()
    changed = data.replace(b"\n0,It is ok", b"\n1,It is ok")  # same length, another sentiment
    assert len(changed) == len(data) and changed != data
    with open(path, "r+b") as fh:  # in place: same inode
        fh.write(changed)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert q(lab, "SELECT count(*) AS n FROM reviews WHERE sentiment = 1")["n"].tolist() == [3]


@pytest.mark.parametrize("location", ["/etc/", "file:///etc/", "s3://lab-bucket/../../../etc/"])
def test_a_table_located_outside_the_lake_is_refused(lab, lake_state, location):
    import json

    from utils.errors import LakePathError

    record = lab.wr.catalog._store.read()["databases"][DB]["Tables"]["reviews"]
    with pytest.raises(LakePathError):
        lab.wr.catalog.put_table_record(
            DB, {**record, "Name": "host", "StorageDescriptor": {
                **record["StorageDescriptor"], "Location": location}}, replace=False)  # fmt: skip
    assert not lab.wr.catalog.does_table_exist(database=DB, table="host")
    # a catalog edited by hand: the query fails, and reads nothing
    glue = lab.home / "catalog" / "glue.json"
    data = json.loads(glue.read_text())
    data["databases"][DB]["Tables"]["reviews"]["StorageDescriptor"]["Location"] = location
    glue.write_text(json.dumps(data))
    before = lake_state(lab.home)
    with pytest.raises(
        QueryError, match="HIVE_METASTORE_ERROR: line 1:15: table dsoaws_deep_learning.reviews"
    ):
        q(lab, "SELECT * FROM reviews")
    assert lake_state(lab.home) == before
