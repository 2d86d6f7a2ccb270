"""Checks for ``00_setup``: is this environment ready for the labs, on the chosen backend?

AWS equivalent: what the course's first cells do (``sagemaker.Session()``, the default bucket,
``get_execution_role()``), plus a look at versions and, locally, the lab home.
"""

from __future__ import annotations

import html
import importlib.metadata as md
import math
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from utils import keys
from utils.config import project_root
from utils.errors import EnvironmentNotReady

# prefixes under the bucket that the labs write (and 99_cleanup removes)
LAB_PREFIXES = keys.LAB_PREFIXES  # what the labs write to S3 (utils.keys)


class Table(pd.DataFrame):
    """A DataFrame that a notebook shows whole: no column cut at 50 characters, and no maths.

    pandas cuts long cells ("... until del..."), and JupyterLab's MathJax reads the text between
    two ``$`` signs as a formula ("$5 ... $0.01"): this table's HTML is marked ``mathjax_ignore``
    (MathJax 3's class for it) and its cells are never shortened, in JupyterLab, in papermill's
    output and in the run report. No AWS equivalent: a display helper.
    """

    @property
    def _constructor(self) -> type[Table]:
        return Table

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.html.use_mathjax", False):
            table = self.to_html(index=False, escape=True, border=0)
        table = table.replace("<td>", '<td style="text-align: left">').replace(
            "<th>", '<th style="text-align: left">'
        )
        return f'<div class="mathjax_ignore tex2jax_ignore">{table}</div>'

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            return self.to_string(index=False)

    def plain(self) -> pd.DataFrame:
        """The same rows as an ordinary DataFrame."""
        return pd.DataFrame(self)


def pinned_requirements(path: Path | None = None) -> dict[str, str]:
    """``name -> version`` for the ``name==version`` lines of requirements.txt."""
    path = path or project_root() / "requirements.txt"
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;#]+)", line)
        if m:
            pins[m.group(1)] = m.group(3)
    return pins


def package_versions(pins: dict[str, str] | None = None) -> pd.DataFrame:
    """Pinned versus installed version of each requirement."""
    pins = pins if pins is not None else pinned_requirements()
    rows = []
    for name, wanted in pins.items():
        try:
            have = md.version(name)
        except md.PackageNotFoundError:
            have = None
        rows.append({"package": name, "pinned": wanted, "installed": have,
                     "ok": have == wanted})  # fmt: skip
    return pd.DataFrame(rows)


def _check(name: str, ok: bool, detail: str, severity: str = "PROBLEM") -> dict[str, Any]:
    return {"check": name, "status": "ok" if ok else severity, "detail": detail}


def check_local(home: Path) -> list[dict[str, Any]]:
    """The lab home is writable, DuckDB opens there, and there is room on the disk."""
    rows = []
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".probe-") as fh:
            fh.write(b"ok")
        rows.append(_check("lab home writable", True, str(home)))
    except OSError as exc:
        rows.append(_check("lab home writable", False, f"{home}: {exc} (set LAB_HOME)"))
        return rows
    try:
        import duckdb

        with tempfile.TemporaryDirectory(dir=home, prefix=".probe-") as tmp:
            con = duckdb.connect(str(Path(tmp) / "probe.duckdb"))
            value = con.execute("SELECT 42").fetchone()[0]
            con.close()
        rows.append(
            _check("DuckDB (local Glue + Athena)", value == 42, f"duckdb {duckdb.__version__}")
        )
    except Exception as exc:  # noqa: BLE001 - reported as a problem row
        rows.append(_check("DuckDB (local Glue + Athena)", False, str(exc)))
    free = shutil.disk_usage(home).free / 2**30
    rows.append(
        _check("free disk at the lab home", free > 1.0, f"{free:.1f} GiB free (1 GiB needed)")
    )
    return rows


def check_aws(lab: Any) -> list[dict[str, Any]]:
    """Credentials, region, the default bucket and the SageMaker execution role."""
    import boto3

    rows = []
    try:
        ident = boto3.client("sts", region_name=lab.region).get_caller_identity()
        rows.append(_check("AWS credentials", True, f"account {ident['Account']}, {ident['Arn']}"))
    except Exception as exc:  # noqa: BLE001
        rows.append(_check("AWS credentials", False, f"STS GetCallerIdentity failed: {exc}"))
        return rows
    rows.append(_check("region", True, lab.region))
    s3 = boto3.client("s3", region_name=lab.region)
    try:
        s3.head_bucket(Bucket=lab.bucket)
        rows.append(_check("bucket", True, f"s3://{lab.bucket} exists"))
    except Exception as exc:  # noqa: BLE001
        rows.append(
            _check("bucket", False, f"s3://{lab.bucket}: {exc}; 01_ingest creates it", "warning")
        )
    role = lab.config.role
    rows.append(_check("SageMaker execution role", role is not None,
                       role or "not set: set LAB_ROLE (needed from 04_detect_bias on)",
                       "warning"))  # fmt: skip
    return rows


