"""Athena SQL (Trino) to DuckDB: statement recognition, translation, type mapping.

AWS equivalent: none; this is what lets the local Athena accept the SQL a learner writes for
Athena. Queries are parsed with sqlglot's Trino dialect and written back as DuckDB, with fixes
where DuckDB differs from Trino (output column names such as ``_col0``, ``approx_percentile``,
``split`` with a limit); integer division is handled by running DuckDB with
``integer_division = true``. Athena's DDL statements (``SHOW``, ``DESCRIBE``, ``CREATE DATABASE``,
``DROP TABLE``) are recognised here and executed against the local catalog by the caller.

What Trino rejects is rejected here too, where sqlglot would let it through: a trailing or
doubled comma in a list (``SELECT a, FROM t``), DuckDB's table functions in ``FROM``
(``read_csv('/etc/passwd')``: Athena reads tables only through its catalog, so they are unknown
functions), and execution parameters that are not values (:func:`parse_parameter`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

UNNAMED_PREFIX = "__lab_unnamed_"
PARAM_PREFIX = "__lab_param_"  # ':__lab_param_<k>' stands for the k-th '?' of the query


class SqlError(Exception):
    """A statement that cannot be parsed or translated: message plus the position in the SQL."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class SqlNotSupported(SqlError):
    """A valid Athena statement that the local engine does not run."""


@dataclass
class TableRef:
    """A table named in a query, with where it appears (1-based line and column)."""

    database: str
    name: str
    line: int | None = None
    column: int | None = None


@dataclass
class Statement:
    """One recognised Athena statement."""

    kind: str
    sql: str
    expression: exp.Expression | None = None
    database: str | None = None
    name: str | None = None
    pattern: str | None = None
    if_exists: bool = False
    if_not_exists: bool = False
    cascade: bool = False
    comment: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    with_no_data: bool = False
    params: list[str] = field(default_factory=list)  # Athena's ExecutionParameters, in order


# -- statement recognition ---------------------------------------------------------------------
_IDENT = r'(?:`[^`]+`|"[^"]+"|[A-Za-z_][A-Za-z0-9_]*)'
_QNAME = rf"(?P<first>{_IDENT})(?:\s*\.\s*(?P<second>{_IDENT}))?"
_END = r"\s*;?\s*$"
_FLAGS = re.IGNORECASE | re.DOTALL


def _unquote(ident: str | None) -> str | None:
    if ident is None:
        return None
    if ident[:1] in ('"', "`") and ident[-1:] == ident[:1]:
        ident = ident[1:-1]
    return ident.lower()


def _split_qname(match: re.Match[str]) -> tuple[str | None, str]:
    first, second = _unquote(match.group("first")), _unquote(match.group("second"))
    return (first, second) if second is not None else (None, first or "")


_DDL_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "show_databases",
        re.compile(
            rf"^\s*SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+(?:LIKE\s+)?'(?P<pattern>[^']*)')?{_END}",
            _FLAGS,
        ),
    ),
    (
        "show_tables",
        re.compile(
            rf"^\s*SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+(?P<db>{_IDENT}))?"
            rf"(?:\s+(?:LIKE\s+)?'(?P<pattern>[^']*)')?{_END}",
            _FLAGS,
        ),
    ),
    (
        "show_columns",
        re.compile(
            rf"^\s*SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_QNAME}(?:\s+(?:IN|FROM)\s+(?P<db>{_IDENT}))?{_END}",
            _FLAGS,
        ),
    ),
    (
        "describe",
        re.compile(rf"^\s*(?:DESCRIBE|DESC)\s+(?:EXTENDED\s+|FORMATTED\s+)?{_QNAME}{_END}", _FLAGS),
    ),
    (
        "create_database",
        re.compile(
            rf"^\s*CREATE\s+(?:DATABASE|SCHEMA)\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<db>{_IDENT})"
            rf"(?:\s+COMMENT\s+'(?P<comment>[^']*)')?{_END}",
            _FLAGS,
        ),
    ),
    (
        "drop_database",
        re.compile(
            rf"^\s*DROP\s+(?:DATABASE|SCHEMA)\s+(?P<ie>IF\s+EXISTS\s+)?(?P<db>{_IDENT})"
            rf"(?:\s+(?P<mode>CASCADE|RESTRICT))?{_END}",
            _FLAGS,
        ),
    ),
    (
        "drop_table",
        re.compile(rf"^\s*DROP\s+TABLE\s+(?P<ie>IF\s+EXISTS\s+)?{_QNAME}{_END}", _FLAGS),
    ),
]

