"""The local Athena: Athena's CSV semantics, Trino SQL on DuckDB, DDL, CTAS, history, errors."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
from pathlib import Path

import pandas as pd
import pytest
from awswrangler import exceptions as wr_exceptions
from botocore.exceptions import ClientError

from utils.errors import LakePathError
from utils.local.athena import InvalidRequestException, LocalAthena, QueryError
from utils.local.catalog import OPEN_CSV_SERDE, LocalCatalog
from utils.local.lake import LocalLake

DB = "dsoaws_deep_learning"
REVIEWS = {"sentiment": "int", "review_body": "string", "product_category": "string"}


class Env:
    """A lab home with a catalog and an Athena, plus helpers to put files in the lake."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.lake = LocalLake(home)
        self.catalog = LocalCatalog(home, self.lake)
        self.athena = LocalAthena(home, self.lake, self.catalog)
        self.catalog.create_database(name=DB, exist_ok=True)

    def put(self, uri: str, data: str | bytes) -> Path:
        path = self.lake.path_for(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        path.write_bytes(data)
        return path

    def csv_table(self, name: str, text: str, columns=None, **kwargs) -> str:
        prefix = f"s3://lab-bucket/tables/{name}/"
        self.put(prefix + "part-0.csv", text)
        kwargs.setdefault("skip_header_line_count", 1)
        self.catalog.create_csv_table(
            database=DB, table=name, path=prefix, columns_types=columns or REVIEWS, **kwargs
        )
        return prefix

    def q(self, sql: str, **kwargs) -> pd.DataFrame:
        return self.athena.read_sql_query(sql, database=DB, **kwargs)


@pytest.fixture
def env(tmp_path) -> Env:
    return Env(tmp_path / "home")


HEADER = "sentiment,review_body,product_category\n"


def values(column: pd.Series) -> list:
    """A column's values with NULLs as None (None does not compare)."""
    return [None if pd.isna(v) else v for v in column.tolist()]


def test_lazy_simple_serde_follows_athena(env):
    env.csv_table(
        "reviews",
        HEADER
        + '1,"Great, fits",Dresses\n'  # a quoted comma splits the field
        + "0,plain,Knits,extra,fields\n"  # extra fields are dropped
        + "1,missing\n"  # missing fields are NULL
        + "x,bad int,Tops\n"  # a value that does not parse is NULL
        + "\n"  # an empty line is a row
        + "2.7,truncated,Blouses\r\n"  # Hive's integer reader truncates decimals; CRLF ends a line
        + " 5,space,Jeans\n"  # ... but does not trim spaces
        + "\\N,null marker,\\N\n"
        + "+3,plus,Pants",  # no final newline
    )
    df = env.q("SELECT * FROM reviews", ctas_approach=False)
    assert values(df["sentiment"]) == [1, 0, 1, None, None, 2, None, None, 3]
    assert values(df["review_body"]) == [
        '"Great', "plain", "missing", "bad int", None, "truncated", "space", "null marker",
        "plus",
    ]  # fmt: skip
    assert values(df["product_category"]) == [
        ' fits"', "Knits", None, "Tops", None, "Blouses", "Jeans", None, "Pants"
    ]  # fmt: skip
    assert str(df["sentiment"].dtype) == "Int32" and str(df["review_body"].dtype) == "string"


def test_an_empty_line_has_an_empty_string_in_its_first_string_column(env):
    env.csv_table("t", "a,b\n\nx,y\n", columns={"a": "string", "b": "string"})
    df = env.q("SELECT a, b FROM t", ctas_approach=False)
    assert values(df["a"]) == ["", "x"] and values(df["b"]) == [None, "y"]


def test_escape_character_from_awswranglers_default_serde(env):
    env.csv_table("t", "a,b\nx\\,y,z\n", columns={"a": "string", "b": "string"})
    df = env.q("SELECT a, b FROM t")
    assert df.to_dict("list") == {"a": ["x,y"], "b": ["z"]}


def test_every_object_under_the_location_except_hidden_ones(env):
    prefix = env.csv_table("t", "a\n1\n", columns={"a": "int"})
    env.put(prefix + "more/part-1.csv", "a\n2\n")  # a sub-folder counts
    env.put(prefix + "part-2.csv.gz", gzip.compress(b"a\n3\n"))  # gzip by extension
    env.put(prefix + "_SUCCESS", "a\n100\n")
    env.put(prefix + ".hidden.csv", "a\n200\n")
    env.put(prefix + "_tmp/part.csv", "a\n300\n")
    df = env.q("SELECT a FROM t ORDER BY a")
    assert values(df["a"]) == [1, 2, 3]  # each file's header line skipped


def test_cached_parse_sees_changed_files(env):
    prefix = env.csv_table("t", "a\n1\n", columns={"a": "int"})
    assert env.q("SELECT sum(a) AS s FROM t")["s"].tolist() == [1]
    env.put(prefix + "part-1.csv", "a\n41\n")
    assert env.q("SELECT sum(a) AS s FROM t")["s"].tolist() == [42]
    (env.lake.path_for(prefix + "part-0.csv")).unlink()
    assert env.q("SELECT sum(a) AS s FROM t")["s"].tolist() == [41]


def test_open_csv_serde_honours_quotes_and_fails_on_bad_numbers(env):
    columns = {"sentiment": "int", "review_body": "string", "product_category": "string"}
    env.csv_table(
        "reviews_q",
        HEADER + '1,"Great, fits",Dresses\n0,"say ""hi""",Knits\n-1,plain,Pants\n',
        columns=columns,
        serde_library=OPEN_CSV_SERDE,
        serde_parameters={"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"},
    )
    df = env.q("SELECT * FROM reviews_q")
    assert values(df["review_body"]) == ["Great, fits", 'say "hi"', "plain"]
    assert values(df["sentiment"]) == [1, 0, -1]
    env.csv_table(
        "bad_q",
        HEADER + "x,body,Tops\n",
        columns=columns,
        serde_library=OPEN_CSV_SERDE,
        skip_header_line_count=1,
    )
    assert env.q("SELECT review_body FROM bad_q")["review_body"].tolist() == ["body"]
    with pytest.raises(QueryError, match="HIVE_BAD_DATA: Error parsing field value 'x'"):
        env.q("SELECT sentiment FROM bad_q")


def test_result_dtypes_follow_awswrangler(env):
    env.csv_table(
        "typed",
        "h\n1,2,3.5,true,2021-03-04,2021-03-04 05:06:07,12.34,x,7\n",
        columns={"i": "int", "b": "bigint", "d": "double", "f": "boolean", "dt": "date",
                 "ts": "timestamp", "dec": "decimal(10,2)", "s": "string", "t": "tinyint"},
    )  # fmt: skip
    for ctas in (True, False):
        df = env.q("SELECT *, COUNT(*) OVER () AS n, AVG(i) OVER () AS m FROM typed",
                   ctas_approach=ctas)  # fmt: skip
        assert {c: str(t) for c, t in df.dtypes.items()} == {
            "i": "Int32", "b": "Int64", "d": "float64", "f": "boolean", "dt": "object",
            "ts": "datetime64[ns]", "dec": "object", "s": "string", "t": "Int8", "n": "Int64",
            "m": "float64",
        }  # fmt: skip
        row = df.iloc[0]
        assert row["dt"] == dt.date(2021, 3, 4)
        assert row["ts"] == pd.Timestamp("2021-03-04 05:06:07")
        assert row["dec"] == decimal.Decimal("12.34")
    arrow = env.q("SELECT i, s FROM typed", dtype_backend="pyarrow")
    assert str(arrow["i"].dtype) == "int32[pyarrow]"


def test_trino_semantics(env):
    env.csv_table(
        "reviews",
        HEADER + "1,love this dress,Dresses\n-1,too small,Knits\n0,ok I guess,Knits\n"
        "1,love love love,Dresses\n",
    )
    df = env.q(
        "SELECT 5 / 2 AS i, -5 / 2 AS n, 5.0 / 2 AS d, CARDINALITY(SPLIT('a  b', ' ')) AS w, "
        "regexp_like('I love it', 'lov') AS r, "
        "TRY_CAST('x' AS integer) AS t, "
        "date_add('day', 1, DATE '2021-01-31') AS dd, "
        "date_format(TIMESTAMP '2021-01-02 03:04:05', '%Y-%m-%d %H:%i') AS df, "
        "split(review_body, ' ', 2) AS parts, "
        "row_number() OVER (PARTITION BY product_category ORDER BY sentiment DESC) AS rn "
        "FROM reviews WHERE review_body = 'love this dress'"
    )
    row = df.iloc[0].to_dict()
    assert (row["i"], row["n"], float(row["d"]), row["w"], row["r"]) == (2, -2, 2.5, 3, True)
    assert row["rn"] == 1 and pd.isna(row["t"])
    assert row["dd"] == dt.date(2021, 2, 1) and row["df"] == "2021-01-02 03:04"
    assert list(row["parts"]) == ["love", "this dress"]
    agg = env.q(
        "SELECT approx_distinct(product_category) AS c, approx_percentile(sentiment, 0.5) AS p, "
        "approx_percentile(sentiment, ARRAY[0.0, 1.0]) AS ps FROM reviews"
    )
    assert (agg["c"][0], list(agg["ps"][0])) == (2, [-1, 1]) and agg["p"][0] in (0, 1)
    joined = env.q(
        "WITH c AS (SELECT product_category, COUNT(*) AS n FROM reviews GROUP BY 1) "
        "SELECT r.review_body, c.n FROM reviews r JOIN c ON r.product_category = c.product_category "
        "WHERE r.sentiment < 1 ORDER BY c.n, r.review_body LIMIT 5"
    )
    assert joined.to_dict("list") == {"review_body": ["ok I guess", "too small"], "n": [2, 2]}
    words = env.q("SELECT CARDINALITY(SPLIT(review_body, ' ')) AS num_words FROM reviews")
    assert words["num_words"].tolist() == [3, 2, 3, 3] and str(words["num_words"].dtype) == "Int64"


def test_output_column_names(env):
    env.csv_table("t", "a\n1\n", columns={"a": "int"})
    df = env.q('SELECT a, a + 1, COUNT(*) OVER (), a AS "MixedCase" FROM t', ctas_approach=False)
    assert list(df.columns) == ["a", "_col1", "_col2", "mixedcase"]
    values_only = env.q("VALUES (1, 'x'), (2, 'y')", ctas_approach=False)
    assert values_only.to_dict("list") == {"_col0": [1, 2], "_col1": ["x", "y"]}
    with pytest.raises(wr_exceptions.InvalidArgumentValue, match="define all columns names"):
        env.q("SELECT a + 1 FROM t")  # as awswrangler's CTAS approach does on Athena
    with pytest.raises(wr_exceptions.InvalidCtasApproachQuery, match="distinct names"):
        env.q("SELECT a, a FROM t")


def test_ddl_statements(env):
    env.csv_table("reviews", HEADER + "1,x,y\n")
    env.catalog.create_database(name="other")
    q = env.athena.read_sql_query
    assert q("SHOW DATABASES", DB, ctas_approach=False)["database_name"].tolist() == [DB, "other"]
    assert q("SHOW SCHEMAS LIKE 'oth*'", DB, ctas_approach=False)["database_name"].tolist() == [
        "other"
    ]
    assert q("SHOW TABLES", DB, ctas_approach=False)["tab_name"].tolist() == ["reviews"]
    assert q(f"SHOW TABLES IN {DB} 'rev*|x'", "other", ctas_approach=False).shape == (1, 1)
    described = q("DESCRIBE `reviews`", DB, ctas_approach=False)
    assert described["col_name"].tolist() == list(REVIEWS)
    assert described["data_type"].tolist() == list(REVIEWS.values())
    assert q("SHOW COLUMNS IN reviews", DB, ctas_approach=False)["field"].tolist() == list(REVIEWS)
    assert env.athena.describe_table("reviews", database=DB)["Column Name"].tolist() == list(
        REVIEWS
    )
    with pytest.raises(wr_exceptions.InvalidCtasApproachQuery, match="ctas_approach=False"):
        q("SHOW TABLES", DB)
    env.athena.start_query_execution("CREATE DATABASE IF NOT EXISTS made_by_sql", wait=True)
    assert "made_by_sql" in env.catalog.databases()["Database"].tolist()
    env.athena.start_query_execution(f"DROP TABLE {DB}.reviews", wait=True)
    assert not env.catalog.does_table_exist(DB, "reviews")
    assert env.lake.path_for("s3://lab-bucket/tables/reviews/part-0.csv").exists()  # data stays
    env.catalog.create_csv_table(
        database="other", table="t", path="s3://lab-bucket/o/", columns_types={"a": "int"}
    )
    with pytest.raises(QueryError, match="not empty"):
        env.athena.start_query_execution("DROP DATABASE other", wait=True)
    env.athena.start_query_execution("DROP DATABASE other CASCADE", wait=True)
    assert "other" not in env.catalog.databases()["Database"].tolist()
    with pytest.raises(NotImplementedError, match="INSERT INTO"):
        env.athena.start_query_execution("INSERT INTO t VALUES (1)", database=DB)


def test_ctas_writes_parquet_and_registers_the_table(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n-1,bad,Knits\n1,nice,Knits\n")
    execution = env.athena.start_query_execution(
        "CREATE TABLE positive WITH (format = 'PARQUET', "
        "external_location = 's3://lab-bucket/ctas/positive/') AS "
        "SELECT product_category, COUNT(*) AS n FROM reviews WHERE sentiment = 1 GROUP BY 1",
        database=DB,
        wait=True,
    )
    assert execution["Status"]["State"] == "SUCCEEDED"
    files = list(env.lake.path_for("s3://lab-bucket/ctas/positive/").glob("*.parquet"))
    assert len(files) == 1
    assert env.catalog.get_table_types(DB, "positive") == {
        "product_category": "string", "n": "bigint"
    }  # fmt: skip
    df = env.q("SELECT * FROM positive ORDER BY product_category")
    assert df.to_dict("list") == {"product_category": ["Dresses", "Knits"], "n": [1, 1]}
    env.athena.start_query_execution(
        "CREATE TABLE shape_only WITH (external_location = 's3://lab-bucket/ctas/shape/') AS "
        "SELECT sentiment, review_body FROM reviews WITH NO DATA",
        database=DB,
        wait=True,
    )
    assert env.q("SELECT * FROM shape_only").shape == (0, 2)
    assert env.catalog.get_table_types(DB, "shape_only") == {
        "sentiment": "int", "review_body": "string"
    }  # fmt: skip
    # IF NOT EXISTS is a no-op; without it, the table exists
    env.athena.start_query_execution(
        "CREATE TABLE IF NOT EXISTS positive AS SELECT 1 AS a", database=DB, wait=True
    )
    with pytest.raises(QueryError, match="TABLE_ALREADY_EXISTS"):
        env.athena.start_query_execution("CREATE TABLE positive AS SELECT 1 AS a", DB, wait=True)


def test_ctas_onto_a_non_empty_location_fails_and_writes_nothing(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n")
    env.put("s3://lab-bucket/ctas/taken/existing.parquet", b"not ours")
    sql = ("CREATE TABLE t2 WITH (external_location = 's3://lab-bucket/ctas/taken/') "
           "AS SELECT * FROM reviews")  # fmt: skip
    with pytest.raises(QueryError, match="HIVE_PATH_ALREADY_EXISTS") as info:
        env.athena.start_query_execution(sql, database=DB, wait=True)
    assert "s3://lab-bucket/ctas/taken/" in str(info.value)
    assert not env.catalog.does_table_exist(DB, "t2")
    assert [p.name for p in env.lake.path_for("s3://lab-bucket/ctas/taken/").iterdir()] == [
        "existing.parquet"
    ]


def test_a_failed_ctas_leaves_nothing_half_written(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n")
    location = "s3://lab-bucket/ctas/failed/"
    for sql in (
        f"CREATE TABLE f WITH (external_location = '{location}') AS SELECT nosuch FROM reviews",
        f"CREATE TABLE f WITH (external_location = '{location}') AS SELECT 1 + 1 FROM reviews",
        f"CREATE TABLE f WITH (external_location = '{location}') AS "
        "SELECT CAST(review_body AS integer) AS x FROM reviews",
    ):
        with pytest.raises(QueryError):
            env.athena.start_query_execution(sql, database=DB, wait=True)
        assert not env.catalog.does_table_exist(DB, "f")
        assert not env.lake.path_for(location).exists()
    staging = env.lake.root / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_query_history_works_from_another_process(env, tmp_path):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n-1,bad,Knits\n")
    qid = env.athena.start_query_execution(
        "SELECT sentiment, COUNT(*) AS n FROM reviews GROUP BY sentiment ORDER BY sentiment",
        database=DB,
    )
    assert isinstance(qid, str)
    other = Env(env.home).athena  # a second kernel: new objects, same lab home
    execution = other.wait_query(qid)
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["QueryExecutionContext"]["Database"] == DB
    assert execution["ResultConfiguration"]["OutputLocation"].endswith(f"{qid}.csv")
    assert execution["Statistics"]["DataScannedInBytes"] > 0
    df = other.get_query_results(qid)
    assert df.to_dict("list") == {"sentiment": [-1, 1], "n": [1, 1]}
    assert {c: str(t) for c, t in df.dtypes.items()} == {"sentiment": "Int32", "n": "Int64"}
    assert other.get_query_columns_types(qid) == {"sentiment": "integer", "n": "bigint"}
    assert env.lake.path_for(execution["ResultConfiguration"]["OutputLocation"]).exists()


def test_failed_query_is_recorded_and_raised_by_wait_query(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n")
    qid = env.athena.start_query_execution("SELECT nosuch FROM reviews", database=DB)
    execution = env.athena.get_query_execution(qid)
    assert execution["Status"]["State"] == "FAILED"
    assert "nosuch" in execution["Status"]["StateChangeReason"]
    with pytest.raises(wr_exceptions.QueryFailed, match="nosuch"):
        env.athena.wait_query(qid)
    with pytest.raises(ClientError) as info:
        env.athena.wait_query("00000000-0000-0000-0000-000000000000")
    assert info.value.response["Error"]["Code"] == "InvalidRequestException"
    assert isinstance(info.value, InvalidRequestException)


def test_syntax_error_has_line_column_and_the_sql(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n")
    with pytest.raises(QueryError) as info:
        env.q("SELECT sentiment,\n       COUNT(*) AS n\nFORM reviews GROUP BY 1")
    err = info.value
    assert (err.line, err.column) == (3, 1)
    assert "line 3:1" in str(err) and "SYNTAX_ERROR" in str(err) and "FORM" in err.reason
    assert "FORM reviews" in str(err)  # the original SQL
    assert "translated SQL" in str(err)
    assert isinstance(err, wr_exceptions.QueryFailed)


def test_engine_error_has_position_and_both_sqls(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n")
    with pytest.raises(QueryError) as info:
        env.q("SELECT sentiment,\n  stars AS s\nFROM reviews")
    err = info.value
    assert (err.line, err.column) == (2, 3)
    assert "COLUMN_NOT_FOUND" in str(err) and '"stars"' in str(err)
    assert err.translated_sql and "__lab_csv_" in err.translated_sql
    assert "FROM reviews" in str(err) and err.translated_sql in str(err.args[0])


def test_unknown_database_or_table_lists_what_exists(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n")
    with pytest.raises(QueryError) as info:
        env.q("SELECT * FROM revews")
    assert "TABLE_NOT_FOUND" in str(info.value) and "revews" in str(info.value)
    assert f"Tables in {DB}: reviews" in str(info.value)
    assert (info.value.line, info.value.column) == (1, 15)
    with pytest.raises(QueryError) as info:
        env.athena.read_sql_query("SELECT * FROM reviews", database="nodb")
    assert "SCHEMA_NOT_FOUND" in str(info.value) and DB in str(info.value)


def test_a_result_location_outside_the_lab_home_is_refused(env):
    with pytest.raises(LakePathError):
        env.q("SELECT 1 AS a", s3_output="s3://lab-bucket/../../escape/")


def test_params_chunks_categories_and_metadata(env):
    env.csv_table("reviews", HEADER + "1,good,Dresses\n-1,bad,Knits\n1,fine,Knits\n")
    df = env.q(
        "SELECT review_body FROM reviews WHERE product_category = :cat ORDER BY 1",
        params={"cat": "Knits"},
    )
    assert values(df["review_body"]) == ["bad", "fine"]
    df = env.q(
        "SELECT review_body FROM reviews WHERE sentiment = ? ORDER BY 1",
        params=["1"], paramstyle="qmark",
    )  # fmt: skip
    assert values(df["review_body"]) == ["fine", "good"]
    chunks = list(env.q("SELECT * FROM reviews", chunksize=2))
    assert [len(c) for c in chunks] == [2, 1]
    cat = env.q("SELECT product_category FROM reviews", categories=["product_category"])
    assert str(cat["product_category"].dtype) == "category"
    assert df.query_metadata["Status"]["State"] == "SUCCEEDED"
    df = env.q("SELECT 1 AS a", keep_files=False)
    out = env.lake.path_for(df.query_metadata["ResultConfiguration"]["OutputLocation"])
    assert not list(out.parent.rglob(f"{df.query_metadata['QueryExecutionId']}*.parquet"))


def test_create_athena_bucket_and_unsupported_arguments(env):
    uri = env.athena.create_athena_bucket()
    assert uri == "s3://aws-athena-query-results-000000000000-us-east-1/"
    assert env.lake.path_for(uri).is_dir()
    with pytest.raises(NotImplementedError, match="unload_approach"):
        env.q("SELECT 1 AS a", unload_approach=True)
    with pytest.raises(NotImplementedError, match="partitioned"):
        env.catalog.create_csv_table(
            database=DB, table="p", path="s3://lab-bucket/p/", columns_types={"a": "int"},
            partitions_types={"y": "int"},
        )  # fmt: skip
        env.q("SELECT * FROM p")
