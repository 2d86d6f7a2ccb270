"""The local Glue catalog: awswrangler's calls, Glue's records, persistence, bad input."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pandas as pd
import pytest
from awswrangler import exceptions as wr_exceptions
from botocore.exceptions import ClientError

from utils.errors import LabError, LakePathError
from utils.local.catalog import (
    LAZY_SIMPLE_SERDE,
    OPEN_CSV_SERDE,
    EntityNotFoundException,
    InvalidColumnType,
    LocalCatalog,
    normalize_type,
)
from utils.local.lake import LocalLake

COLUMNS = {"sentiment": "int", "review_body": "string", "product_category": "string"}
PATH = "s3://lab-bucket/data/transformed/"


def make_catalog(home: Path) -> LocalCatalog:
    return LocalCatalog(home, LocalLake(home))


@pytest.fixture
def catalog(tmp_path) -> LocalCatalog:
    cat = make_catalog(tmp_path / "home")
    cat.create_database(name="dsoaws_deep_learning", exist_ok=True)
    cat.create_csv_table(
        database="dsoaws_deep_learning",
        table="reviews",
        path=PATH,
        columns_types=COLUMNS,
        mode="overwrite",
        skip_header_line_count=1,
        sep=",",
    )
    return cat


def test_create_database_exist_ok_and_already_exists(tmp_path):
    cat = make_catalog(tmp_path)
    cat.create_database(name="db1", description="first")
    cat.create_database(name="db1", exist_ok=True)  # no error, no duplicate
    with pytest.raises(wr_exceptions.AlreadyExists, match="db1 already exists"):
        cat.create_database(name="db1")
    frame = cat.databases()
    assert list(frame.columns) == ["Database", "Description"]
    assert frame.to_dict("records") == [{"Database": "db1", "Description": "first"}]
    (db,) = list(cat.get_databases())
    assert db["Name"] == "db1" and "CreateTime" in db and "Tables" not in db


def test_csv_table_holds_what_glue_holds(catalog):
    record = catalog.get_table_record("dsoaws_deep_learning", "reviews")
    sd = record["StorageDescriptor"]
    assert record["TableType"] == "EXTERNAL_TABLE"
    assert sd["Location"] == PATH
    assert sd["Columns"] == [{"Name": n, "Type": t} for n, t in COLUMNS.items()]
    assert sd["SerdeInfo"] == {
        "SerializationLibrary": LAZY_SIMPLE_SERDE,
        "Parameters": {"field.delim": ",", "escape.delim": "\\"},
    }
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert record["Parameters"]["skip.header.line.count"] == "1"
    assert record["Parameters"]["classification"] == "csv"
    assert record["PartitionKeys"] == []


def test_table_and_tables_have_awswranglers_shape(catalog):
    table = catalog.table(database="dsoaws_deep_learning", table="reviews")
    assert list(table.columns) == ["Column Name", "Type", "Partition", "Comment"]
    assert table["Column Name"].tolist() == list(COLUMNS)
    assert table["Type"].tolist() == list(COLUMNS.values())
    assert table["Partition"].tolist() == [False, False, False]
    tables = catalog.tables(database="dsoaws_deep_learning")
    assert list(tables.columns) == [
        "Database", "Table", "Description", "TableType", "Columns", "Partitions"
    ]  # fmt: skip
    row = tables.iloc[0].to_dict()
    assert row["Table"] == "reviews"
    assert row["Columns"] == "sentiment, review_body, product_category"
    assert catalog.tables(name_contains="view").shape[0] == 1
    assert catalog.tables(name_prefix="zzz").shape[0] == 0
    assert catalog.get_table_types("dsoaws_deep_learning", "reviews") == COLUMNS
    assert catalog.get_table_types("dsoaws_deep_learning", "nope") is None
    assert catalog.get_table_location("dsoaws_deep_learning", "reviews") == PATH


def test_names_are_sanitized_as_awswrangler_does(tmp_path):
    cat = make_catalog(tmp_path)
    cat.create_database(name="db")
    cat.create_csv_table(
        database="db", table="My Reviews", path=PATH, columns_types={"Star Rating": "int"}
    )
    assert cat.does_table_exist("db", "my_reviews")
    assert cat.table("db", "my_reviews")["Column Name"].tolist() == ["star_rating"]


def test_partitions_comments_and_open_csv(tmp_path):
    cat = make_catalog(tmp_path)
    cat.create_database(name="db")
    cat.create_csv_table(
        database="db",
        table="t",
        path=PATH,
        columns_types={"a": "decimal(10,2)", "b": "array<string>"},
        partitions_types={"year": "int"},
        columns_comments={"a": "money"},
        serde_library=OPEN_CSV_SERDE,
        serde_parameters={"separatorChar": ",", "quoteChar": '"'},
        description="a table",
    )
    table = cat.table("db", "t")
    assert table.to_dict("list") == {
        "Column Name": ["a", "b", "year"],
        "Type": ["decimal(10,2)", "array<string>", "int"],
        "Partition": [False, False, True],
        "Comment": ["money", "", ""],
    }
    assert cat.get_table_description("db", "t") == "a table"
    sd = cat.get_table_record("db", "t")["StorageDescriptor"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == OPEN_CSV_SERDE
    assert cat.tables(database="db")["Partitions"].tolist() == ["year"]


@pytest.mark.parametrize(
    "dtype",
    ["int", "INT", "bigint", "double", "string", "varchar(20)", "char(3)", "decimal(38,0)",
     "decimal", "boolean", "date", "timestamp", "tinyint", "smallint", "float", "binary",
     "array<int>", "map<string,array<double>>", "struct<a:int, b:string>"],
)  # fmt: skip
def test_valid_types(dtype):
    assert normalize_type("c", dtype)


@pytest.mark.parametrize(
    "dtype", ["text", "integer(4)", "varchar", "decimal(50,2)", "array<>", "map<array<int>,int>",
              "struct<a int>", "", "string,", "nvarchar(3)"],
)  # fmt: skip
def test_unknown_type_names_the_column_and_the_allowed_types(tmp_path, dtype):
    cat = make_catalog(tmp_path)
    cat.create_database(name="db")
    with pytest.raises(InvalidColumnType) as info:
        cat.create_csv_table(
            database="db", table="t", path=PATH, columns_types={"ok": "int", "review": dtype}
        )
    message = str(info.value)
    assert "'review'" in message and "varchar(n)" in message and "struct<" in message
    assert isinstance(info.value, wr_exceptions.InvalidArgumentValue)
    assert not cat.does_table_exist("db", "t")


@pytest.mark.parametrize("path", ["s3://lab-bucket/../../etc/", "/tmp/data/", "s3://AB/x/"])
def test_a_path_outside_the_lab_home_is_refused(tmp_path, path):
    cat = make_catalog(tmp_path)
    cat.create_database(name="db")
    with pytest.raises(LakePathError):
        cat.create_csv_table(database="db", table="t", path=path, columns_types={"a": "int"})
    assert not cat.does_table_exist("db", "t")


def test_unknown_database_and_table(catalog):
    with pytest.raises(EntityNotFoundException) as info:
        catalog.create_csv_table(database="nope", table="t", path=PATH, columns_types=COLUMNS)
    assert "Database nope not found" in str(info.value)
    assert "dsoaws_deep_learning" in str(info.value)  # lists what exists
    with pytest.raises(ClientError) as info2:  # the same type of error as Glue's
        catalog.table(database="dsoaws_deep_learning", table="missing")
    assert info2.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert "Tables in dsoaws_deep_learning: reviews" in str(info2.value)
    assert isinstance(info2.value, LabError)


def test_delete_table_and_database(catalog):
    assert catalog.delete_table_if_exists(database="dsoaws_deep_learning", table="reviews")
    assert not catalog.delete_table_if_exists(database="dsoaws_deep_learning", table="reviews")
    assert not catalog.delete_table_if_exists(database="nope", table="reviews")
    catalog.delete_database(name="dsoaws_deep_learning")
    assert catalog.databases().empty
    with pytest.raises(EntityNotFoundException):
        catalog.delete_database(name="dsoaws_deep_learning")


def test_modes(catalog):
    db = "dsoaws_deep_learning"
    with pytest.raises(wr_exceptions.InvalidArgumentValue, match="Schema change detected"):
        catalog.create_csv_table(
            database=db, table="reviews", path=PATH, columns_types={**COLUMNS, "x": "int"},
            mode="append",
        )  # fmt: skip
    catalog.create_csv_table(
        database=db, table="reviews", path=PATH, columns_types={**COLUMNS, "x": "int"},
        mode="append", schema_evolution=True,
    )  # fmt: skip
    assert list(catalog.get_table_types(db, "reviews")) == [*COLUMNS, "x"]
    catalog.create_csv_table(database=db, table="reviews", path=PATH, columns_types={"a": "int"})
    assert catalog.get_table_types(db, "reviews") == {"a": "int"}  # overwrite replaces
    with pytest.raises(wr_exceptions.InvalidArgument):
        catalog.create_csv_table(database=db, table="t", path=PATH, columns_types=COLUMNS,
                                 mode="upsert")  # type: ignore[arg-type]  # fmt: skip


def test_unsupported_arguments_say_so(catalog):
    with pytest.raises(NotImplementedError, match="bucketing_info"):
        catalog.create_csv_table(
            database="dsoaws_deep_learning", table="t", path=PATH, columns_types=COLUMNS,
            bucketing_info=(["a"], 2),
        )  # fmt: skip


def test_catalog_survives_a_restart(catalog):
    again = make_catalog(catalog.home)
    assert again.table("dsoaws_deep_learning", "reviews")["Column Name"].tolist() == list(COLUMNS)
    # the file is plain JSON, replaced atomically: no temp files left behind
    files = sorted(p.name for p in (catalog.home / "catalog").iterdir())
    assert files == [".glue.lock", "glue.json"]


def _add_tables(home: str, prefix: str, n: int) -> None:
    cat = make_catalog(Path(home))
    for i in range(n):
        cat.create_csv_table(
            database="db", table=f"{prefix}{i}", path=PATH, columns_types={"a": "int"}
        )


def test_two_processes_write_at_the_same_time(tmp_path):
    cat = make_catalog(tmp_path)
    cat.create_database(name="db")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_add_tables, args=(str(tmp_path), p, 15)) for p in "ab"]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    names = cat.tables(database="db", limit=1000)["Table"].tolist()
    assert sorted(names) == sorted([f"a{i}" for i in range(15)] + [f"b{i}" for i in range(15)])


def test_no_lock_is_held_between_calls(catalog):
    import fcntl

    with open(catalog.home / "catalog" / ".glue.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if held
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        # and reading does not need the lock at all
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert isinstance(catalog.table("dsoaws_deep_learning", "reviews"), pd.DataFrame)
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def test_a_corrupt_catalog_file_is_reported(tmp_path):
    cat = make_catalog(tmp_path)
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "glue.json").write_text("{not json")
    with pytest.raises(LabError, match="not valid JSON"):
        cat.databases()
