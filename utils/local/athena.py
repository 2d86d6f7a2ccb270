"""``wr.athena`` on the local backend: Athena SQL over the local lake, run by DuckDB.

AWS equivalent: ``awswrangler.athena`` on Amazon Athena. Each method keeps awswrangler's name,
argument names, defaults and return shapes. A query is written in Athena's SQL (Trino),
translated to DuckDB with sqlglot (:mod:`utils.local.sqlxlate`), and its table names are resolved
through the local Glue catalog. Tables are read as Athena reads them:

- every object under the table's location, except names that start with ``_`` or ``.``;
- CSV with the default ``LazySimpleSerDe``: one record per line, fields split on the delimiter
  with no quote handling (a delimiter inside quotes splits the field), extra fields dropped,
  missing fields NULL, ``\\N`` is NULL, and a value that does not parse as the declared type is
  NULL (numbers are parsed as Athena's Hive text reader parses them);
- CSV with ``OpenCSVSerde``: quotes and escapes honoured; a numeric value that does not parse
  fails the query with ``HIVE_BAD_DATA``, as on Athena;
- Parquet: columns by name.

Where the local engine differs: ``approx_percentile`` returns an exact percentile (a value Athena
could return: it is within Athena's error bound), regular expressions use RE2 rather than Java's
engine, and results are computed in-process (no data-scanned charges). Parsed tables are
cached in memory (keyed on the table definition and each file's size, modification time, change
time and inode, so a file rewritten in place is read again), so a second query on unchanged files
does not parse them again.

Athena reads only S3, and only through the catalog: a query's tables are resolved in the local
Glue catalog, their files read by a loader connection that runs only this module's own SQL, and
the rows handed to the query's DuckDB connection, which runs with external access off (no file,
no network, no extension loading, its configuration locked). DuckDB's table functions
(``read_csv``, ``glob``, ``query``, ...) are unknown functions to Athena, and get its
``FUNCTION_NOT_FOUND``. Execution parameters (``paramstyle="qmark"``) are bound as values, as
Athena binds them; ``paramstyle="named"`` is formatted client-side by awswrangler's own formatter
(values quoted as SQL literals), as awswrangler does on AWS.

Every query gets an id and a record under ``<lab home>/athena/queries/``; its results are written
to the query result location in the lake, so ``get_query_results`` works from another kernel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from awswrangler import exceptions as wr_exceptions
from botocore.exceptions import ClientError

from utils.errors import LabError, LakePathError
from utils.local import sqlxlate
from utils.local.catalog import (
    LAZY_SIMPLE_SERDE,
    LOCAL_CATALOG_ID,
    OPEN_CSV_SERDE,
    EntityNotFoundException,
    LocalCatalog,
)
from utils.local.lake import LocalLake, parse_s3_uri

_LINE_DELIM = "\x1e\x1f\x1d\x1c"  # a delimiter that never occurs: read whole lines
_CACHE_MB_DEFAULT = 2048
_BATCH_ROWS = 1 << 20  # rows per Arrow batch from the loader to the query connection
# the loader reads the lake's files (only this module's own SQL runs there)
_LOADER_CONFIG = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "python_enable_replacements": False,
}
# the query connection: no files, no network, no extensions; its settings locked after set-up
_QUERY_CONFIG = {**_LOADER_CONFIG, "enable_external_access": False}


# -- errors --------------------------------------------------------------------------------------
class QueryError(LabError, wr_exceptions.QueryFailed):
    """A query failed: the engine's message, where (line, column), the SQL and its translation.

    It is an ``awswrangler.exceptions.QueryFailed``, as on Athena, so
    ``except wr.exceptions.QueryFailed`` works on both backends.
    """

    def __init__(
        self,
        message: str,
        *,
        sql: str,
        translated_sql: str | None = None,
        line: int | None = None,
        column: int | None = None,
        query_execution_id: str | None = None,
    ) -> None:
        self.message = message
        self.sql = sql
        self.translated_sql = translated_sql
        self.line = line
        self.column = column
        self.query_execution_id = query_execution_id
        super().__init__(self._render())

    @property
    def reason(self) -> str:
        """The one-line reason, as Athena's StateChangeReason puts it."""
        where = f"line {self.line}:{self.column}: " if self.line is not None else ""
        if where and re.match(r"^[A-Z_]+: ", self.message):
            code, _, rest = self.message.partition(": ")
            return f"{code}: {where}{rest}"
        return f"{where}{self.message}"

    def _render(self) -> str:
        parts = [self.reason]
        parts.append("original SQL (Athena / Trino):\n" + _indent(self.sql))
        if self.translated_sql:
            parts.append("translated SQL (local DuckDB):\n" + _indent(self.translated_sql))
        else:
            parts.append(
                "translated SQL (local DuckDB): none, the statement failed before it was translated"
            )
        if self.query_execution_id:
            parts.append(f"query execution id: {self.query_execution_id}")
        return "\n".join(parts)


class InvalidRequestException(LabError, ClientError):
    """Athena's InvalidRequestException (e.g. an unknown query execution id)."""

    def __init__(self, message: str, operation: str) -> None:
        ClientError.__init__(
            self, {"Error": {"Code": "InvalidRequestException", "Message": message}}, operation
        )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in str(text).strip("\n").splitlines())


def _not_supported(call: str, **given: Any) -> None:
    for name, value in given.items():
        if value not in (None, False):
            raise NotImplementedError(
                f"local backend: wr.athena.{call}({name}=...) is not implemented; "
                f"leave {name} at its default locally, or run this cell with BACKEND='aws'."
            )


# -- reading tables --------------------------------------------------------------------------------
def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


_INT_TYPES = {"tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER",
              "integer": "INTEGER", "bigint": "BIGINT"}  # fmt: skip


def _lazy_value(v: str, glue_type: str, column: str, esc: str | None, null_seq: str) -> str:
    """DuckDB expression that decodes field ``v`` as Athena's LazySimpleSerDe does."""
    t = glue_type.strip().lower().replace(" ", "")
    null_check = f"{v} IS NULL OR {v} = {_sql_str(null_seq)}"
    if t == "string" or t.startswith(("varchar(", "char(")):
        value = v
        if esc:
            value = (
                f"CASE WHEN contains({v}, {_sql_str(esc)}) THEN regexp_replace({v}, "
                f"{_sql_str(re.escape(esc) + '(.)')}, '\\1', 'g') ELSE {v} END"
            )
        if t.startswith("varchar("):
            value = f"left({value}, {int(t[8:-1])})"
        elif t.startswith("char("):
            n = int(t[5:-1])
            value = f"rpad(left({value}, {n}), {n})"
        return f"CASE WHEN {null_check} THEN NULL ELSE {value} END"
    if t in _INT_TYPES:
        intpart = f"regexp_extract({v}, '^[+-]?[0-9]*')"
        return (
            f"CASE WHEN {null_check} THEN NULL "
            f"WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN TRY_CAST({v} AS {_INT_TYPES[t]}) "
            f"WHEN regexp_full_match({v}, '[+-]?[0-9]*[.][0-9]*') AND {v} NOT IN ('+', '-') "
            f"THEN TRY_CAST(CASE WHEN {intpart} IN ('', '+', '-') THEN '0' ELSE {intpart} END "
            f"AS {_INT_TYPES[t]}) END"
        )
    if t in ("double", "float"):
        target = "DOUBLE" if t == "double" else "FLOAT"
        trimmed = f"trim({v}, ' \t')"
        return (
            f"CASE WHEN {null_check} THEN NULL WHEN regexp_full_match({trimmed}, "
            r"'[+-]?(NaN|Infinity|([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)') "
            f"THEN TRY_CAST(regexp_replace({trimmed}, '[fFdD]$', '') AS {target}) END"
        )
    if t == "boolean":
        return (
            f"CASE WHEN {null_check} THEN NULL WHEN lower({v}) = 'true' THEN true "
            f"WHEN lower({v}) = 'false' THEN false END"
        )
    if t.startswith("decimal") or t in ("date", "timestamp"):
        target = sqlxlate.glue_to_duckdb(t)
        return f"CASE WHEN {null_check} THEN NULL ELSE TRY_CAST(trim({v}) AS {target}) END"
    raise sqlxlate.SqlNotSupported(
        f"column {column!r} of type {glue_type}: reading this type from CSV is not supported "
        "locally (supported: string, varchar, char, tinyint..bigint, float, double, boolean, "
        "decimal, date, timestamp)"
    )


