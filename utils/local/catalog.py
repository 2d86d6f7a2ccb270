"""``wr.catalog`` on the local backend: a Glue Data Catalog kept in a JSON file in the lab home.

AWS equivalent: ``awswrangler.catalog`` over the AWS Glue Data Catalog. Each method keeps
awswrangler's name, argument names, defaults and return shapes. A table record holds what Glue
holds (location, columns and types, partition keys, SerDe and its parameters, table parameters
such as ``skip.header.line.count``), in Glue's own dictionary layout.

The catalog lives in ``<lab home>/catalog/glue.json``. Readers read the file (it is replaced
atomically, so a reader sees the old version or the new one); a writer takes a file lock only for
its read-modify-write, so two kernels can use the catalog at the same time and no call holds a
lock between calls.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from awswrangler import exceptions as wr_exceptions
from awswrangler.catalog import sanitize_column_name, sanitize_table_name
from botocore.exceptions import ClientError

from utils.errors import LabError
from utils.local.lake import LocalLake, file_lock

LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
LOCAL_CATALOG_ID = "000000000000"

_PRIMITIVES = (
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "integer",
    "bigint",
    "float",
    "double",
    "decimal",
    "string",
    "varchar",
    "char",
    "date",
    "timestamp",
    "binary",
)
ALLOWED_TYPES_TEXT = (
    "boolean, tinyint, smallint, int, integer, bigint, float, double, decimal(p,s), string, "
    "varchar(n), char(n), date, timestamp, binary, array<T>, map<K,V>, struct<name:T,...>"
)


# -- errors ------------------------------------------------------------------------------------
class EntityNotFoundException(LabError, ClientError):
    """A database or table is not in the catalog (Glue's EntityNotFoundException).

    It is a ``botocore.exceptions.ClientError`` with ``response["Error"]["Code"] ==
    "EntityNotFoundException"``, as on AWS, so ``except ClientError`` works on both backends.
    """

    def __init__(self, message: str, operation: str) -> None:
        ClientError.__init__(
            self, {"Error": {"Code": "EntityNotFoundException", "Message": message}}, operation
        )


class InvalidColumnType(LabError, wr_exceptions.InvalidArgumentValue):
    """A column type that Athena / Glue does not have."""


class CatalogError(LabError, RuntimeError):
    """The local catalog file cannot be read or written."""


# -- column types ------------------------------------------------------------------------------
_TOKEN_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise ValueError(f"unexpected character {text[pos]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


class _TypeParser:
    """A recursive-descent parser for Hive / Glue column types."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("the type ends too early")
        if expected is not None and token.lower() != expected:
            raise ValueError(f"expected {expected!r}, found {token!r}")
        self.pos += 1
        return token

    def _number(self) -> int:
        token = self._take()
        if not token.isdigit():
            raise ValueError(f"expected a number, found {token!r}")
        return int(token)

    def parse(self) -> str:
        result = self._type()
        if self._peek() is not None:
            raise ValueError(f"unexpected {self._peek()!r} after {result!r}")
        return result

    def _type(self) -> str:
        name = self._take().lower()
        if name == "array":
            self._take("<")
            inner = self._type()
            self._take(">")
            return f"array<{inner}>"
        if name == "map":
            self._take("<")
            key = self._type()
            if "<" in key:
                raise ValueError("a map key must be a primitive type")
            self._take(",")
            value = self._type()
            self._take(">")
            return f"map<{key},{value}>"
        if name == "struct":
            self._take("<")
            fields = []
            while True:
                field = self._take()
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", field):
                    raise ValueError(f"{field!r} is not a struct field name")
                self._take(":")
                fields.append(f"{field}:{self._type()}")
                if self._peek() == ",":
                    self._take(",")
                    continue
                self._take(">")
                return f"struct<{','.join(fields)}>"
        if name not in _PRIMITIVES:
            raise ValueError(f"{name!r} is not a type")
        if name == "decimal":
            if self._peek() == "(":
                self._take("(")
                precision = self._number()
                scale = 0
                if self._peek() == ",":
                    self._take(",")
                    scale = self._number()
                self._take(")")
                if not 1 <= precision <= 38 or not 0 <= scale <= precision:
                    raise ValueError("decimal(p,s) needs 1 <= p <= 38 and 0 <= s <= p")
                return f"decimal({precision},{scale})"
            return "decimal"
        if name in ("varchar", "char"):
            limit = 65535 if name == "varchar" else 255
            self._take("(")
            length = self._number()
            self._take(")")
            if not 1 <= length <= limit:
                raise ValueError(f"{name}(n) needs 1 <= n <= {limit}")
            return f"{name}({length})"
        return name


def normalize_type(column: str, dtype: Any) -> str:
    """Validate an Athena / Glue column type; return it lowercased without spaces.

    Raises :class:`InvalidColumnType` naming the column and listing the allowed types.
    """
    if not isinstance(dtype, str) or not dtype.strip():
        raise InvalidColumnType(
            f"column {column!r}: the type must be a non-empty string, got {dtype!r}. "
            f"Athena column types: {ALLOWED_TYPES_TEXT}"
        )
    try:
        return _TypeParser(dtype).parse()
    except ValueError as exc:
        raise InvalidColumnType(
            f"column {column!r}: {dtype!r} is not an Athena column type ({exc}). "
            f"Athena column types: {ALLOWED_TYPES_TEXT}"
        ) from None


def _check_types(columns_types: dict[str, str], what: str) -> dict[str, str]:
    if not isinstance(columns_types, dict) or (what == "columns_types" and not columns_types):
        raise wr_exceptions.InvalidArgumentValue(
            f"{what} must be a non-empty dict of column name -> Athena type, got {columns_types!r}"
        )
    out: dict[str, str] = {}
    for name, dtype in columns_types.items():
        normalize_type(name, dtype)
        out[sanitize_column_name(name)] = dtype
    return out


# -- the store -----------------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class _Store:
    """The catalog file: ``{"version": 1, "databases": {name: {..., "Tables": {...}}}}``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "glue.json"
        self.lock_path = folder / ".glue.lock"

    def read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": 1, "databases": {}}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"the local Glue catalog {self.path} is not valid JSON ({exc}); "
                "restore it or delete it to start an empty catalog"
            ) from None
        data.setdefault("databases", {})
        return data

    def update(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply ``change`` to the catalog under the write lock and save it atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with file_lock(self.lock_path):
            data = self.read()
            result = change(data)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".glue-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=1, sort_keys=True)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        return result


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _export(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as boto3 returns it: timestamps as datetimes, no private keys."""
    out = copy.deepcopy({k: v for k, v in record.items() if k != "Tables"})
    for key in ("CreateTime", "UpdateTime", "LastAccessTime"):
        if key in out:
            out[key] = _parse_time(out[key])
    return out


def _not_supported(call: str, **given: Any) -> None:
    for name, value in given.items():
        if value not in (None, False):
            raise NotImplementedError(
                f"local backend: wr.catalog.{call}({name}=...) is not implemented; "
                f"leave {name} at its default locally, or run this cell with BACKEND='aws'."
            )


class LocalCatalog:
    """The ``wr.catalog`` namespace of the local backend (AWS Glue Data Catalog)."""

    def __init__(self, home: Path, lake: LocalLake) -> None:
        self.home = Path(home)
        self.lake = lake
        self._store = _Store(self.home / "catalog")

    # -- internal lookups (also used by the local Athena) ------------------------------------
    def _databases(self) -> dict[str, Any]:
        return self._store.read()["databases"]

    def _missing_database(self, name: str, operation: str) -> EntityNotFoundException:
        known = sorted(self._databases())
        return EntityNotFoundException(
            f"Database {name} not found. Databases in the local catalog: "
            f"{', '.join(known) if known else '(none; create one with wr.catalog.create_database)'}",
            operation,
        )

    def get_table_record(self, database: str, table: str) -> dict[str, Any]:
        """The stored Glue record of a table (``Table`` of GetTable); raises if it is missing."""
        dbs = self._databases()
        db_key, tbl_key = str(database).lower(), str(table).lower()
        if db_key not in dbs:
            raise self._missing_database(database, "GetTable")
        tables = dbs[db_key].get("Tables", {})
        if tbl_key not in tables:
            known = sorted(tables)
            raise EntityNotFoundException(
                f"Table {table} not found in database {database}. Tables in {database}: "
                f"{', '.join(known) if known else '(none)'}",
                "GetTable",
            )
        return _export(tables[tbl_key])

    def list_table_names(self, database: str) -> list[str]:
        """Names of the tables in ``database``; raises if the database does not exist."""
        dbs = self._databases()
        if str(database).lower() not in dbs:
            raise self._missing_database(database, "GetTables")
        return sorted(dbs[str(database).lower()].get("Tables", {}))

    def database_names(self) -> list[str]:
        """Names of all databases in the local catalog."""
        return sorted(self._databases())

    def put_table_record(self, database: str, record: dict[str, Any], replace: bool) -> None:
        """Store a Glue table record (used by Athena CTAS); refuses to replace unless asked.

        Its location must be an ``s3://`` URI in the lake: a table is how Athena reads S3, and
        nothing else (a path of the host is refused with LakePathError)."""
        location = record.get("StorageDescriptor", {}).get("Location")
        if location is not None:
            self._check_location(location, "CreateTable")
        name = record["Name"].lower()

        def change(data: dict[str, Any]) -> None:
            dbs = data["databases"]
            if database.lower() not in dbs:
                raise self._missing_database(database, "CreateTable")
            tables = dbs[database.lower()].setdefault("Tables", {})
            if name in tables and not replace:
                raise wr_exceptions.AlreadyExists(f"Table {database}.{name} already exists.")
            stored = json.loads(json.dumps(record, default=str))
            stored["DatabaseName"] = database.lower()
            stored.setdefault("CreateTime", _now())
            stored["UpdateTime"] = _now()
            stored.setdefault("CatalogId", LOCAL_CATALOG_ID)
            tables[name] = stored

        self._store.update(change)

    # -- databases ---------------------------------------------------------------------------
    def create_database(
        self,
        name: str,
        description: str | None = None,
        catalog_id: str | None = None,
        exist_ok: bool = False,
        database_input_args: dict[str, Any] | None = None,
        boto3_session: Any = None,
    ) -> None:
        """Create a database. AWS: ``wr.catalog.create_database`` (Glue CreateDatabase)."""
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_-]{1,255}$", name):
            raise wr_exceptions.InvalidArgumentValue(
                f"database name {name!r}: use 1-255 letters, digits, '_' or '-' "
                "(Athena queries work best with lowercase letters, digits and '_')"
            )
        extra = dict(database_input_args or {})
        key = name.lower()

        def change(data: dict[str, Any]) -> None:
            dbs = data["databases"]
            if key in dbs:
                if not exist_ok:
                    raise wr_exceptions.AlreadyExists(
                        f"Database {name} already exists and <exist_ok> is set to False."
                    )
                if description is not None:
                    dbs[key]["Description"] = description
                dbs[key].update({k: v for k, v in extra.items() if k != "Name"})
                return
            record: dict[str, Any] = {
                "Name": key,
                "Parameters": {},
                "CreateTime": _now(),
                "CatalogId": LOCAL_CATALOG_ID,
                "Tables": {},
            }
            record.update({k: v for k, v in extra.items() if k != "Name"})
            if description is not None:
                record["Description"] = description
            dbs[key] = record

        self._store.update(change)

    def get_databases(
        self, catalog_id: str | None = None, boto3_session: Any = None
    ) -> Iterator[dict[str, Any]]:
        """Iterate over databases as Glue dicts. AWS: ``wr.catalog.get_databases``."""
        for _, record in sorted(self._databases().items()):
            yield _export(record)

    def databases(
        self, limit: int = 100, catalog_id: str | None = None, boto3_session: Any = None
    ) -> pd.DataFrame:
        """A DataFrame of databases (Database, Description). AWS: ``wr.catalog.databases``."""
        rows = itertools.islice(self.get_databases(), limit)
        data: dict[str, list[str]] = {"Database": [], "Description": []}
        for db in rows:
            data["Database"].append(db["Name"])
            data["Description"].append(db.get("Description", ""))
        return pd.DataFrame(data=data)

    def delete_database(
        self, name: str, catalog_id: str | None = None, boto3_session: Any = None
    ) -> None:
        """Delete a database and its tables (not their data). AWS: ``wr.catalog.delete_database``."""

        def change(data: dict[str, Any]) -> None:
            if name.lower() not in data["databases"]:
                raise self._missing_database(name, "DeleteDatabase")
            del data["databases"][name.lower()]

        self._store.update(change)

    # -- tables ------------------------------------------------------------------------------
    def _create_table(
        self,
        database: str,
        table: str,
        table_input: dict[str, Any],
        mode: str,
        schema_evolution: bool,
        allow_reorder: bool,
        description: str | None,
        parameters: dict[str, str] | None,
        columns_comments: dict[str, str] | None,
        columns_parameters: dict[str, dict[str, str]] | None,
    ) -> None:
        if mode not in ("overwrite", "append"):
            raise wr_exceptions.InvalidArgument(
                f"{mode} is not a valid mode. It must be 'overwrite' or 'append'."
            )
        name = table_input["Name"]
        new_cols = {c["Name"]: c["Type"] for c in table_input["StorageDescriptor"]["Columns"]}

        def change(data: dict[str, Any]) -> None:
            dbs = data["databases"]
            if database.lower() not in dbs:
                raise self._missing_database(database, "CreateTable")
            tables = dbs[database.lower()].setdefault("Tables", {})
            existing = tables.get(name)
            if existing is not None and mode == "append":
                record = existing
                old_cols = {c["Name"]: c["Type"] for c in record["StorageDescriptor"]["Columns"]}
                if not allow_reorder:
                    for old, new in zip(old_cols, new_cols, strict=False):
                        if old != new:
                            raise wr_exceptions.InvalidArgumentValue(
                                f"Column {new} is out of order."
                            )
                for col, dtype in new_cols.items():
                    if col not in old_cols:
                        if not schema_evolution:
                            raise wr_exceptions.InvalidArgumentValue(
                                f"Schema change detected: New column {col} with type {dtype}. "
                                "Please pass schema_evolution=True to allow new columns "
                                "behaviour."
                            )
                        record["StorageDescriptor"]["Columns"].append({"Name": col, "Type": dtype})
                    elif dtype != old_cols[col]:
                        raise wr_exceptions.InvalidArgumentValue(
                            f"Schema change detected: Data type change on column {col} "
                            f"(Old type: {old_cols[col]} / New type {dtype})."
                        )
            else:
                record = table_input
                record["CreateTime"] = existing["CreateTime"] if existing else _now()
            if description is not None:
                record["Description"] = description
            record.setdefault("Parameters", {}).update(parameters or {})
            record["Parameters"]["projection.enabled"] = "false"
            comments = {sanitize_column_name(k): v for k, v in (columns_comments or {}).items()}
            col_params = {sanitize_column_name(k): v for k, v in (columns_parameters or {}).items()}
            for col in record["StorageDescriptor"]["Columns"] + record.get("PartitionKeys", []):
                if col["Name"] in comments:
                    col["Comment"] = comments[col["Name"]]
                if col["Name"] in col_params:
                    col["Parameters"] = col_params[col["Name"]]
            record["DatabaseName"] = database.lower()
            record["UpdateTime"] = _now()
            record["CatalogId"] = LOCAL_CATALOG_ID
            tables[name] = record

        self._store.update(change)

    def _check_location(self, path: str, call: str) -> str:
        """A table's location: an ``s3://`` URI that maps into the lake (Athena reads only S3)."""
        if not isinstance(path, str):
            raise wr_exceptions.InvalidArgumentValue(f"{call}: path must be an s3:// URI string")
        self.lake.path_for(path)  # validates; refuses paths outside the lab home
        return path

    def create_csv_table(
        self,
        database: str,
        table: str,
        path: str,
        columns_types: dict[str, str],
        table_type: str | None = None,
        partitions_types: dict[str, str] | None = None,
        bucketing_info: Any = None,
        compression: str | None = None,
        description: str | None = None,
        parameters: dict[str, str] | None = None,
        columns_comments: dict[str, str] | None = None,
        columns_parameters: dict[str, dict[str, str]] | None = None,
        mode: Literal["overwrite", "append"] = "overwrite",
        catalog_versioning: bool = False,
        schema_evolution: bool = False,
        sep: str = ",",
        skip_header_line_count: int | None = None,
        serde_library: str | None = None,
        serde_parameters: dict[str, str] | None = None,
        boto3_session: Any = None,
        athena_partition_projection_settings: Any = None,
        catalog_id: str | None = None,
    ) -> None:
        """Register CSV files as a table (metadata only). AWS: ``wr.catalog.create_csv_table``."""
        _not_supported(
            "create_csv_table",
            bucketing_info=bucketing_info,
            catalog_versioning=catalog_versioning,
            athena_partition_projection_settings=athena_partition_projection_settings,
        )
        self._check_location(path, "create_csv_table")
        if not isinstance(sep, str) or len(sep) != 1:
            raise wr_exceptions.InvalidArgumentValue(f"sep must be one character, got {sep!r}")
        if skip_header_line_count is not None and (
            not isinstance(skip_header_line_count, int) or skip_header_line_count < 0
        ):
            raise wr_exceptions.InvalidArgumentValue(
                f"skip_header_line_count must be a non-negative int, got {skip_header_line_count!r}"
            )
        if compression not in (None, "gzip"):
            raise NotImplementedError(
                f"local backend: create_csv_table(compression={compression!r}) is not "
                "implemented; use None or 'gzip'"
            )
        columns = _check_types(columns_types, "columns_types")
        partitions = _check_types(partitions_types or {}, "partitions_types")
        name = sanitize_table_name(table)
        params: dict[str, str] = {
            "classification": "csv",
            "compressionType": str(compression).lower(),
            "typeOfData": "file",
            "delimiter": sep,
            "columnsOrdered": "true",
            "areColumnsQuoted": "false",
        }
        if skip_header_line_count is not None:
            params["skip.header.line.count"] = str(skip_header_line_count)
        serde = {
            "SerializationLibrary": serde_library or LAZY_SIMPLE_SERDE,
            "Parameters": (
                {"field.delim": sep, "escape.delim": "\\"}
                if serde_parameters is None
                else dict(serde_parameters)
            ),
        }
        table_input = {
            "Name": name,
            "PartitionKeys": [{"Name": c, "Type": t} for c, t in partitions.items()],
            "TableType": "EXTERNAL_TABLE" if table_type is None else table_type,
            "Parameters": dict(params),
            "StorageDescriptor": {
                "Columns": [{"Name": c, "Type": t} for c, t in columns.items()],
                "Location": path,
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "Compressed": compression is not None,
                "NumberOfBuckets": -1,
                "SerdeInfo": serde,
                "BucketColumns": [],
                "StoredAsSubDirectories": False,
                "SortColumns": [],
                "Parameters": dict(params),
            },
        }
        self._create_table(
            database,
            name,
            table_input,
            mode=mode,
            schema_evolution=schema_evolution,
            allow_reorder=False,
            description=description,
            parameters=parameters,
            columns_comments=columns_comments,
            columns_parameters=columns_parameters,
        )

    def create_parquet_table(
        self,
        database: str,
        table: str,
        path: str,
        columns_types: dict[str, str],
        table_type: str | None = None,
        partitions_types: dict[str, str] | None = None,
        bucketing_info: Any = None,
        catalog_id: str | None = None,
        compression: str | None = None,
        description: str | None = None,
        parameters: dict[str, str] | None = None,
        columns_comments: dict[str, str] | None = None,
        columns_parameters: dict[str, dict[str, str]] | None = None,
        mode: Literal["overwrite", "append"] = "overwrite",
        catalog_versioning: bool = False,
        athena_partition_projection_settings: Any = None,
        boto3_session: Any = None,
    ) -> None:
        """Register Parquet files as a table. AWS: ``wr.catalog.create_parquet_table``."""
        _not_supported(
            "create_parquet_table",
            bucketing_info=bucketing_info,
            catalog_versioning=catalog_versioning,
            athena_partition_projection_settings=athena_partition_projection_settings,
        )
        self._check_location(path, "create_parquet_table")
        self.put_parquet_table(
            database,
            table,
            path,
            columns_types,
            partitions_types=partitions_types,
            table_type=table_type,
            compression=compression,
            mode=mode,
            description=description,
            parameters=parameters,
            columns_comments=columns_comments,
            columns_parameters=columns_parameters,
        )

    def put_parquet_table(
        self,
        database: str,
        table: str,
        path: str,
        columns_types: dict[str, str],
        partitions_types: dict[str, str] | None = None,
        table_type: str | None = None,
        compression: str | None = None,
        mode: str = "overwrite",
        description: str | None = None,
        parameters: dict[str, str] | None = None,
        columns_comments: dict[str, str] | None = None,
        columns_parameters: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Store a Parquet table definition (shared by create_parquet_table and Athena CTAS)."""
        self._check_location(path, "put_parquet_table")
        columns = _check_types(columns_types, "columns_types")
        partitions = _check_types(partitions_types or {}, "partitions_types")
        params = {
            "classification": "parquet",
            "compressionType": str(compression).lower(),
            "typeOfData": "file",
        }
        table_input = {
            "Name": sanitize_table_name(table),
            "PartitionKeys": [{"Name": c, "Type": t} for c, t in partitions.items()],
            "TableType": "EXTERNAL_TABLE" if table_type is None else table_type,
            "Parameters": dict(params),
            "StorageDescriptor": {
                "Columns": [{"Name": c, "Type": t} for c, t in columns.items()],
                "Location": path,
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "Compressed": compression is not None,
                "NumberOfBuckets": -1,
                "SerdeInfo": {
                    "SerializationLibrary": PARQUET_SERDE,
                    "Parameters": {"serialization.format": "1"},
                },
                "BucketColumns": [],
                "StoredAsSubDirectories": False,
                "SortColumns": [],
                "Parameters": {"CrawlerSchemaDeserializerVersion": "1.0", **params},
            },
        }
        self._create_table(
            database,
            table_input["Name"],
            table_input,
            mode=mode,
            schema_evolution=True,
            allow_reorder=True,
            description=description,
            parameters=parameters,
            columns_comments=columns_comments,
            columns_parameters=columns_parameters,
        )

    def get_tables(
        self,
        catalog_id: str | None = None,
        database: str | None = None,
        name_contains: str | None = None,
        name_prefix: str | None = None,
        name_suffix: str | None = None,
        boto3_session: Any = None,
    ) -> Iterator[dict[str, Any]]:
        """Iterate over tables as Glue dicts. AWS: ``wr.catalog.get_tables``."""
        if name_prefix is not None and name_suffix is not None and name_contains is not None:
            raise wr_exceptions.InvalidArgumentCombination(
                "Please, do not filter using name_contains and name_prefix/name_suffix at the "
                "same time. Only name_prefix and name_suffix can be combined together."
            )
        # the same precedence as awswrangler's Glue expression
        if name_prefix is not None and name_suffix is not None:
            regex = re.escape(name_prefix) + ".*" + re.escape(name_suffix)
        elif name_contains is not None:
            regex = ".*" + re.escape(name_contains) + ".*"
        elif name_prefix is not None:
            regex = re.escape(name_prefix) + ".*"
        elif name_suffix is not None:
            regex = ".*" + re.escape(name_suffix)
        else:
            regex = ".*"
        pattern = re.compile(regex, re.DOTALL)
        dbs = self._databases()
        names = [database.lower()] if database is not None else sorted(dbs)
        for db in names:
            for tbl_name, record in sorted(dbs.get(db, {}).get("Tables", {}).items()):
                if pattern.fullmatch(tbl_name):
                    yield _export(record)

    def tables(
        self,
        limit: int = 100,
        catalog_id: str | None = None,
        database: str | None = None,
        search_text: str | None = None,
        name_contains: str | None = None,
        name_prefix: str | None = None,
        name_suffix: str | None = None,
        boto3_session: Any = None,
    ) -> pd.DataFrame:
        """A DataFrame of tables (Database, Table, ...). AWS: ``wr.catalog.tables``."""
        found = self.get_tables(
            database=database,
            name_contains=name_contains,
            name_prefix=name_prefix,
            name_suffix=name_suffix,
        )
        if search_text is not None:
            needle = search_text.lower()
            found = (t for t in found if needle in json.dumps(t, default=str).lower())
        data: dict[str, list[str]] = {
            "Database": [],
            "Table": [],
            "Description": [],
            "TableType": [],
            "Columns": [],
            "Partitions": [],
        }
        for tbl in itertools.islice(found, limit):
            data["Database"].append(tbl["DatabaseName"])
            data["Table"].append(tbl["Name"])
            data["Description"].append(tbl.get("Description", ""))
            data["TableType"].append(tbl.get("TableType", ""))
            data["Columns"].append(
                ", ".join(c["Name"] for c in tbl.get("StorageDescriptor", {}).get("Columns", []))
            )
            data["Partitions"].append(", ".join(c["Name"] for c in tbl.get("PartitionKeys", [])))
        return pd.DataFrame(data=data)

    def table(
        self,
        database: str,
        table: str,
        catalog_id: str | None = None,
        boto3_session: Any = None,
    ) -> pd.DataFrame:
        """A table's columns (Column Name, Type, Partition, Comment). AWS: ``wr.catalog.table``."""
        tbl = self.get_table_record(database, table)
        data: dict[str, list[Any]] = {"Column Name": [], "Type": [], "Partition": [], "Comment": []}
        for partition, cols in (
            (False, tbl.get("StorageDescriptor", {}).get("Columns", [])),
            (True, tbl.get("PartitionKeys", [])),
        ):
            for col in cols:
                data["Column Name"].append(col["Name"])
                data["Type"].append(col["Type"])
                data["Partition"].append(partition)
                data["Comment"].append(col.get("Comment", ""))
        return pd.DataFrame(data=data)

    def get_table_types(
        self,
        database: str,
        table: str,
        catalog_id: str | None = None,
        filter_iceberg_current: bool = False,
        boto3_session: Any = None,
    ) -> dict[str, str] | None:
        """Column name -> type, or None if absent. AWS: ``wr.catalog.get_table_types``."""
        _not_supported("get_table_types", filter_iceberg_current=filter_iceberg_current)
        try:
            tbl = self.get_table_record(database, table)
        except EntityNotFoundException:
            return None
        types = {c["Name"]: c["Type"] for c in tbl["StorageDescriptor"]["Columns"]}
        types.update({c["Name"]: c["Type"] for c in tbl.get("PartitionKeys", [])})
        return types

    def get_table_location(
        self,
        database: str,
        table: str,
        catalog_id: str | None = None,
        boto3_session: Any = None,
    ) -> str:
        """The table's S3 location. AWS: ``wr.catalog.get_table_location``."""
        tbl = self.get_table_record(database, table)
        try:
            return tbl["StorageDescriptor"]["Location"]
        except KeyError:
            raise wr_exceptions.InvalidTable(f"{database}.{table} has no location") from None

    def get_table_parameters(
        self,
        database: str,
        table: str,
        catalog_id: str | None = None,
        boto3_session: Any = None,
    ) -> dict[str, str]:
        """The table's parameters. AWS: ``wr.catalog.get_table_parameters``."""
        return dict(self.get_table_record(database, table).get("Parameters", {}))

    def get_table_description(
        self,
        database: str,
        table: str,
        catalog_id: str | None = None,
        boto3_session: Any = None,
    ) -> str | None:
        """The table's description. AWS: ``wr.catalog.get_table_description``."""
        return self.get_table_record(database, table).get("Description")

    def does_table_exist(
        self,
        database: str,
        table: str,
        boto3_session: Any = None,
        catalog_id: str | None = None,
    ) -> bool:
        """Whether the table exists. AWS: ``wr.catalog.does_table_exist``."""
        try:
            self.get_table_record(database, table)
        except EntityNotFoundException:
            return False
        return True

    def delete_table_if_exists(
        self,
        database: str,
        table: str,
        catalog_id: str | None = None,
        boto3_session: Any = None,
    ) -> bool:
        """Delete a table's definition (not its data). AWS: ``wr.catalog.delete_table_if_exists``."""

        def change(data: dict[str, Any]) -> bool:
            tables = data["databases"].get(str(database).lower(), {}).get("Tables", {})
            return tables.pop(str(table).lower(), None) is not None

        return bool(self._store.update(change))

    # pure helpers, as in awswrangler
    sanitize_table_name = staticmethod(sanitize_table_name)
    sanitize_column_name = staticmethod(sanitize_column_name)
