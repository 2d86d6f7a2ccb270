"""Every public local wr.catalog / wr.athena call is awswrangler's: same names, same defaults."""

from __future__ import annotations

import inspect

import awswrangler
import pytest

from utils.local.athena import LocalAthena
from utils.local.catalog import LocalCatalog

# methods that are helpers of the local backend, not awswrangler calls
LOCAL_ONLY = {
    LocalCatalog: {
        "get_table_record",
        "list_table_names",
        "database_names",
        "put_table_record",
        "put_parquet_table",
    },  # fmt: skip
    LocalAthena: set(),
}


def public_calls(cls: type) -> list[str]:
    return sorted(
        name
        for name, member in vars(cls).items()
        if not name.startswith("_") and callable(member) and name not in LOCAL_ONLY[cls]
    )


CASES = [(LocalCatalog, awswrangler.catalog, n) for n in public_calls(LocalCatalog)] + [
    (LocalAthena, awswrangler.athena, n) for n in public_calls(LocalAthena)
]


def test_the_course_calls_are_all_there():
    course = {
        LocalCatalog: ["create_database", "databases", "get_databases", "create_csv_table",
                       "create_parquet_table", "tables", "table", "get_table_types",
                       "does_table_exist", "delete_table_if_exists", "delete_database"],
        LocalAthena: ["read_sql_query", "start_query_execution", "wait_query",
                      "get_query_results", "create_athena_bucket"],
    }  # fmt: skip
    for cls, names in course.items():
        assert set(names) <= set(public_calls(cls)), cls.__name__


@pytest.mark.parametrize(
    ("cls", "module", "name"), CASES, ids=[f"{c[1].__name__}.{c[2]}" for c in CASES]
)
def test_signature_is_a_subset_of_awswranglers(cls, module, name):
    assert hasattr(module, name), f"{module.__name__}.{name} does not exist in awswrangler"
    real = inspect.signature(getattr(module, name)).parameters
    local = dict(inspect.signature(getattr(cls, name)).parameters)
    local.pop("self", None)
    for pname, param in local.items():
        where = f"{module.__name__}.{name}({pname})"
        assert pname in real, f"{where}: not a parameter of awswrangler's function"
        assert param.default == real[pname].default, (
            f"{where}: default {param.default!r} != awswrangler's {real[pname].default!r}"
        )
        assert param.kind == real[pname].kind, f"{where}: positional/keyword kind differs"
    # the same order, so a positional call means the same on both backends
    assert list(local) == [p for p in real if p in local], f"{name}: parameter order differs"
    # whatever a learner may pass positionally must exist locally
    required = [p for p, v in real.items() if v.default is inspect.Parameter.empty]
    assert all(p in local for p in required), f"{name}: lacks required parameters"