def _opencsv_value(v: str, glue_type: str, column: str) -> str:
    """DuckDB expression decoding an OpenCSVSerde field (NULL when it does not parse)."""
    t = glue_type.strip().lower().replace(" ", "")
    if t == "string" or t.startswith(("varchar(", "char(")):
        return v
    if t in _INT_TYPES:
        return (
            f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') "
            f"THEN TRY_CAST({v} AS {_INT_TYPES[t]}) END"
        )
    if t in ("double", "float"):
        target = "DOUBLE" if t == "double" else "FLOAT"
        return (
            f"CASE WHEN regexp_full_match(trim({v}), "
            r"'[+-]?(NaN|Infinity|([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)') "
            f"THEN TRY_CAST(regexp_replace(trim({v}), '[fFdD]$', '') AS {target}) END"
        )
    if t == "boolean":
        return f"CASE WHEN lower({v}) = 'true' THEN true WHEN lower({v}) = 'false' THEN false END"
    if t == "date":
        return (
            f"CASE WHEN regexp_full_match({v}, '-?[0-9]+') THEN "
            f"DATE '1970-01-01' + TRY_CAST({v} AS INTEGER) ELSE TRY_CAST({v} AS DATE) END"
        )
    if t == "timestamp":
        return (
            f"CASE WHEN regexp_full_match({v}, '-?[0-9]+') THEN "
            f"make_timestamp(TRY_CAST({v} AS BIGINT) * 1000) ELSE TRY_CAST({v} AS TIMESTAMP) END"
        )
    if t.startswith("decimal"):
        return f"TRY_CAST({v} AS {sqlxlate.glue_to_duckdb(t)})"
    raise sqlxlate.SqlNotSupported(
        f"column {column!r} of type {glue_type}: OpenCSVSerde reads this type as a string; "
        "declare it string and CAST it in the query"
    )


def _lazy_split(line: str, sep: str, esc: str) -> list[str]:
    """Split one line as LazySimpleSerDe does when an escape character is set."""
    fields, current, i, n = [], [], 0, len(line)
    while i < n:
        ch = line[i]
        if ch == sep:
            fields.append("".join(current))
            current = []
        elif ch == esc:
            current.append(ch)
            if i + 1 < n:
                current.append(line[i + 1])
            i += 1
        else:
            current.append(ch)
        i += 1
    fields.append("".join(current))
    return fields


def _opencsv_split(line: str, sep: str, quote: str, esc: str, ncols: int) -> list[str | None]:
    """Split one line as OpenCSVSerde (Athena's CSV reader) does."""
    values: list[str | None] = [None] * ncols
    if not line or ncols == 0:
        return values
    buf: list[str] = []
    column, in_quotes, in_field, pos, n = 0, False, False, 0, len(line)
    while pos < n and column < ncols:
        ch = line[pos]
        nxt = line[pos + 1] if pos + 1 < n else None
        if ch == esc:
            if (in_quotes or in_field) and nxt in (quote, esc):
                buf.append(nxt)
                pos += 1
        elif ch == quote:
            if (in_quotes or in_field) and nxt == quote:
                buf.append(nxt)
                pos += 1
            else:
                if pos > 2 and line[pos - 1] != sep and n > pos + 1 and nxt != sep:
                    if buf and "".join(buf).isspace():
                        buf = []
                    else:
                        buf.append(ch)
                in_quotes = not in_quotes
            in_field = not in_field
        elif ch == sep and not in_quotes:
            values[column] = "".join(buf)
            column += 1
            buf = []
            in_field = False
        else:
            buf.append(ch)
            in_field = True
        pos += 1
    if column < ncols and not in_quotes:
        values[column] = "".join(buf)
    return values


@dataclass
class _CacheEntry:
    name: str
    nbytes: int


