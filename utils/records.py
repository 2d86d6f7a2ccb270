"""Values a notebook records for the tests and the run report, read back from executed notebooks.

A notebook calls ``lab.record("rows_kept", 22626)``; the value is written into the cell's output
as a display bundle with the MIME type :data:`MIME` (and a short text line a reader sees).
:func:`read_records` collects them from an executed ``.ipynb``. No scrapbook, no side files.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MIME = "application/vnd.pds-lab.record+json"


def to_jsonable(value: Any) -> Any:
    """Convert a recorded value (scalars, containers, DataFrames, Series) into JSON data."""
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index(drop=True)
        return {
            "__dataframe__": {
                "columns": [str(c) for c in frame.columns],
                "dtypes": [str(t) for t in frame.dtypes],
                "data": [[to_jsonable(v) for v in row] for row in frame.itertuples(index=False)],
            }
        }
    if isinstance(value, pd.Series):
        return {"__series__": {"name": to_jsonable(value.name),
                               "index": [to_jsonable(i) for i in value.index],
                               "data": [to_jsonable(v) for v in value.tolist()]}}  # fmt: skip
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot record a {type(value).__name__}: record numbers, text, lists, "
                    "dicts or DataFrames")  # fmt: skip


def from_jsonable(value: Any) -> Any:
    """Inverse of :func:`to_jsonable` for DataFrames and Series; other values as stored."""
    if isinstance(value, dict) and "__dataframe__" in value:
        spec = value["__dataframe__"]
        return pd.DataFrame(spec["data"], columns=spec["columns"])
    if isinstance(value, dict) and "__series__" in value:
        spec = value["__series__"]
        return pd.Series(spec["data"], index=spec["index"], name=spec["name"])
    if isinstance(value, dict):
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value


def _short(value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        return f"DataFrame {value.shape[0]} x {value.shape[1]}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def record(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` in the current notebook's output (one short line shows)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"record name {name!r}: use a Python identifier such as 'rows_kept'")
    payload = {"name": name, "value": to_jsonable(value)}
    json.dumps(payload)  # fail here, not in the notebook writer
    bundle = {MIME: payload, "text/plain": f"[recorded] {name} = {_short(value)}"}
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(bundle, raw=True)
            return
    except ImportError:  # pragma: no cover - IPython is always installed with the labs
        pass
    print(bundle["text/plain"])


def read_records(notebook: str | Path | dict) -> dict[str, Any]:
    """All values recorded in an executed notebook (file path or nbformat dict), by name."""
    if isinstance(notebook, str | Path):
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    else:
        nb = notebook
    out: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if MIME in data:
                payload = data[MIME]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                out[payload["name"]] = from_jsonable(payload["value"])
    return out