def check_environment(lab: Any) -> pd.DataFrame:
    """One row per check: Python, the pinned packages, and the backend's own checks."""
    rows = [_check("Python 3.11", sys.version_info[:2] == (3, 11),
                   f"{platform.python_implementation()} {platform.python_version()}",
                   "warning")]  # fmt: skip
    versions = package_versions()
    off = versions[~versions["ok"]]
    rows.append(_check("pinned packages", off.empty,
                       "all match requirements.txt" if off.empty else
                       "differ: " + ", ".join(f"{r.package} {r.installed} != {r.pinned}"
                                              for r in off.itertuples()),
                       "warning"))  # fmt: skip
    rows += check_local(lab.home) if lab.is_local else check_aws(lab)
    return pd.DataFrame(rows)


def planned_resources(lab: Any) -> pd.DataFrame:
    """What the labs will create, where, and what it costs on AWS."""
    local = lab.is_local
    rows = [
        (
            "01_ingest",
            "S3 objects",
            lab.s3_uri("data/raw/") + ", " + lab.s3_uri("data/transformed/"),
            "S3 storage, cents per month",
        ),
        ("02_explore_athena", "Glue database + table", f"{lab.database}.reviews", "free tier"),
        (
            "02_explore_athena",
            "Athena queries + results bucket",
            "aws-athena-query-results-…",
            "$5 per TB scanned, at least 10 MB per query (this data: < $0.01)",
        ),
        ("03_visualize", "S3 objects", lab.s3_uri("images/"), "cents"),
        (
            "04_detect_bias",
            "2 Clarify processing jobs, S3 objects",
            lab.s3_uri("bias/"),
            "ml.m5.large for ~4 min each: a few cents",
        ),
        (
            "05_autopilot",
            "AutoML job + candidates",
            lab.s3_uri("autopilot/"),
            "several ml.m5 instances for ~25 min: a few dollars",
        ),
        (
            "06_deploy_predict",
            "SageMaker endpoint",
            "ml.m5.large",
            "about $0.12 per hour until deleted: run 99_cleanup",
        ),
        (
            "07_blazingtext",
            "2 BlazingText training jobs + SageMaker endpoint",
            lab.s3_uri("blazingtext/") + ", ml.m5.large",
            "~4 min of ml.m5.large per job (cents); endpoint $0.12 per hour until deleted",
        ),
    ]
    frame = Table(rows, columns=["notebook", "creates", "where", "cost on AWS"])
    frame["backend"] = "local: files under the lab home, no cost" if local else "aws: billable"
    return frame


# Athena's price: $5 per TB scanned, each query billed for its bytes rounded up to the megabyte,
# and at least 10 MB (https://aws.amazon.com/athena/pricing/)
ATHENA_DOLLARS_PER_TB = 5.0
ATHENA_MIN_BILLED_MB = 10


def athena_query_cost(scanned_bytes: int) -> QueryCost:
    """What Athena bills for one query that scanned ``scanned_bytes``.

    AWS equivalent: the Athena line of the bill, from ``Statistics.DataScannedInBytes`` of
    ``GetQueryExecution``: the bytes rounded up to the megabyte, at least 10 MB, at $5 per TB.
    """
    if scanned_bytes < 0:
        raise ValueError(f"scanned_bytes={scanned_bytes}: expected a number of bytes >= 0")
    billed_mb = max(ATHENA_MIN_BILLED_MB, math.ceil(scanned_bytes / 2**20))
    return QueryCost(int(scanned_bytes), billed_mb, billed_mb / 2**20 * ATHENA_DOLLARS_PER_TB)


class QueryCost:
    """One Athena query's bill: bytes scanned, megabytes billed (at least 10), dollars."""

    def __init__(self, scanned_bytes: int, billed_mb: int, dollars: float) -> None:
        self.scanned_bytes, self.billed_mb, self.dollars = scanned_bytes, billed_mb, dollars

    def __str__(self) -> str:
        scanned = self.scanned_bytes / 2**20
        floor = " (Athena's minimum per query)" if self.billed_mb == ATHENA_MIN_BILLED_MB else ""
        return (f"scanned {scanned:.2f} MB, billed as {self.billed_mb} MB{floor}: "
                f"about ${self.dollars:.6f} at ${ATHENA_DOLLARS_PER_TB:g} per TB")  # fmt: skip

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f'<pre class="mathjax_ignore">{html.escape(str(self))}</pre>'


def assert_ready(checks: pd.DataFrame) -> None:
    """Stop with every PROBLEM row listed; warnings are shown but do not stop the labs."""
    problems = checks[checks["status"] == "PROBLEM"]
    if not problems.empty:
        lines = "\n".join(f"  - {r.check}: {r.detail}" for r in problems.itertuples())
        raise EnvironmentNotReady(f"the environment is not ready for the labs:\n{lines}")