_UNSUPPORTED = [
    (r"^\s*CREATE\s+EXTERNAL\s+TABLE", "CREATE EXTERNAL TABLE (use wr.catalog.create_csv_table)"),
    (r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW", "CREATE VIEW"),
    (r"^\s*INSERT\s", "INSERT INTO"),
    (r"^\s*(?:UPDATE|DELETE|MERGE)\s", "UPDATE / DELETE / MERGE"),
    (r"^\s*ALTER\s", "ALTER TABLE / ALTER DATABASE"),
    (r"^\s*MSCK\s", "MSCK REPAIR TABLE (partitions)"),
    (r"^\s*SHOW\s+(?:CREATE|PARTITIONS|TBLPROPERTIES|VIEWS|FUNCTIONS)", "this SHOW statement"),
    (r"^\s*(?:EXPLAIN|UNLOAD|PREPARE|EXECUTE|DEALLOCATE|VACUUM|OPTIMIZE)\b", "this statement"),
]


def _strip_comments(sql: str) -> str:
    """Drop ``--`` and ``/* */`` comments outside string literals (for statement recognition)."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i : j + 1])
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            out.append(" ")
            i = n if j < 0 else j + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_error_position(error: ParseError | TokenError) -> tuple[str, int | None, int | None]:
    """Message, line and column of a sqlglot parse error, phrased as Athena does."""
    details = getattr(error, "errors", None) or []
    if details:
        first = details[0]
        near = first.get("highlight") or ""
        description = first.get("description") or str(error)
        line, col = first.get("line"), first.get("col")
        if isinstance(col, int) and near:
            col = max(1, col - len(near) + 1)
        message = f"{description}" + (f" at or near {near!r}" if near else "")
        return message, line, col
    return str(error).splitlines()[0], None, None


# tokens after which a list item must come, and before which one cannot end (Trino's grammar)
_NO_ITEM_AFTER = {TokenType.SELECT, TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.COMMA}
_NO_ITEM_BEFORE = {
    TokenType.FROM, TokenType.WHERE, TokenType.GROUP_BY, TokenType.ORDER_BY, TokenType.HAVING,
    TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT, TokenType.R_PAREN,
    TokenType.R_BRACKET, TokenType.COMMA, TokenType.SEMICOLON,
}  # fmt: skip


def _tokens(sql: str) -> list[Any]:
    try:
        return Trino().tokenize(sql)
    except TokenError:
        return []  # the parser reports it


def _token_position(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def check_commas(sql: str) -> None:
    """Refuse an empty item in a comma-separated list, as Trino does (sqlglot accepts
    ``SELECT a, FROM t`` and ``f(a,)``): ``mismatched input 'FROM'``, with its position."""
    tokens = _tokens(sql)
    for i, token in enumerate(tokens):
        if token.token_type != TokenType.COMMA:
            continue
        before = tokens[i - 1] if i > 0 else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if before is None or before.token_type in _NO_ITEM_AFTER:
            bad = token
        elif after is None or after.token_type in _NO_ITEM_BEFORE:
            bad = after
        else:
            continue
        if bad is None:
            line, col = _token_position(sql, len(sql.rstrip()))
            raise SqlError("mismatched input '<EOF>'. Expecting: <expression>", line, col)
        line, col = _token_position(sql, bad.start)
        text = sql[bad.start : bad.end + 1]
        raise SqlError(f"mismatched input '{text}'. Expecting: <expression>", line, col)


def number_placeholders(sql: str) -> tuple[str, int]:
    """The SQL with its k-th ``?`` (in the order written) as ``:__lab_param_<k>``, and how many
    there are: the translation keeps each parameter's number, so values bind to the right one."""
    holes = [t for t in _tokens(sql) if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    if not holes:
        return sql, 0
    out, last = [], 0
    for k, token in enumerate(holes, start=1):
        out += [sql[last : token.start], f":{PARAM_PREFIX}{k}"]
        last = token.end + 1
    out.append(sql[last:])
    return "".join(out), len(holes)


_VALUE_NODES = (exp.Literal, exp.Boolean, exp.Null, exp.Neg, exp.Paren, exp.Cast, exp.TryCast,
                exp.DataType, exp.DataTypeParam, exp.Array, exp.Interval, exp.Var)  # fmt: skip


def parse_parameter(value: Any, position: int) -> exp.Expression:
    """One execution parameter as Athena takes it: a value written as a literal (``1``,
    ``'text'``, ``DATE '2024-01-01'``, ``CAST('2014-07-05' AS DATE)``, ``ARRAY[1, 2]``).

    Athena binds it as a value, never as SQL: anything else (``1 OR 1=1``, a column, a
    subquery, a function call) is refused with INVALID_PARAMETER_USAGE.
    """
    where = f"execution parameter {position} ({str(value)[:60]!r})"
    try:
        tree = sqlglot.parse_one(str(value), read="trino")
    except (ParseError, TokenError) as exc:
        message, _, _ = parse_error_position(exc)
        raise SqlError(f"INVALID_PARAMETER_USAGE: {where} is not a value: {message}") from None
    for node in tree.walk():
        if not isinstance(node, _VALUE_NODES):
            raise SqlError(
                f"INVALID_PARAMETER_USAGE: {where} is not a value (it holds "
                f"{type(node).__name__.upper()}): Athena binds each execution parameter as a "
                "value. Pass a literal such as 1, 'text' (strings in single quotes), "
                "DATE '2024-01-01' or CAST('2014-07-05' AS DATE), and write the rest of the "
                "condition in the query"
            )
    return tree


def parse_statement(sql: str) -> Statement:
    """Recognise one Athena statement; queries and CTAS are parsed with sqlglot (Trino)."""
    if not isinstance(sql, str) or not sql.strip():
        raise SqlError("the query is empty")
    text = _strip_comments(sql)
    for kind, pattern in _DDL_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        groups = match.groupdict()
        stmt = Statement(kind=kind, sql=sql)
        if "first" in groups:
            stmt.database, stmt.name = _split_qname(match)
        if groups.get("db"):
            stmt.database = _unquote(groups["db"])
        stmt.pattern = groups.get("pattern")
        stmt.if_exists = bool(groups.get("ie"))
        stmt.if_not_exists = bool(groups.get("ine"))
        stmt.cascade = (groups.get("mode") or "").upper() == "CASCADE"
        stmt.comment = groups.get("comment")
        if kind in ("create_database", "drop_database"):
            stmt.name = stmt.database
        return stmt
    for pattern, what in _UNSUPPORTED:
        if re.match(pattern, text, _FLAGS):
            raise SqlNotSupported(
                f"{what} is not supported by the local Athena; it runs on BACKEND='aws'"
            )
    try:
        expressions = [e for e in sqlglot.parse(sql, read="trino") if e is not None]
    except (ParseError, TokenError) as exc:
        message, line, col = parse_error_position(exc)
        raise SqlError(message, line, col) from None
    check_commas(sql)
    if len(expressions) != 1:
        raise SqlError(
            f"Only one sql statement is allowed. Got: {len(expressions)}"
            if expressions
            else "the query is empty"
        )
    expression = expressions[0]
    if isinstance(expression, exp.Create) and expression.args.get("kind") == "TABLE":
        if not isinstance(expression.expression, exp.Query):
            raise SqlNotSupported(
                "CREATE TABLE without AS SELECT is not supported locally; "
                "use wr.catalog.create_csv_table / create_parquet_table"
            )
        target = expression.this
        if isinstance(target, exp.Schema):
            raise SqlNotSupported("CREATE TABLE (columns) AS SELECT: name the columns in SELECT")
        return Statement(
            kind="ctas",
            sql=sql,
            expression=expression.expression,
            database=target.db.lower() or None,
            name=target.name.lower(),
            if_not_exists=bool(expression.args.get("exists")),
            properties=_ctas_properties(expression),
            with_no_data=bool(re.search(r"\bWITH\s+NO\s+DATA\s*;?\s*$", text, _FLAGS)),
        )
    if isinstance(expression, exp.Query | exp.Values):
        return Statement(kind="select", sql=sql, expression=expression)
    if isinstance(expression, exp.Command):
        word = str(expression.this).split()[0] if expression.this else "?"
        raise SqlError(f"mismatched input {word!r}: not a statement Athena knows", 1, 1)
    raise SqlNotSupported(
        f"{type(expression).__name__.upper()} statements are not supported by the local Athena"
    )


def _literal_value(node: exp.Expression) -> Any:
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else node.to_py()
    if isinstance(node, exp.Array):
        return [_literal_value(e) for e in node.expressions]
    if isinstance(node, exp.Boolean):
        return node.this
    return node.sql("trino")


def _ctas_properties(create: exp.Create) -> dict[str, Any]:
    props: dict[str, Any] = {}
    properties = create.args.get("properties")
    if not properties:
        return props
    for prop in properties.expressions:
        if isinstance(prop, exp.FileFormatProperty):
            props["format"] = str(_literal_value(prop.this)).upper()
        elif isinstance(prop, exp.PartitionedByProperty):
            props["partitioned_by"] = _literal_value(prop.this)
        elif type(prop) is exp.Property:
            props[prop.name.lower()] = _literal_value(prop.args["value"])
        elif isinstance(prop, exp.WithDataProperty):
            continue  # WITH [NO] DATA, read from the statement text
        else:
            key = type(prop).__name__.removesuffix("Property").lower()
            value = prop.args.get("this")
            props[key] = _literal_value(value) if isinstance(value, exp.Expression) else value
    return props


def hive_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """Athena's SHOW TABLES / SHOW DATABASES pattern: '*' is any text, '|' separates choices."""
    if pattern is None:
        return None
    choices = [re.escape(p.strip()).replace(r"\*", ".*") for p in pattern.split("|")]
    return re.compile("^(?:" + "|".join(choices) + ")$", re.IGNORECASE)


# -- query translation ---------------------------------------------------------------------------
@dataclass
class Translation:
    """A query written for DuckDB, plus what Athena would name its output columns."""

    sql: str
    unnamed: list[int]
    tables: list[TableRef]


def _position(node: exp.Expression) -> tuple[int | None, int | None]:
    meta = getattr(node, "meta", None) or {}
    line, col = meta.get("line"), meta.get("col")
    if isinstance(col, int) and isinstance(node, exp.Identifier):
        col = max(1, col - len(node.name) + 1 - (2 if node.quoted else 0))
    return line, col


def _cte_names(expression: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}


def _first_select(expression: exp.Expression) -> exp.Select | None:
    node = expression
    while isinstance(node, exp.SetOperation):
        node = node.left
    while isinstance(node, exp.Subquery):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def _fix_functions(node: exp.Expression) -> exp.Expression:
    """Rewrite Trino functions whose DuckDB namesake behaves differently."""
    if isinstance(node, exp.ApproxQuantile):
        if node.args.get("weight") is not None or node.args.get("accuracy") is not None:
            raise SqlNotSupported("approx_percentile with a weight or accuracy is not supported")
        # Athena's answer is approximate (within ~1% of rank); an exact value from the data
        # (quantile_disc) is within that bound and does not depend on the engine's sketch.
        return exp.Anonymous(
            this="quantile_disc", expressions=[node.this.copy(), node.args["quantile"].copy()]
        )
    if (
        isinstance(node, exp.ArraySize)
        and isinstance(node.this, exp.Split)
        and node.this.args.get("limit") is None
        and isinstance(node.this.expression, exp.Literal)
        and node.this.expression.is_string
        and node.this.expression.this
    ):
        # cardinality(split(s, d)) is the number of d's in s plus one (split keeps empty
        # fields); counting is much faster than building the array.
        text = node.this.this.sql("duckdb")
        delim = node.this.expression.sql("duckdb")
        return sqlglot.parse_one(
            f"(strlen({text}) - strlen(replace({text}, {delim}, ''))) // strlen({delim}) + 1",
            read="duckdb",
        )
    if isinstance(node, exp.Split) and node.args.get("limit") is not None:
        parts = exp.Anonymous(
            this="string_split", expressions=[node.this.copy(), node.expression.copy()]
        )
        limit = node.args["limit"].copy()
        head = f"({parts.sql('duckdb')})[1:({limit.sql('duckdb')}) - 1]"
        tail = (
            f"array_to_string(({parts.sql('duckdb')})[({limit.sql('duckdb')}):], "
            f"{node.expression.sql('duckdb')})"
        )
        return sqlglot.parse_one(
            f"CASE WHEN len({parts.sql('duckdb')}) <= {limit.sql('duckdb')} "
            f"THEN {parts.sql('duckdb')} ELSE list_concat({head}, [{tail}]) END",
            read="duckdb",
        )
    return node


_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
_DATE_NODES = (exp.DateAdd, exp.DateSub, exp.DateTrunc, exp.TimestampTrunc, exp.Add, exp.Sub)


def _date_operand(node: exp.Expression) -> exp.Expression | None:
    """The operand whose DATE type Trino keeps, or None if ``node`` is not date arithmetic."""
    if isinstance(node, exp.Add | exp.Sub):
        left, right = node.this, node.expression
        interval = right if isinstance(right, exp.Interval) else None
        if interval is None and isinstance(node, exp.Add) and isinstance(left, exp.Interval):
            interval, left = left, right
        if interval is None:
            return None
        unit = interval.args.get("unit")
        return left if unit is not None and unit.name.upper() in _DATE_UNITS else None
    unit = node.args.get("unit")
    name = unit.name.upper() if isinstance(unit, exp.Expression) else str(unit or "DAY").upper()
    return node.this if name.strip("'") in _DATE_UNITS else None


def _keep_date_arithmetic_dates(tree: exp.Expression, schema: dict[str, dict[str, str]]) -> None:
    """Trino's date_add, date_trunc and date +/- interval on a DATE give a DATE; DuckDB's give a
    TIMESTAMP.

    The argument types come from sqlglot's type annotation of a qualified copy of the query;
    where they cannot be worked out the node is left as it is.
    """
    nodes = [n for n in tree.walk() if isinstance(n, _DATE_NODES)]
    if not any(_date_operand(n) is not None for n in nodes):
        return
    try:
        from sqlglot.optimizer.annotate_types import annotate_types
        from sqlglot.optimizer.qualify import qualify
        from sqlglot.schema import MappingSchema

        mapping = MappingSchema(
            {name: cols for name, cols in schema.items() if cols}, dialect="duckdb"
        )
        typed = annotate_types(
            qualify(tree.copy(), schema=mapping, dialect="trino", validate_qualify_columns=False),
            schema=mapping,
            dialect="trino",
        )
        twins = [n for n in typed.walk() if isinstance(n, _DATE_NODES)]
    except Exception:  # noqa: BLE001 - typing is a refinement; the query still runs without it
        return
    if len(twins) != len(nodes):
        return
    for node, twin in reversed(list(zip(nodes, twins, strict=True))):  # innermost first
        operand = _date_operand(twin)
        if operand is not None and operand.type is not None and operand.type.is_type("date"):
            node.replace(exp.cast(node.copy(), exp.DataType.build("DATE")))


def _refuse_table_function(table: exp.Table) -> None:
    """DuckDB's table functions (``read_csv``, ``glob``, ``query``, ``range``, ...) are not
    Athena's: a query reads tables through the catalog only."""
    func = table.this
    if isinstance(func, exp.Anonymous):
        name = str(func.this)
    elif isinstance(func, exp.Func):
        name = func.sql_names()[0]
    else:
        name = func.sql("trino").split("(")[0]
    line, col = _position(func)
    if isinstance(col, int):
        col = max(1, col - len(name) + 1)  # sqlglot marks where the name ends
    raise SqlError(
        f"FUNCTION_NOT_FOUND: Function '{name.lower()}' not registered (Athena reads tables "
        "through the Glue catalog: register the data with wr.catalog.create_csv_table and "
        "query the table)",
        line,
        col,
    )


def _number_parameters(tree: exp.Expression) -> exp.Expression:
    """``:__lab_param_<k>`` -> DuckDB's ``$<k>`` (bound to the k-th value)."""

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and str(node.this or "").startswith(PARAM_PREFIX):
            return exp.Placeholder(this=str(node.this)[len(PARAM_PREFIX) :])
        return node

    return tree.transform(fix)


def translate_query(
    expression: exp.Expression,
    default_database: str | None,
    resolve: Callable[[TableRef], tuple[str, dict[str, str]]],
) -> Translation:
    """Rewrite a parsed Trino query for DuckDB.

    ``resolve`` maps each table to a DuckDB relation name and its columns' DuckDB types.
    """
    tree = expression.copy()
    schema: dict[str, dict[str, str]] = {}
    ctes = _cte_names(tree)
    tables: list[TableRef] = []
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            _refuse_table_function(table)
        name = table.name.lower()
        catalog = table.catalog.lower()
        db = table.db.lower()
        if not db and name in ctes:
            continue
        if catalog and catalog != "awsdatacatalog":
            raise SqlError(f"Catalog '{catalog}' does not exist", *_position(table.this))
        line, col = _position(table.args.get("db") or table.this)
        if not db and not default_database:
            raise SqlError(
                f"Schema must be specified when session schema is not set (table {name!r})",
                line,
                col,
            )
        ref = TableRef(db or str(default_database).lower(), name, line, col)
        tables.append(ref)
        relation, column_types = resolve(ref)
        schema[relation] = column_types
        alias = table.args.get("alias")
        table.set("this", exp.to_identifier(relation, quoted=True))
        table.set("db", None)
        table.set("catalog", None)
        if alias is None:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
    if isinstance(tree, exp.Values) and tree.expressions:
        width = len(tree.expressions[0].expressions)
        names = ", ".join(f'"{UNNAMED_PREFIX}{i}"' for i in range(width))
        tree = sqlglot.parse_one(
            f"SELECT * FROM ({tree.sql('duckdb')}) AS __lab_values({names})", read="duckdb"
        )
    _keep_date_arithmetic_dates(tree, schema)
    tree = tree.transform(_fix_functions)
    tree = _number_parameters(tree)
    unnamed: list[int] = []
    select = _first_select(tree)
    if select is not None:
        for i, projection in enumerate(select.expressions):
            if isinstance(projection, exp.Alias | exp.Star) or (
                isinstance(projection, exp.Column) and projection.name
            ):
                continue
            if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                continue
            if isinstance(projection, exp.Dot):
                continue
            unnamed.append(i)
            projection.replace(exp.alias_(projection.copy(), f"{UNNAMED_PREFIX}{i}", quoted=True))
    try:
        sql = tree.sql(dialect="duckdb")
    except Exception as exc:  # sqlglot UnsupportedError and friends
        raise SqlNotSupported(f"cannot translate this query for DuckDB: {exc}") from None
    return Translation(sql=sql, unnamed=unnamed, tables=tables)


def locate(sql: str, word: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the first identifier or keyword ``word`` in ``sql``."""
    target = word.strip('"').lower()
    for line_no, line in enumerate(sql.splitlines(), start=1):
        for match in re.finditer(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_]*', line):
            if match.group(0).strip('"').lower() == target:
                return line_no, match.start() + 1
    return None, None


# -- types -------------------------------------------------------------------------------------
_GLUE_TO_DUCKDB = {
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
    "decimal": "DECIMAL(10,0)",
}


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def glue_to_duckdb(glue_type: str) -> str:
    """The DuckDB type for a (validated) Glue / Hive column type."""
    t = glue_type.strip().lower().replace(" ", "")
    if t in _GLUE_TO_DUCKDB:
        return _GLUE_TO_DUCKDB[t]
    if t.startswith(("varchar(", "char(")):
        return "VARCHAR"
    if t.startswith("decimal("):
        return t.upper()
    if t.startswith("array<"):
        return glue_to_duckdb(t[6:-1]) + "[]"
    if t.startswith("map<"):
        key, value = _split_top(t[4:-1])
        return f"MAP({glue_to_duckdb(key)}, {glue_to_duckdb(value)})"
    if t.startswith("struct<"):
        fields = []
        for item in _split_top(t[7:-1]):
            name, _, ftype = item.partition(":")
            fields.append(f'"{name}" {glue_to_duckdb(ftype)}')
        return f"STRUCT({', '.join(fields)})"
    raise ValueError(f"no DuckDB type for {glue_type!r}")


def duckdb_to_athena(duck_type: str) -> str:
    """The Athena (Trino) result type name for a DuckDB result type."""
    t = duck_type.strip().upper()
    simple = {
        "BOOLEAN": "boolean",
        "TINYINT": "tinyint",
        "SMALLINT": "smallint",
        "INTEGER": "integer",
        "BIGINT": "bigint",
        "HUGEINT": "bigint",
        "UTINYINT": "smallint",
        "USMALLINT": "integer",
        "UINTEGER": "bigint",
        "UBIGINT": "bigint",
        "UHUGEINT": "bigint",
        "FLOAT": "real",
        "DOUBLE": "double",
        "VARCHAR": "varchar",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "TIMESTAMP_NS": "timestamp",
        "TIMESTAMP_MS": "timestamp",
        "TIMESTAMP_S": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
        "TIME": "time",
        "BLOB": "varbinary",
        "UUID": "uuid",
        "INTERVAL": "interval day to second",
        "JSON": "json",
        '"NULL"': "unknown",
        "NULL": "unknown",
    }
    if t in simple:
        return simple[t]
    if t.startswith("DECIMAL"):
        return t.lower().replace(" ", "")
    if t.endswith("[]"):
        return f"array({duckdb_to_athena(t[:-2])})"
    if t.startswith("MAP("):
        key, value = _split_top(t[4:-1])
        return f"map({duckdb_to_athena(key)}, {duckdb_to_athena(value)})"
    if t.startswith("STRUCT("):
        fields = []
        for item in _split_top(t[7:-1]):
            name, _, ftype = item.strip().partition(" ")
            fields.append(f"{name.strip(chr(34)).lower()} {duckdb_to_athena(ftype)}")
        return f"row({', '.join(fields)})"
    return t.lower()


def athena_to_glue(athena_type: str) -> str:
    """The Glue column type a CTAS registers for an Athena result type."""
    t = athena_type.strip().lower()
    simple = {"varchar": "string", "integer": "int", "real": "float", "varbinary": "binary"}
    if t in simple:
        return simple[t]
    if t.startswith("array("):
        return f"array<{athena_to_glue(t[6:-1])}>"
    if t.startswith("map("):
        key, value = _split_top(t[4:-1])
        return f"map<{athena_to_glue(key)},{athena_to_glue(value)}>"
    if t.startswith("row("):
        fields = []
        for item in _split_top(t[4:-1]):
            name, _, ftype = item.strip().partition(" ")
            fields.append(f"{name}:{athena_to_glue(ftype)}")
        return f"struct<{','.join(fields)}>"
    if t in ("timestamp with time zone", "unknown", "uuid", "json", "time"):
        raise SqlError(f"a CTAS cannot store a column of type {t}; CAST it first")
    return t