class _TableReader:
    """Turns catalog tables into DuckDB relations; keeps parsed CSV tables in memory."""

    def __init__(self, lake: LocalLake, budget_bytes: int, scratch: Path) -> None:
        self.lake = lake
        self.scratch = scratch
        self.budget = budget_bytes
        self.cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        self.lock = threading.Lock()
        self.counter = 0
        self.views: list[str] = []
        self._loader: duckdb.DuckDBPyConnection | None = None

    def files(self, location: str) -> list[tuple[Path, int, tuple[int, ...]]]:
        """Every object Athena reads under ``location``: (path, size, version), in key order.

        Objects whose name, or a folder of whose name, below the location starts with ``_`` or
        ``.`` are hidden to Athena, as are ``_$folder$`` markers and empty objects. The version
        (modification time, change time, inode) tells a rewritten file from the one cached.
        """
        root = self.lake.path_for(location)
        if root.is_file():
            warnings.warn(
                f"the table location {location} is an object, not a folder: Athena reads the "
                "objects *under* a location, so this table has no rows. Point the table at the "
                "folder (prefix) that holds the files.",
                stacklevel=4,
            )
            return []
        bucket, key = parse_s3_uri(location)
        prefix = key if key == "" or key.endswith("/") else key + "/"
        found: list[tuple[str, Path, int, tuple[int, ...]]] = []
        for name, path, st in self.lake.walk(bucket, prefix):
            below = name[len(prefix) :].split("/")
            if any(p.startswith(("_", ".")) for p in below) or name.endswith("_$folder$"):
                continue
            if st.st_size > 0:
                version = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                found.append((name, path, st.st_size, version))
        found.sort(key=lambda item: item[0].encode("utf-8"))
        return [(path, size, version) for _, path, size, version in found]

    def loader(self) -> duckdb.DuckDBPyConnection:
        """The connection that reads the lake's files (only this module's own SQL runs there)."""
        if self._loader is None:
            self._loader = duckdb.connect(":memory:", config=dict(_LOADER_CONFIG))
        return self._loader

    def _install(self, cur: duckdb.DuckDBPyConnection, name: str, select_sql: str) -> None:
        """Run ``select_sql`` on the loader and store its rows as table ``name`` in ``cur``."""
        reader = self.loader().sql(select_sql).to_arrow_reader(_BATCH_ROWS)
        source = f"__lab_load_{uuid.uuid4().hex[:12]}"
        cur.register(source, reader)
        try:
            cur.execute(f"CREATE TABLE {_ident(name)} AS SELECT * FROM {_ident(source)}")
        finally:
            cur.unregister(source)

    def relation(self, cur: duckdb.DuckDBPyConnection, record: dict[str, Any]) -> tuple[str, int]:
        """A relation name usable in ``cur`` for this table, and the bytes it scans."""
        sd = record.get("StorageDescriptor", {})
        if record.get("PartitionKeys"):
            raise sqlxlate.SqlNotSupported(
                f"table {record['Name']!r} is partitioned; querying partitioned tables is not "
                "supported by the local Athena (register an unpartitioned table instead)"
            )
        if record.get("TableType") not in (None, "EXTERNAL_TABLE", "MANAGED_TABLE"):
            raise sqlxlate.SqlNotSupported(
                f"table {record['Name']!r} has TableType {record.get('TableType')!r}; "
                "only EXTERNAL_TABLE is supported locally"
            )
        location = sd.get("Location")
        if not location:
            raise sqlxlate.SqlError(f"table {record['Name']!r} has no location")
        files = self.files(location)
        nbytes = sum(size for _, size, _ in files)
        columns = [(c["Name"], c["Type"]) for c in sd.get("Columns", [])]
        serde = sd.get("SerdeInfo", {}).get("SerializationLibrary", "")
        input_format = sd.get("InputFormat", "")
        if "parquet" in serde.lower() or "parquet" in input_format.lower():
            return self._parquet_table(cur, record, columns, files), nbytes
        if serde in (LAZY_SIMPLE_SERDE, OPEN_CSV_SERDE) and "TextInputFormat" in input_format:
            return self._csv_relation(cur, record, columns, files), nbytes
        raise sqlxlate.SqlNotSupported(
            f"table {record['Name']!r} uses SerDe {serde!r} / {input_format!r}; the local Athena "
            "reads CSV (LazySimpleSerDe, OpenCSVSerde) and Parquet tables"
        )

    def _empty(self, columns: list[tuple[str, str]]) -> str:
        cols = ", ".join(
            f"CAST(NULL AS {sqlxlate.glue_to_duckdb(t)}) AS {_ident(n)}" for n, t in columns
        )
        return f"(SELECT {cols} WHERE false)"

    def _temp_view(self, cur: duckdb.DuckDBPyConnection, select_sql: str) -> str:
        with self.lock:
            self.counter += 1
            name = f"__lab_view_{self.counter}"
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS {select_sql}")
        self.views.append(name)
        return name

    def take_views(self) -> list[str]:
        """The temporary views made for the current query (to drop when it ends)."""
        views, self.views = self.views, []
        return views

    def _cache_key(self, sd: dict[str, Any], extra: Any, files: list[tuple[Path, int, Any]]) -> str:
        key_data = json.dumps(
            [sd.get("Columns"), extra, [(str(p), s, v) for p, s, v in files]],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha1(key_data.encode()).hexdigest()

    def _cached(self, key: str) -> str | None:
        entry = self.cache.get(key)
        if entry is None:
            return None
        self.cache.move_to_end(key)
        return entry.name

    def _remember(self, cur: duckdb.DuckDBPyConnection, key: str, name: str, nbytes: int) -> None:
        self.cache[key] = _CacheEntry(name, nbytes)
        self._evict(cur, keep=key)

    def _parquet_table(
        self,
        cur: duckdb.DuckDBPyConnection,
        record: dict[str, Any],
        columns: list[tuple[str, str]],
        files: list[tuple[Path, int, Any]],
    ) -> str:
        sd = record["StorageDescriptor"]
        key = self._cache_key(sd, "parquet", files)
        with self.lock:
            name = self._cached(key)
            if name is not None:
                return name
            self.counter += 1
            name = f"__lab_parquet_{self.counter}"
            if not files:
                cur.execute(f"CREATE TABLE {_ident(name)} AS SELECT * FROM {self._empty(columns)}")
            else:
                paths = "[" + ", ".join(_sql_str(str(p)) for p, _, _ in files) + "]"
                source = f"read_parquet({paths}, union_by_name = true)"
                described = self.loader().execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
                present = {row[0].lower() for row in described}
                cols = []
                for col, gtype in columns:
                    duck = sqlxlate.glue_to_duckdb(gtype)
                    expr = f"CAST({_ident(col)} AS {duck})" if col.lower() in present else "NULL"
                    cols.append(f"CAST({expr} AS {duck}) AS {_ident(col)}")
                self._install(cur, name, f"SELECT {', '.join(cols)} FROM {source}")
            self._remember(cur, key, name, sum(s for _, s, _ in files))
        return name

    def _csv_relation(
        self,
        cur: duckdb.DuckDBPyConnection,
        record: dict[str, Any],
        columns: list[tuple[str, str]],
        files: list[tuple[Path, int, int]],
    ) -> str:
        sd = record["StorageDescriptor"]
        serde = sd.get("SerdeInfo", {})
        params = {**record.get("Parameters", {}), **sd.get("Parameters", {})}
        key = self._cache_key(sd, [serde, params], files)
        is_open_csv = serde.get("SerializationLibrary") == OPEN_CSV_SERDE
        with self.lock:
            name = self._cached(key)
            if name is None:
                self.counter += 1
                name = f"__lab_csv_{self.counter}"
                if not files:
                    select = f"SELECT * FROM {self._empty(columns)}"
                    if is_open_csv:
                        select = self._open_csv_select_empty(columns)
                    cur.execute(f"CREATE TABLE {_ident(name)} AS {select}")
                else:
                    try:
                        select = self._csv_select(serde, params, columns, files, is_open_csv)
                        self._install(cur, name, select)
                    finally:
                        shutil.rmtree(self.scratch, ignore_errors=True)
                self._remember(cur, key, name, sum(s for _, s, _ in files))
        if not is_open_csv:
            return name
        return self._temp_view(cur, self._open_csv_checks(name, columns, params))

    def _evict(self, cur: duckdb.DuckDBPyConnection, keep: str) -> None:
        total = sum(e.nbytes for e in self.cache.values())
        for key in list(self.cache):
            if total <= self.budget or key == keep:
                continue
            entry = self.cache.pop(key)
            cur.execute(f"DROP TABLE IF EXISTS {_ident(entry.name)}")
            total -= entry.nbytes

    def _lines_sql(self, paths: list[Path], skip: int) -> str:
        listing = "[" + ", ".join(_sql_str(str(p)) for p in paths) + "]"
        return (
            f"SELECT coalesce(line, '') AS line FROM read_csv({listing}, "
            "columns = {'line': 'VARCHAR'}, "
            f"delim = {_sql_str(_LINE_DELIM)}, quote = '', escape = '', header = false, "
            f"skip = {skip}, auto_detect = false, strict_mode = false, new_line = '\\n', "
            "max_line_size = 67108864, compression = 'none')"
        )

    def plain_files(self, files: list[tuple[Path, int, Any]], scratch: Path) -> list[Path]:
        """Files DuckDB can read line by line as Athena does: '\\n' line ends, uncompressed.

        Athena ends a line at '\\n', '\\r\\n' or '\\r' and decompresses by file extension;
        the (rare) files that need either get a normalised copy in ``scratch``.
        """
        out = []
        for path, _, _ in files:
            suffix = path.suffix.lower()
            if suffix in (".gz", ".gzip", ".bz2"):
                out.append(_normalised_copy(path, scratch, suffix))
            elif suffix in (".snappy", ".lz4", ".zst", ".zstd", ".deflate", ".lzo", ".br"):
                raise sqlxlate.SqlNotSupported(
                    f"{path.name}: {suffix} files are not read by the local Athena "
                    "(it reads plain, .gz and .bz2 text files)"
                )
            elif _has_carriage_return(path):
                out.append(_normalised_copy(path, scratch, ""))
            else:
                out.append(path)
        return out

    def _csv_select(
        self,
        serde: dict[str, Any],
        params: dict[str, str],
        columns: list[tuple[str, str]],
        files: list[tuple[Path, int, Any]],
        is_open_csv: bool,
    ) -> str:
        """The loader's SELECT that reads the files as the table's SerDe does."""
        serde_params = serde.get("Parameters", {}) or {}
        try:
            skip = int(params.get("skip.header.line.count", "0") or 0)
        except ValueError:
            skip = 0
        lines = self._lines_sql(self.plain_files(files, self.scratch), skip)
        if is_open_csv:
            sep = serde_params.get("separatorChar", ",")
            quote = serde_params.get("quoteChar", '"')
            esc = serde_params.get("escapeChar", "\\")
            _register(self.loader(), "__lab_opencsv_split", _opencsv_split, 5)
            split = (
                f"CASE WHEN line = '' THEN []::VARCHAR[] "
                f"WHEN contains(line, {_sql_str(quote)}) OR contains(line, {_sql_str(esc)}) "
                f"THEN __lab_opencsv_split(line, {_sql_str(sep)}, {_sql_str(quote)}, "
                f"{_sql_str(esc)}, {len(columns)}) "
                f"ELSE string_split(line, {_sql_str(sep)}) END"
            )
            cols = []
            for i, (name, gtype) in enumerate(columns, start=1):
                raw = f"f[{i}]"
                cols.append(f"{_opencsv_value(raw, gtype, name)} AS {_ident(name)}")
                if not _is_string_type(gtype):
                    cols.append(f"{raw} AS {_ident('__raw_' + name)}")
        else:
            sep = serde_params.get("field.delim", serde_params.get("serialization.format", ","))
            if not sep or sep.isdigit():  # Hive's default delimiter is \x01
                sep = chr(int(sep)) if sep.isdigit() else "\x01"
            esc = serde_params.get("escape.delim") or None
            null_seq = serde_params.get("serialization.null.format", "\\N")
            split = f"string_split(line, {_sql_str(sep)})"
            if esc:
                _register(self.loader(), "__lab_lazy_split", _lazy_split, 3)
                split = (
                    f"CASE WHEN contains(line, {_sql_str(esc)}) THEN "
                    f"__lab_lazy_split(line, {_sql_str(sep)}, {_sql_str(esc)}) ELSE {split} END"
                )
            cols = [
                f"{_lazy_value(f'f[{i}]', gtype, name, esc, null_seq)} AS {_ident(name)}"
                for i, (name, gtype) in enumerate(columns, start=1)
            ]
        return f"SELECT {', '.join(cols)} FROM (SELECT {split} AS f FROM ({lines}))"

    def _open_csv_select_empty(self, columns: list[tuple[str, str]]) -> str:
        cols = []
        for name, gtype in columns:
            cols.append(f"CAST(NULL AS {sqlxlate.glue_to_duckdb(gtype)}) AS {_ident(name)}")
            if not _is_string_type(gtype):
                cols.append(f"CAST(NULL AS VARCHAR) AS {_ident('__raw_' + name)}")
        return f"SELECT {', '.join(cols)} WHERE false"

    def _open_csv_checks(
        self, name: str, columns: list[tuple[str, str]], params: dict[str, str]
    ) -> str:
        lenient = str(params.get("use.null.for.invalid.data", "false")).lower() == "true"
        cols = []
        for i, (col, gtype) in enumerate(columns):
            if _is_string_type(gtype) or lenient:
                cols.append(_ident(col))
                continue
            raw = _ident("__raw_" + col)
            message = (
                "'HIVE_BAD_DATA: Error parsing field value ''' || "
                f"{raw} || ''' for field {i}: For input string: \"' || {raw} || '\"'"
            )
            cols.append(
                f"CASE WHEN {raw} IS NOT NULL AND {_ident(col)} IS NULL THEN "
                f"error({message}) ELSE {_ident(col)} END AS {_ident(col)}"
            )
        return f"SELECT {', '.join(cols)} FROM {_ident(name)}"


def _has_carriage_return(path: Path) -> bool:
    import mmap

    with open(path, "rb") as fh:
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(b"\r") >= 0


def _normalised_copy(path: Path, scratch: Path, suffix: str) -> Path:
    """A plain copy of ``path`` with every line ending as '\\n' (decompressed if needed)."""
    import bz2
    import gzip

    opener = {".gz": gzip.open, ".gzip": gzip.open, ".bz2": bz2.open}.get(suffix, open)
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{uuid.uuid4().hex}.txt"
    carry = b""
    with opener(path, "rb") as src, open(target, "wb") as dst:
        while True:
            chunk = src.read(1 << 22)
            if not chunk:
                break
            chunk = carry + chunk
            carry = b""
            if chunk.endswith(b"\r"):
                chunk, carry = chunk[:-1], b"\r"
            dst.write(chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        if carry:
            dst.write(b"\n")
    return target


def _is_string_type(glue_type: str) -> bool:
    t = glue_type.strip().lower()
    return t == "string" or t.startswith(("varchar", "char"))


def _register(
    cur: duckdb.DuckDBPyConnection, name: str, fn: Callable[..., Any], nargs: int
) -> None:
    from duckdb import sqltypes

    types = [sqltypes.VARCHAR] * nargs
    if name == "__lab_opencsv_split":
        types[-1] = sqltypes.INTEGER
    with contextlib.suppress(duckdb.Error):
        cur.create_function(name, fn, types, duckdb.list_type(sqltypes.VARCHAR), side_effects=False)


# -- results -----------------------------------------------------------------------------------------
def _pandas_mapper(dtype: pa.DataType) -> Any:
    """awswrangler's pyarrow -> pandas mapping (numpy_nullable backend)."""
    if pa.types.is_int8(dtype):
        return pd.Int8Dtype()
    if pa.types.is_int16(dtype):
        return pd.Int16Dtype()
    if pa.types.is_int32(dtype):
        return pd.Int32Dtype()
    if pa.types.is_int64(dtype):
        return pd.Int64Dtype()
    if pa.types.is_boolean(dtype):
        return pd.BooleanDtype()
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype()
    return None


def _to_pandas(table: pa.Table, dtype_backend: str) -> pd.DataFrame:
    if dtype_backend == "pyarrow":
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    return table.to_pandas(
        types_mapper=_pandas_mapper, coerce_temporal_nanoseconds=True, date_as_object=True
    )


def _athena_pandas_dtype(athena_type: str) -> str:
    t = athena_type.lower()
    mapping = {"tinyint": "Int8", "smallint": "Int16", "integer": "Int32", "int": "Int32",
               "bigint": "Int64", "real": "float32", "float": "float32", "double": "float64",
               "boolean": "boolean"}  # fmt: skip
    if t in mapping:
        return mapping[t]
    if t in ("varchar", "string", "time", "uuid") or t.startswith(("varchar", "char")):
        return "string"
    return "object"


def _statement_type(kind: str) -> str:
    return {"select": "DML", "ctas": "DDL"}.get(kind, "DDL" if kind != "utility" else "UTILITY")


def _frame_of(column: str, values: list[str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.array(values, dtype="string")})


class LocalAthena:
    """The ``wr.athena`` namespace of the local backend (Amazon Athena on DuckDB)."""

    def __init__(
        self,
        home: Path,
        lake: LocalLake,
        catalog: LocalCatalog,
        region: str | None = None,
        account: str = LOCAL_CATALOG_ID,
    ) -> None:
        self.home = Path(home)
        self.lake = lake
        self.catalog = catalog
        self.region = (
            region
            or os.environ.get("LAB_REGION")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        self.account = account
        self._history = self.home / "athena" / "queries"
        budget_mb = int(os.environ.get("LAB_ATHENA_CACHE_MB", _CACHE_MB_DEFAULT))
        self._reader = _TableReader(
            lake, budget_mb * 1024 * 1024, self.home / "athena" / f"tmp-{os.getpid()}-{id(self)}"
        )
        self._db: duckdb.DuckDBPyConnection | None = None
        self._db_lock = threading.RLock()
        self._registered: list[str] = []

    # -- plumbing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The in-memory DuckDB connection, one query at a time; temp views dropped after."""
        with self._db_lock:
            if self._db is None:
                db = duckdb.connect(":memory:", config=dict(_QUERY_CONFIG))
                db.execute("SET integer_division = true")
                db.execute("SET lock_configuration = true")
                self._db = db
            con = self._db
            try:
                yield con
            finally:
                for view in self._reader.take_views():
                    with contextlib.suppress(duckdb.Error):
                        con.execute(f"DROP VIEW IF EXISTS {_ident(view)}")
                for name in self._registered:
                    with contextlib.suppress(duckdb.Error):
                        con.unregister(name)
                self._registered.clear()

    def _default_output(self) -> str:
        return f"s3://aws-athena-query-results-{self.account}-{self.region}/"

    def _output(self, s3_output: str | None) -> str:
        out = s3_output or self._default_output()
        self.lake.path_for(out)  # validate: inside the lab home
        return out if out.endswith("/") else out + "/"

    def _save_record(self, qid: str, record: dict[str, Any]) -> None:
        self._history.mkdir(parents=True, exist_ok=True)
        tmp = self._history / f".{qid}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(record, default=str, indent=1), encoding="utf-8")
        os.replace(tmp, self._history / f"{qid}.json")

    def _load_record(self, qid: str, operation: str) -> dict[str, Any]:
        if not isinstance(qid, str) or not re.match(r"^[0-9a-fA-F-]{8,64}$", qid):
            raise InvalidRequestException(f"QueryExecution {qid} was not found", operation)
        path = self._history / f"{qid}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidRequestException(
                f"QueryExecution {qid} was not found in the local query history {self._history}",
                operation,
            ) from None

    @staticmethod
    def _export_execution(record: dict[str, Any]) -> dict[str, Any]:
        execution = json.loads(json.dumps(record["QueryExecution"]))
        status = execution.get("Status", {})
        for key in ("SubmissionDateTime", "CompletionDateTime"):
            if isinstance(status.get(key), str):
                status[key] = dt.datetime.fromisoformat(status[key])
        return execution

    # -- table resolution ------------------------------------------------------------------------
    def _resolver(
        self, cur: duckdb.DuckDBPyConnection, scanned: list[int], sql: str
    ) -> Callable[[sqlxlate.TableRef], tuple[str, dict[str, str]]]:
        def resolve(ref: sqlxlate.TableRef) -> tuple[str, dict[str, str]]:
            if ref.database == "information_schema":
                return self._information_schema(cur, ref), {}
            try:
                record = self.catalog.get_table_record(ref.database, ref.name)
            except EntityNotFoundException:
                databases = self.catalog.database_names()
                if ref.database not in databases:
                    raise sqlxlate.SqlError(
                        f"SCHEMA_NOT_FOUND: Schema '{ref.database}' does not exist. Databases "
                        f"in the local catalog: {', '.join(databases) or '(none)'}",
                        ref.line,
                        ref.column,
                    ) from None
                tables = self.catalog.list_table_names(ref.database)
                raise sqlxlate.SqlError(
                    f"TABLE_NOT_FOUND: Table 'awsdatacatalog.{ref.database}.{ref.name}' does not "
                    f"exist. Tables in {ref.database}: {', '.join(tables) or '(none)'}",
                    ref.line,
                    ref.column,
                ) from None
            try:
                name, nbytes = self._reader.relation(cur, record)
            except LakePathError as exc:  # a hand-edited catalog: Athena reads only S3
                raise sqlxlate.SqlError(
                    f"HIVE_METASTORE_ERROR: table {ref.database}.{ref.name}: its location is not "
                    f"an S3 location of the lake ({exc})",
                    ref.line,
                    ref.column,
                ) from None
            scanned.append(nbytes)
            types = {}
            for col in record["StorageDescriptor"].get("Columns", []):
                with contextlib.suppress(ValueError):
                    types[col["Name"]] = sqlxlate.glue_to_duckdb(col["Type"])
            return name, types

        return resolve

    def _information_schema(self, cur: duckdb.DuckDBPyConnection, ref: sqlxlate.TableRef) -> str:
        rows_tables, rows_columns = [], []
        for db in self.catalog.database_names():
            for tbl in self.catalog.get_tables(database=db):
                rows_tables.append(("awsdatacatalog", db, tbl["Name"], "BASE TABLE"))
                cols = tbl["StorageDescriptor"]["Columns"] + tbl.get("PartitionKeys", [])
                for pos, col in enumerate(cols, start=1):
                    rows_columns.append(
                        ("awsdatacatalog", db, tbl["Name"], col["Name"], pos, col["Type"])
                    )
        if ref.name == "schemata":
            frame = pd.DataFrame(
                {"catalog_name": "awsdatacatalog", "schema_name": self.catalog.database_names()}
            )
        elif ref.name == "tables":
            frame = pd.DataFrame(
                rows_tables, columns=["table_catalog", "table_schema", "table_name", "table_type"]
            )
        elif ref.name == "columns":
            frame = pd.DataFrame(
                rows_columns,
                columns=["table_catalog", "table_schema", "table_name", "column_name",
                         "ordinal_position", "data_type"],
            )  # fmt: skip
        else:
            raise sqlxlate.SqlError(
                f"TABLE_NOT_FOUND: Table 'awsdatacatalog.information_schema.{ref.name}' does "
                "not exist locally (schemata, tables and columns exist)",
                ref.line,
                ref.column,
            )
        name = f"__lab_is_{ref.name}_{uuid.uuid4().hex[:8]}"
        cur.register(name, frame)
        self._registered.append(name)
        return name

    # -- execution ---------------------------------------------------------------------------------
    def _apply_params(self, sql: str, params: Any, paramstyle: str) -> tuple[str, list[str] | None]:
        """awswrangler's handling of ``params``: ``named`` is formatted client-side by
        awswrangler's own formatter (values quoted as SQL literals); ``qmark`` values are
        returned as Athena's ExecutionParameters, bound as values when the query runs."""
        from awswrangler.athena._utils import _apply_formatter

        sql, execution_params = _apply_formatter(sql, params, paramstyle)  # type: ignore[arg-type]
        for i, value in enumerate(execution_params or []):
            if not isinstance(value, str):
                from botocore.exceptions import ParamValidationError

                raise ParamValidationError(
                    report=f"Invalid type for parameter ExecutionParameters[{i}], value: "
                    f"{value!r}, type: {type(value)}, valid types: <class 'str'> (Athena takes "
                    "each execution parameter as the text of a value: '1', \"'Knits'\"\")"
                )
        return sql, execution_params

    def _bind(self, cur: duckdb.DuckDBPyConnection, params: list[str] | None) -> list[Any]:
        """The values of the execution parameters, each parsed as a literal and evaluated."""
        values = []
        for k, text in enumerate(params or [], start=1):
            node = sqlxlate.parse_parameter(text, k)
            rows = cur.execute(f"SELECT {node.sql('duckdb')}").fetchall()
            values.append(rows[0][0])
        return values

    def _run(
        self,
        sql: str,
        database: str | None,
        s3_output: str | None,
        workgroup: str,
        result_format: Literal["csv", "parquet"],
        ctas_approach: bool,
        execution_params: list[str] | None = None,
    ) -> tuple[dict[str, Any], pa.Table | None, QueryError | None]:
        """Execute one statement; record it in the history; return record, table, error."""
        qid = str(uuid.uuid4())
        output = self._output(s3_output)
        started = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        state, table, error, kind = "SUCCEEDED", None, None, "select"
        translated: str | None = None
        scanned: list[int] = []
        try:
            marked, holes = sqlxlate.number_placeholders(sql)
            stmt = sqlxlate.parse_statement(marked)
            stmt.sql = sql
            kind = stmt.kind
            if holes != len(execution_params or []):
                raise sqlxlate.SqlError(
                    f"INVALID_PARAMETER_USAGE: Incorrect number of parameters: expected {holes} "
                    f"but found {len(execution_params or [])} (each '?' takes one value of "
                    "params=[...] with paramstyle='qmark')"
                )
            stmt.params = list(execution_params or [])
            if ctas_approach and kind != "select":
                raise wr_exceptions.InvalidCtasApproachQuery(
                    "It is not possible to wrap this query into a CTAS statement. Please use "
                    f"ctas_approach=False (a {kind.replace('_', ' ').upper()} statement is not a "
                    "SELECT)."
                )
            table, translated = self._execute(stmt, database, output, qid, scanned, ctas_approach)
        except sqlxlate.SqlNotSupported as exc:
            raise NotImplementedError(f"local backend: {exc.message}") from None
        except sqlxlate.SqlError as exc:
            state = "FAILED"
            message = exc.message
            if not re.match(r"^[A-Z_]+: ", message):
                message = f"SYNTAX_ERROR: {message}"
            error = QueryError(
                message,
                sql=sql,
                translated_sql=translated,
                line=exc.line,
                column=exc.column,
                query_execution_id=qid,
            )
        except _EngineError as exc:
            state = "FAILED"
            error = exc.to_query_error(sql, qid)
        elapsed_ms = int((time.perf_counter() - t0) * 1000)
        result_uri = None
        if state == "SUCCEEDED" and table is not None:
            result_uri = self._write_result(table, output, qid, result_format)
        record = {
            "QueryExecution": {
                "QueryExecutionId": qid,
                "Query": sql,
                **({"ExecutionParameters": list(execution_params)} if execution_params else {}),
                "StatementType": _statement_type(kind),
                "ResultConfiguration": {"OutputLocation": f"{output}{qid}.csv"},
                "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
                "QueryExecutionContext": {
                    **({"Database": database} if database else {}),
                    "Catalog": "awsdatacatalog",
                },
                "Status": {
                    "State": state,
                    "SubmissionDateTime": started.isoformat(),
                    "CompletionDateTime": dt.datetime.now(dt.UTC).isoformat(),
                    **(
                        {
                            "StateChangeReason": error.reason,
                            "AthenaError": {
                                "ErrorCategory": 2,
                                "ErrorType": 1000,
                                "Retryable": False,
                                "ErrorMessage": error.reason,
                            },
                        }
                        if error
                        else {}
                    ),
                },
                "Statistics": {
                    "EngineExecutionTimeInMillis": elapsed_ms,
                    "DataScannedInBytes": sum(scanned),
                    "TotalExecutionTimeInMillis": elapsed_ms,
                    "QueryQueueTimeInMillis": 0,
                    "ServicePreProcessingTimeInMillis": 0,
                    "QueryPlanningTimeInMillis": 0,
                    "ServiceProcessingTimeInMillis": 0,
                    "ResultReuseInformation": {"ReusedPreviousResult": False},
                },
                "WorkGroup": workgroup,
                "EngineVersion": {
                    "SelectedEngineVersion": "AUTO",
                    "EffectiveEngineVersion": "Athena engine version 3 (local DuckDB)",
                },
            },
            "local": {
                "columns": _columns_of(table) if table is not None else [],
                "result_uri": result_uri,
                "result_format": result_format if result_uri else None,
                "translated_sql": translated,
                "error": None
                if error is None
                else {
                    "message": error.message,
                    "line": error.line,
                    "column": error.column,
                    "translated_sql": error.translated_sql,
                },
            },
        }
        self._save_record(qid, record)
        return record, table, error

    def _execute(
        self,
        stmt: sqlxlate.Statement,
        database: str | None,
        output: str,
        qid: str,
        scanned: list[int],
        ctas_approach: bool,
    ) -> tuple[pa.Table | None, str | None]:
        handler = {
            "show_databases": self._show_databases,
            "show_tables": self._show_tables,
            "show_columns": self._show_columns,
            "describe": self._describe,
            "create_database": self._create_database,
            "drop_database": self._drop_database,
            "drop_table": self._drop_table,
        }.get(stmt.kind)
        if handler is not None:
            frame = handler(stmt, database)
            return (pa.Table.from_pandas(frame, preserve_index=False) if frame is not None
                    else None), None  # fmt: skip
        if stmt.kind == "ctas":
            return self._ctas(stmt, database, output, qid, scanned)
        return self._select(stmt, database, scanned, ctas_approach)

    def _query_table(
        self, stmt: sqlxlate.Statement, database: str | None, scanned: list[int]
    ) -> tuple[pa.Table, str, list[int]]:
        translated: str | None = None
        with self._connection() as cur:
            try:
                assert stmt.expression is not None
                translation = sqlxlate.translate_query(
                    stmt.expression, database, self._resolver(cur, scanned, stmt.sql)
                )
                translated = translation.sql
                values = self._bind(cur, stmt.params)
                rel = cur.sql(translated, params=values) if values else cur.sql(translated)
                names = list(rel.columns)
                types = [str(t) for t in rel.types]
                final_names = [
                    f"_col{j}" if n.startswith(sqlxlate.UNNAMED_PREFIX) else n.lower()
                    for j, n in enumerate(names)
                ]
                projection = ", ".join(
                    f"{_cast_out(_ident(n), t)} AS {_ident(f)}"
                    for n, t, f in zip(names, types, final_names, strict=True)
                )
                table = rel.project(projection).to_arrow_table()
            except duckdb.Error as exc:
                raise _EngineError(exc, translated) from None
            except sqlxlate.SqlError as exc:
                if translated is None:
                    raise
                raise _EngineError(exc, translated) from None
        return table, translated, translation.unnamed

    def _select(
        self,
        stmt: sqlxlate.Statement,
        database: str | None,
        scanned: list[int],
        ctas_approach: bool,
    ) -> tuple[pa.Table, str]:
        table, translated, unnamed = self._query_table(stmt, database, scanned)
        if ctas_approach:
            _check_ctas_columns(table, unnamed)
        return table, translated

    def _ctas(
        self,
        stmt: sqlxlate.Statement,
        database: str | None,
        output: str,
        qid: str,
        scanned: list[int],
    ) -> tuple[None, str | None]:
        db = stmt.database or database
        if not db:
            raise sqlxlate.SqlError("Schema must be specified when session schema is not set")
        if db not in self.catalog.database_names():
            raise sqlxlate.SqlError(f"SCHEMA_NOT_FOUND: Schema '{db}' does not exist")
        props = dict(stmt.properties)
        fmt = str(props.pop("format", "PARQUET")).upper()
        location = props.pop("external_location", None) or f"{output}tables/{qid}/"
        compression = str(props.pop("write_compression", "SNAPPY")).upper()
        props.pop("parquet_compression", None)
        if fmt != "PARQUET":
            raise sqlxlate.SqlNotSupported(
                f"CTAS with format = '{fmt}' is not supported locally (use 'PARQUET')"
            )
        if props:
            raise sqlxlate.SqlNotSupported(
                f"CTAS properties {sorted(props)} are not supported locally "
                "(supported: format, external_location, write_compression)"
            )
        codecs = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "NONE": "uncompressed",
                  "UNCOMPRESSED": "uncompressed", "LZ4": "lz4"}  # fmt: skip
        if compression not in codecs:
            raise sqlxlate.SqlError(f"write_compression '{compression}' is not supported")
        if self.catalog.does_table_exist(db, stmt.name or ""):
            if stmt.if_not_exists:
                return None, None
            raise sqlxlate.SqlError(
                f"TABLE_ALREADY_EXISTS: Table 'awsdatacatalog.{db}.{stmt.name}' already exists"
            )
        try:
            target = self.lake.path_for(location)
        except LabError as exc:
            raise sqlxlate.SqlError(f"INVALID_TABLE_PROPERTY: external_location: {exc}") from None
        if target.is_file() or (target.is_dir() and any(target.rglob("*"))):
            raise sqlxlate.SqlError(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{db}.{stmt.name}' "
                f"already exists: {location}. Choose an empty external_location, or delete the "
                "objects under it first."
            )
        # unqualified tables in the SELECT resolve in the session database, as on Athena
        table, translated, unnamed = self._query_table(stmt, database or db, scanned)
        if unnamed:
            raise _EngineError(
                sqlxlate.SqlError(
                    f"COLUMN_NAME_NOT_SPECIFIED: Column name not specified at position "
                    f"{unnamed[0] + 1}"
                ),
                translated,
            )
        names = [f.name for f in table.schema]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise _EngineError(
                sqlxlate.SqlError(f"Column name '{dupes[0]}' specified more than once"),
                translated,
            )
        columns = _columns_of(table)
        columns_types = {n: sqlxlate.athena_to_glue(t) for n, t in columns}
        staging = self.lake.root / ".staging" / f"ctas-{qid}"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            if not stmt.with_no_data and table.num_rows > 0:
                pq.write_table(table, staging / f"{qid}-0.parquet", compression=codecs[compression])
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                target.rmdir()  # empty (checked above)
            os.replace(staging, target)
            try:
                self.catalog.put_parquet_table(
                    db,
                    stmt.name or "",
                    location,
                    columns_types,
                    compression=compression.lower(),
                    parameters={"has_encrypted_data": "false"},
                )
            except Exception:
                shutil.rmtree(target, ignore_errors=True)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return None, translated

    # -- DDL statements --------------------------------------------------------------------------
    def _db_or_default(self, stmt: sqlxlate.Statement, database: str | None) -> str:
        db = stmt.database or database
        if not db:
            raise sqlxlate.SqlError("Schema must be specified when session schema is not set")
        if db.lower() not in self.catalog.database_names():
            raise sqlxlate.SqlError(
                f"SCHEMA_NOT_FOUND: Schema '{db}' does not exist. Databases in the local "
                f"catalog: {', '.join(self.catalog.database_names()) or '(none)'}"
            )
        return db.lower()

    def _show_databases(self, stmt: sqlxlate.Statement, database: str | None) -> pd.DataFrame:
        pattern = sqlxlate.hive_pattern(stmt.pattern)
        names = [n for n in self.catalog.database_names() if not pattern or pattern.match(n)]
        return _frame_of("database_name", names)

    def _show_tables(self, stmt: sqlxlate.Statement, database: str | None) -> pd.DataFrame:
        db = self._db_or_default(stmt, database)
        pattern = sqlxlate.hive_pattern(stmt.pattern)
        names = [n for n in self.catalog.list_table_names(db) if not pattern or pattern.match(n)]
        return _frame_of("tab_name", names)

    def _table_record(self, stmt: sqlxlate.Statement, database: str | None) -> dict[str, Any]:
        db = self._db_or_default(stmt, database)
        try:
            return self.catalog.get_table_record(db, stmt.name or "")
        except EntityNotFoundException:
            tables = self.catalog.list_table_names(db)
            raise sqlxlate.SqlError(
                f"TABLE_NOT_FOUND: Table 'awsdatacatalog.{db}.{stmt.name}' does not exist. "
                f"Tables in {db}: {', '.join(tables) or '(none)'}"
            ) from None

    def _show_columns(self, stmt: sqlxlate.Statement, database: str | None) -> pd.DataFrame:
        record = self._table_record(stmt, database)
        cols = record["StorageDescriptor"]["Columns"] + record.get("PartitionKeys", [])
        return _frame_of("field", [c["Name"] for c in cols])

    def _describe(self, stmt: sqlxlate.Statement, database: str | None) -> pd.DataFrame:
        record = self._table_record(stmt, database)
        rows = [(c["Name"], c["Type"], c.get("Comment", "")) for c in
                record["StorageDescriptor"]["Columns"]]  # fmt: skip
        parts = record.get("PartitionKeys", [])
        if parts:
            rows += [("", "", ""), ("# Partition Information", "", ""),
                     ("# col_name", "data_type", "comment"), ("", "", "")]  # fmt: skip
            rows += [(c["Name"], c["Type"], c.get("Comment", "")) for c in parts]
        frame = pd.DataFrame(rows, columns=["col_name", "data_type", "comment"])
        return frame.astype("string")

    def _create_database(self, stmt: sqlxlate.Statement, database: str | None) -> None:
        try:
            self.catalog.create_database(
                stmt.name or "", description=stmt.comment, exist_ok=stmt.if_not_exists
            )
        except wr_exceptions.AlreadyExists:
            raise sqlxlate.SqlError(f"Database {stmt.name} already exists") from None
        return None

    def _drop_database(self, stmt: sqlxlate.Statement, database: str | None) -> None:
        name = (stmt.name or "").lower()
        if name not in self.catalog.database_names():
            if stmt.if_exists:
                return None
            raise sqlxlate.SqlError(f"SCHEMA_NOT_FOUND: Database {name} does not exist")
        if self.catalog.list_table_names(name) and not stmt.cascade:
            raise sqlxlate.SqlError(
                f"Database {name} is not empty. One or more tables exist (use CASCADE)"
            )
        self.catalog.delete_database(name)
        return None

    def _drop_table(self, stmt: sqlxlate.Statement, database: str | None) -> None:
        db = (stmt.database or database or "").lower()
        if not db or not self.catalog.delete_table_if_exists(db, stmt.name or ""):
            if stmt.if_exists:
                return None
            raise sqlxlate.SqlError(
                f"TABLE_NOT_FOUND: Table awsdatacatalog.{db or '?'}.{stmt.name} does not exist"
            )
        return None

    def _write_result(
        self, table: pa.Table, output: str, qid: str, result_format: str
    ) -> str | None:
        if result_format == "parquet":
            uri = f"{output}tables/{qid}/{qid}.parquet"
        else:
            uri = f"{output}{qid}.csv"
        path = self.lake.path_for(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        if result_format == "parquet":
            pq.write_table(table, tmp)
        else:
            frame = table.to_pandas()
            frame.to_csv(tmp, index=False, quoting=1, na_rep="")
        os.replace(tmp, path)
        return uri

    def _read_result(self, record: dict[str, Any], dtype_backend: str) -> pd.DataFrame:
        local = record.get("local", {})
        uri, fmt = local.get("result_uri"), local.get("result_format")
        columns = local.get("columns", [])
        if not uri:
            return pd.DataFrame()
        path = self.lake.path_for(uri)
        if not path.exists():
            raise wr_exceptions.NoFilesFound(f"the query result {uri} is no longer in the lake")
        if fmt == "parquet":
            return _to_pandas(pq.read_table(path), dtype_backend)
        dtypes = {name: _athena_pandas_dtype(t) for name, t in columns}
        frame = pd.read_csv(
            path,
            dtype={k: ("string" if v == "object" else v) for k, v in dtypes.items()},
            keep_default_na=False,
            na_values=[""],
        )
        for name, t in columns:
            t = t.lower()
            if t == "date":
                frame[name] = [dt.date.fromisoformat(v) if isinstance(v, str) else None
                               for v in frame[name]]  # fmt: skip
            elif t.startswith("timestamp"):
                frame[name] = pd.to_datetime(frame[name])
            elif t.startswith("decimal"):
                import decimal

                frame[name] = [decimal.Decimal(v) if isinstance(v, str) else None
                               for v in frame[name]]  # fmt: skip
        if dtype_backend == "pyarrow":
            frame = frame.convert_dtypes(dtype_backend="pyarrow")
        return frame

    # -- public API ------------------------------------------------------------------------------
    def read_sql_query(
        self,
        sql: str,
        database: str,
        ctas_approach: bool = True,
        unload_approach: bool = False,
        ctas_parameters: Any = None,
        unload_parameters: Any = None,
        categories: list[str] | None = None,
        chunksize: int | bool | None = None,
        s3_output: str | None = None,
        workgroup: str = "primary",
        encryption: str | None = None,
        kms_key: str | None = None,
        keep_files: bool = True,
        use_threads: bool | int = True,
        boto3_session: Any = None,
        client_request_token: str | None = None,
        athena_cache_settings: Any = None,
        data_source: str | None = None,
        athena_query_wait_polling_delay: float = 1.0,
        params: dict[str, Any] | list[str] | None = None,
        paramstyle: Literal["qmark", "named"] = "named",
        result_reuse_configuration: dict[str, Any] | None = None,
        dtype_backend: Literal["numpy_nullable", "pyarrow"] = "numpy_nullable",
        s3_additional_kwargs: dict[str, Any] | None = None,
        pyarrow_additional_kwargs: dict[str, Any] | None = None,
    ) -> pd.DataFrame | Iterator[pd.DataFrame]:
        """Run a query and return a DataFrame. AWS: ``wr.athena.read_sql_query``."""
        _not_supported(
            "read_sql_query",
            unload_approach=unload_approach,
            ctas_parameters=ctas_parameters,
            unload_parameters=unload_parameters,
            encryption=encryption,
            kms_key=kms_key,
            client_request_token=client_request_token,
            athena_cache_settings=athena_cache_settings,
            result_reuse_configuration=result_reuse_configuration,
            s3_additional_kwargs=s3_additional_kwargs,
            pyarrow_additional_kwargs=pyarrow_additional_kwargs,
        )
        _check_data_source(data_source)
        if dtype_backend not in ("numpy_nullable", "pyarrow"):
            raise wr_exceptions.InvalidArgumentValue(
                f"dtype_backend must be 'numpy_nullable' or 'pyarrow', got {dtype_backend!r}"
            )
        sql, execution_params = self._apply_params(sql, params, paramstyle)
        record, table, error = self._run(
            sql,
            database,
            s3_output,
            workgroup,
            result_format="parquet" if ctas_approach else "csv",
            ctas_approach=ctas_approach,
            execution_params=execution_params,
        )
        if error is not None:
            raise error
        frame = _to_pandas(table, dtype_backend) if table is not None else pd.DataFrame()
        for col in categories or []:
            frame[col] = frame[col].astype("category")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            frame.query_metadata = self._export_execution(record)
        if not keep_files:
            self._delete_result(record)
        if chunksize:
            return _chunks(frame, chunksize)
        return frame

    def read_sql_table(
        self,
        table: str,
        database: str,
        unload_approach: bool = False,
        unload_parameters: Any = None,
        ctas_approach: bool = True,
        ctas_parameters: Any = None,
        categories: list[str] | None = None,
        chunksize: int | bool | None = None,
        s3_output: str | None = None,
        workgroup: str = "primary",
        encryption: str | None = None,
        kms_key: str | None = None,
        keep_files: bool = True,
        use_threads: bool | int = True,
        boto3_session: Any = None,
        client_request_token: str | None = None,
        athena_cache_settings: Any = None,
        data_source: str | None = None,
        dtype_backend: Literal["numpy_nullable", "pyarrow"] = "numpy_nullable",
        s3_additional_kwargs: dict[str, Any] | None = None,
        pyarrow_additional_kwargs: dict[str, Any] | None = None,
    ) -> pd.DataFrame | Iterator[pd.DataFrame]:
        """All rows of a table as a DataFrame. AWS: ``wr.athena.read_sql_table``."""
        return self.read_sql_query(
            sql=f'SELECT * FROM "{table}"',
            database=database,
            ctas_approach=ctas_approach,
            unload_approach=unload_approach,
            ctas_parameters=ctas_parameters,
            unload_parameters=unload_parameters,
            categories=categories,
            chunksize=chunksize,
            s3_output=s3_output,
            workgroup=workgroup,
            encryption=encryption,
            kms_key=kms_key,
            keep_files=keep_files,
            client_request_token=client_request_token,
            athena_cache_settings=athena_cache_settings,
            data_source=data_source,
            dtype_backend=dtype_backend,
            s3_additional_kwargs=s3_additional_kwargs,
            pyarrow_additional_kwargs=pyarrow_additional_kwargs,
        )

    def start_query_execution(
        self,
        sql: str,
        database: str | None = None,
        s3_output: str | None = None,
        workgroup: str = "primary",
        encryption: str | None = None,
        kms_key: str | None = None,
        params: dict[str, Any] | list[str] | None = None,
        paramstyle: Literal["qmark", "named"] = "named",
        result_reuse_configuration: dict[str, Any] | None = None,
        boto3_session: Any = None,
        client_request_token: str | None = None,
        athena_cache_settings: Any = None,
        athena_query_wait_polling_delay: float = 1.0,
        data_source: str | None = None,
        wait: bool = False,
    ) -> str | dict[str, Any]:
        """Run a statement; return its id (or, with wait=True, its execution dict).

        AWS: ``wr.athena.start_query_execution``. Locally the statement runs at once; a failure
        is recorded and raised by ``wait_query`` (as on Athena).
        """
        _not_supported(
            "start_query_execution",
            encryption=encryption,
            kms_key=kms_key,
            result_reuse_configuration=result_reuse_configuration,
            client_request_token=client_request_token,
            athena_cache_settings=athena_cache_settings,
        )
        _check_data_source(data_source)
        sql, execution_params = self._apply_params(sql, params, paramstyle)
        record, _, _ = self._run(
            sql,
            database,
            s3_output,
            workgroup,
            result_format="csv",
            ctas_approach=False,
            execution_params=execution_params,
        )
        qid = record["QueryExecution"]["QueryExecutionId"]
        if wait:
            return self.wait_query(qid)
        return qid

    def list_query_executions(
        self, workgroup: str | None = None, max_results: int | None = None,
        boto3_session: Any = None,
    ) -> list[str]:  # fmt: skip
        """The ids of the workgroup's queries (``primary`` by default), newest first.

        AWS: ``wr.athena.list_query_executions`` (ListQueryExecutions, all pages)."""
        rows = []
        for path in self._history.glob("*.json"):
            try:
                execution = json.loads(path.read_text(encoding="utf-8"))["QueryExecution"]
            except (ValueError, KeyError, FileNotFoundError):  # written right now
                continue
            if execution.get("WorkGroup", "primary") == (workgroup or "primary"):
                submitted = execution["Status"]["SubmissionDateTime"]
                rows.append((str(submitted), execution["QueryExecutionId"]))
        ids = [qid for _, qid in sorted(rows, reverse=True)]
        return ids[:max_results] if max_results else ids

    def get_query_execution(
        self, query_execution_id: str, boto3_session: Any = None
    ) -> dict[str, Any]:
        """The QueryExecution dict of a query. AWS: ``wr.athena.get_query_execution``."""
        record = self._load_record(query_execution_id, "GetQueryExecution")
        return self._export_execution(record)

    def wait_query(
        self,
        query_execution_id: str,
        boto3_session: Any = None,
        athena_query_wait_polling_delay: float = 1.0,
    ) -> dict[str, Any]:
        """Wait for a query and return its execution dict. AWS: ``wr.athena.wait_query``."""
        record = self._load_record(query_execution_id, "GetQueryExecution")
        execution = self._export_execution(record)
        state = execution["Status"]["State"]
        if state == "FAILED":
            info = record.get("local", {}).get("error") or {}
            raise QueryError(
                info.get("message") or execution["Status"].get("StateChangeReason", "failed"),
                sql=execution["Query"],
                translated_sql=info.get("translated_sql"),
                line=info.get("line"),
                column=info.get("column"),
                query_execution_id=query_execution_id,
            )
        if state == "CANCELLED":
            raise wr_exceptions.QueryCancelled(execution["Status"].get("StateChangeReason"))
        return execution

    def get_query_results(
        self,
        query_execution_id: str,
        use_threads: bool | int = True,
        boto3_session: Any = None,
        categories: list[str] | None = None,
        dtype_backend: Literal["numpy_nullable", "pyarrow"] = "numpy_nullable",
        chunksize: int | bool | None = None,
        s3_additional_kwargs: dict[str, Any] | None = None,
        pyarrow_additional_kwargs: dict[str, Any] | None = None,
        athena_query_wait_polling_delay: float = 1.0,
    ) -> pd.DataFrame | Iterator[pd.DataFrame]:
        """A finished query's results as a DataFrame. AWS: ``wr.athena.get_query_results``."""
        _not_supported(
            "get_query_results",
            s3_additional_kwargs=s3_additional_kwargs,
            pyarrow_additional_kwargs=pyarrow_additional_kwargs,
        )
        execution = self.wait_query(query_execution_id)
        record = self._load_record(query_execution_id, "GetQueryResults")
        frame = self._read_result(record, dtype_backend)
        for col in categories or []:
            frame[col] = frame[col].astype("category")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            frame.query_metadata = execution
        if chunksize:
            return _chunks(frame, chunksize)
        return frame

    def get_query_columns_types(
        self, query_execution_id: str, boto3_session: Any = None
    ) -> dict[str, str]:
        """Result column name -> Athena type. AWS: ``wr.athena.get_query_columns_types``."""
        record = self._load_record(query_execution_id, "GetQueryResults")
        return dict(record.get("local", {}).get("columns", []))

    def stop_query_execution(self, query_execution_id: str, boto3_session: Any = None) -> None:
        """Stop a query (local queries have already finished). AWS: ``stop_query_execution``."""
        self._load_record(query_execution_id, "StopQueryExecution")

    def create_athena_bucket(self, boto3_session: Any = None) -> str:
        """Create the default query-result location. AWS: ``wr.athena.create_athena_bucket``."""
        uri = self._default_output()
        self.lake.path_for(uri).mkdir(parents=True, exist_ok=True)
        return uri

    def describe_table(
        self,
        table: str,
        database: str | None = None,
        s3_output: str | None = None,
        workgroup: str = "primary",
        encryption: str | None = None,
        kms_key: str | None = None,
        athena_query_wait_polling_delay: float = 1.0,
        s3_additional_kwargs: dict[str, Any] | None = None,
        boto3_session: Any = None,
    ) -> pd.DataFrame:
        """A table's columns (Column Name, Type, Partition, Comment). AWS: ``describe_table``."""
        _not_supported("describe_table", encryption=encryption, kms_key=kms_key)
        record, table_, error = self._run(
            f"DESCRIBE `{table}`", database, s3_output, workgroup, "csv", ctas_approach=False
        )
        if error is not None:
            raise error
        raw = table_.to_pandas() if table_ is not None else pd.DataFrame()
        data: dict[str, list[Any]] = {"Column Name": [], "Type": [], "Partition": [], "Comment": []}
        for name, dtype, comment in raw.itertuples(index=False):
            name = str(name).strip()
            if not name or name.startswith("#"):
                continue
            if name in data["Column Name"]:
                data["Partition"][data["Column Name"].index(name)] = True
                continue
            data["Column Name"].append(name)
            data["Type"].append(str(dtype).strip())
            data["Partition"].append(False)
            data["Comment"].append(str(comment).strip())
        return pd.DataFrame(data=data)

    def _delete_result(self, record: dict[str, Any]) -> None:
        uri = record.get("local", {}).get("result_uri")
        if uri:
            with contextlib.suppress(FileNotFoundError):
                self.lake.path_for(uri).unlink()


# -- helpers -----------------------------------------------------------------------------------------
class _EngineError(Exception):
    """DuckDB (or a check after translation) rejected the translated query."""

    def __init__(self, error: Exception, translated: str | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.translated = translated

    def to_query_error(self, sql: str, qid: str) -> QueryError:
        if isinstance(self.error, sqlxlate.SqlError):
            return QueryError(
                self.error.message,
                sql=sql,
                translated_sql=self.translated,
                line=self.error.line,
                column=self.error.column,
                query_execution_id=qid,
            )
        raw = str(self.error)
        first = raw.strip().splitlines()[0] if raw.strip() else type(self.error).__name__
        code = _error_code(self.error, first)
        body = re.sub(r"^[A-Za-z ]+Error: ", "", first)
        details = [ln for ln in raw.strip().splitlines()[1:] if ln.strip() and
                   not ln.startswith("LINE ") and not set(ln.strip()) <= {"^"}]  # fmt: skip
        if details:
            body += " (" + "; ".join(d.strip() for d in details[:3]) + ")"
        line, column = _locate_error(raw, sql, self.translated or "")
        return QueryError(
            f"{code}: {body}",
            sql=sql,
            translated_sql=self.translated,
            line=line,
            column=column,
            query_execution_id=qid,
        )


def _error_code(error: Exception, first: str) -> str:
    if "HIVE_BAD_DATA" in first:
        return "HIVE_BAD_DATA"
    if isinstance(error, duckdb.ParserException):
        return "SYNTAX_ERROR"
    if isinstance(error, duckdb.BinderException):
        return "COLUMN_NOT_FOUND" if "not found" in first.lower() else "TYPE_MISMATCH"
    if isinstance(error, duckdb.CatalogException):
        return "FUNCTION_NOT_FOUND" if "function" in first.lower() else "NOT_FOUND"
    if isinstance(error, duckdb.ConversionException):
        return "INVALID_CAST_ARGUMENT"
    if isinstance(error, duckdb.OutOfRangeException):
        return "NUMERIC_VALUE_OUT_OF_RANGE"
    if "division by zero" in first.lower():
        return "DIVISION_BY_ZERO"
    return "GENERIC_USER_ERROR"


def _locate_error(raw: str, sql: str, translated: str) -> tuple[int | None, int | None]:
    """Where in the original SQL the engine's complaint points, when that can be found."""
    for pattern in (r'column "([^"]+)" not found', r"Referenced column \"([^\"]+)\"",
                    r"Function with name (\w+) does not exist", r'at or near "([^"]+)"',
                    r'Table with name (\w+) does not exist', r'"([^"]+)"'):  # fmt: skip
        match = re.search(pattern, raw)
        if match:
            line, col = sqlxlate.locate(sql, match.group(1))
            if line is not None:
                return line, col
    return None, None


def _cast_out(expr: str, duck_type: str) -> str:
    t = duck_type.upper()
    if t in ("HUGEINT", "UBIGINT", "UHUGEINT", "UINTEGER"):
        return f"CAST({expr} AS BIGINT)"
    if t == "UTINYINT":
        return f"CAST({expr} AS SMALLINT)"
    if t == "USMALLINT":
        return f"CAST({expr} AS INTEGER)"
    if t.startswith("TIMESTAMP_") or t == "TIMESTAMP_NS":
        return f"CAST({expr} AS TIMESTAMP)"
    return expr


def _athena_type_of(field: pa.Field) -> str:
    t = field.type
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t):
        return "tinyint"
    if pa.types.is_int16(t):
        return "smallint"
    if pa.types.is_int32(t):
        return "integer"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float32(t):
        return "real"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "varchar"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp with time zone" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "varbinary"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array({_athena_type_of(pa.field('x', t.value_type))})"
    if pa.types.is_map(t):
        key = _athena_type_of(pa.field("k", t.key_type))
        return f"map({key}, {_athena_type_of(pa.field('v', t.item_type))})"
    if pa.types.is_struct(t):
        inner = ", ".join(f"{f.name} {_athena_type_of(f)}" for f in t)
        return f"row({inner})"
    if pa.types.is_null(t):
        return "unknown"
    if pa.types.is_time(t):
        return "time"
    return str(t)


def _columns_of(table: pa.Table) -> list[tuple[str, str]]:
    return [(f.name, _athena_type_of(f)) for f in table.schema]


def _check_ctas_columns(table: pa.Table, unnamed: list[int]) -> None:
    """What awswrangler's CTAS approach refuses on Athena, refused here too."""
    if unnamed:
        raise wr_exceptions.InvalidArgumentValue(
            "Please, define all columns names in your query. (E.g. 'SELECT MAX(col1) AS "
            "max_col1, ...')"
        )
    names = [f.name for f in table.schema]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise wr_exceptions.InvalidCtasApproachQuery(
            "Please, define distinct names for your columns. Root error message: Column name "
            f"'{dupes[0]}' specified more than once"
        )
    if any(pa.types.is_null(f.type) for f in table.schema):
        raise wr_exceptions.InvalidArgumentValue(
            "Please, don't leave undefined columns types in your query. You can cast to ensure "
            "it. (E.g. 'SELECT CAST(NULL AS INTEGER) AS MY_COL, ...')"
        )


def _check_data_source(data_source: str | None) -> None:
    if data_source not in (None, "AwsDataCatalog", "awsdatacatalog"):
        raise NotImplementedError(
            f"local backend: data_source={data_source!r}: only the AwsDataCatalog exists locally"
        )


def _chunks(frame: pd.DataFrame, chunksize: int | bool) -> Iterator[pd.DataFrame]:
    if chunksize is True:
        yield frame
        return
    size = int(chunksize)
    if size <= 0:
        raise wr_exceptions.InvalidArgumentValue("chunksize must be a positive int or True")
    for start in range(0, max(len(frame), 1), size):
        part = frame.iloc[start : start + size].reset_index(drop=True)
        if len(part) or start == 0:
            yield part
