"""The HTML report of a batch run: ``runs/<timestamp>/report.html``, written by the runner.

One self-contained page (no network, no scripts): every notebook's status and duration; the key
figures the notebooks recorded with ``lab.record`` (row counts, query results as tables, bias
metrics, the Autopilot leaderboard and holdout accuracy when a notebook records them); the
figures the notebooks displayed, saved as PNG files next to the report; and links to each
executed notebook, rendered as HTML with nbconvert.

    python -m utils.report runs/20250101-120000    # (re)write the report of a finished run

The header says where the data came from (a loud warning when 01_ingest used the synthetic
reviews); long tables are folded. :func:`links` and :func:`run_reports` show, in a notebook,
the files a job wrote (Autopilot's notebooks, Clarify's report) and the run reports as links
that JupyterLab opens with one click.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import json
import math
import os
import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from utils.records import read_records
from utils.runner import NotebookRun

REPORT = "report.html"
FIGURES = "figures"
RENDERED = "html"
MAX_ROWS = 25  # table rows shown before "show all"
FOLD_ROWS = 10  # a recorded table longer than this is folded (click to open)
# scalar records whose names match go in the "Key figures" table at the top
KEY_NAME = re.compile(r"rows|total|count|accuracy|objective|score|metric|best|candidates|origin")

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5rem; color: #1f2328; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem;
     border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a7f37; font-weight: 600; } .failed { color: #cf222e; font-weight: 600; }
.skipped { color: #9a6700; font-weight: 600; } .muted { color: #656d76; }
.error { background: #ffebe9; border: 1px solid #ff8182; padding: .5rem .8rem; white-space: pre-wrap;
         font-family: ui-monospace, monospace; font-size: 13px; }
figure { display: inline-block; margin: .5rem 1rem 1rem 0; max-width: 48%; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { font-size: 13px; color: #656d76; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; max-height: 20rem; }
.origin { padding: .6rem .9rem; border-radius: 6px; margin: .8rem 0; }
.origin.synthetic { background: #fff1e5; border: 2px solid #bc4c00; color: #762c00; }
.origin.real { background: #dafbe1; border: 1px solid #4ac26b; }
.origin.unknown { background: #f6f8fa; border: 1px solid #d0d7de; }
details > summary { cursor: pointer; margin: .3rem 0; }
"""


@dataclass
class Figure:
    """A PNG a notebook displayed, copied next to the report."""

    notebook: str
    file: str  # path relative to the run folder
    caption: str


# -- reading a run -----------------------------------------------------------------------------


def load_results(run_dir: Path) -> tuple[list[NotebookRun], dict[str, Any]]:
    """The notebooks' results and the parameters of a finished run, from its ``summary.json``."""
    path = run_dir / "summary.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no summary.json here; is {run_dir} a run folder?")
    summary = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(summary, list):  # the first runner's format: a bare list
        summary = {"params": {}, "notebooks": summary}
    results = []
    for entry in summary["notebooks"]:
        output = run_dir / Path(entry["output"]).name if entry.get("output") else None
        result = NotebookRun(entry["notebook"], entry["status"], float(entry.get("seconds", 0)))
        result.output, result.error = output, entry.get("error")
        if output is not None and output.exists():
            result.records = read_records(output)
        results.append(result)
    return results, summary.get("params", {})


_CAPTION_RES = (
    re.compile(r"""images\[\s*["']([\w-]+)["']\s*\]"""),
    re.compile(r"""save_figure\([^)]*?["']([\w-]+)["']"""),
    re.compile(r"""savefig\(\s*["']([^"']+)["']"""),
)


def _caption(source: str, count: int | None, index: int) -> str:
    for pattern in _CAPTION_RES:
        found = pattern.search(source)
        if found:
            return found.group(1)
    return f"cell [{count}]" if count is not None else f"code cell {index}"


def extract_figures(notebook: Path, run_dir: Path) -> list[Figure]:
    """Save every ``image/png`` output of an executed notebook under ``figures/``."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    out_dir = run_dir / FIGURES
    figures = []
    code_cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for index, cell in enumerate(code_cells, start=1):
        source = "".join(cell.get("source", ""))
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", [])
                if "image/png" in (o.get("data") or {})]  # fmt: skip
        for k, png in enumerate(pngs):
            data = png if isinstance(png, str) else "".join(png)
            name = f"{notebook.stem}-{index:02d}" + (f"-{k + 1}" if len(pngs) > 1 else "")
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{name}.png").write_bytes(base64.b64decode(data))
            caption = _caption(source, cell.get("execution_count"), index)
            figures.append(Figure(notebook.stem, f"{FIGURES}/{name}.png", caption))
    return figures


_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)


def render_notebook(notebook: Path, run_dir: Path) -> Path:
    """The executed notebook as HTML (nbconvert's lab template) in ``html/``, usable offline.

    The CDN scripts nbconvert links (require.js, MathJax) are left out: the notebooks need
    neither, and the report must open without a network. A progress bar's updates (stream
    outputs that each start with a carriage return) show as their last state, as JupyterLab
    shows them, not as one line per update.
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(CoalesceStreamsPreprocessor(enabled=True), enabled=True)
    body, _ = exporter.from_filename(str(notebook))
    body = _EXTERNAL_SCRIPT.sub("", body)
    out = run_dir / RENDERED / f"{notebook.stem}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


# -- rendering values --------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.4g}"
    text = str(value)
    if text.startswith("s3://") or "/" in text:
        return f"<code>{_esc(text)}</code>"
    return _esc(text if len(text) <= 120 else text[:117] + "...")


def _frame(df: pd.DataFrame, full: bool = False) -> str:
    def table(frame: pd.DataFrame) -> str:
        head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
        rows = []
        for row in frame.itertuples(index=False):
            cells = []
            for v in row:
                num = isinstance(v, int | float) and not isinstance(v, bool)
                cells.append(f"<td{' class=num' if num else ''}>{_scalar(v)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table><tr>{head}</tr>{''.join(rows)}</table>"

    shape = f"<p class=muted>{len(df):,} rows x {len(df.columns)} columns</p>"
    if full or len(df) <= MAX_ROWS:
        return table(df) + shape
    return (table(df.head(MAX_ROWS)) + f"<details><summary>show all {len(df):,} rows</summary>"
            + table(df) + "</details>")  # fmt: skip


_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
_DESCRIBE = {"count": 0, "mean": 1, "std": 2, "min": 3, "max": 5}


def natural_order(keys: list[str]) -> list[str]:
    """Keys of a recorded dict in reading order: pandas' ``describe`` keys as pandas prints
    them (count, mean, std, min, the percentiles by number, max), numbers by value, others as
    they came. The notebook file stores dict keys sorted as text ('10%', '100%', '20%')."""

    def rank(item: tuple[int, str]) -> tuple[int, float, int]:
        index, key = item
        found = _PERCENT.match(key)
        if found:
            return (4, float(found.group(1)), index)
        if key in _DESCRIBE:
            return (_DESCRIBE[key], 0.0, index)
        try:
            return (6, float(key), index)
        except ValueError:
            return (7, 0.0, index)

    if not any(_PERCENT.match(k) for k in keys) and not all(_is_number(k) for k in keys):
        return list(keys)
    return [key for _, key in sorted(enumerate(keys), key=rank)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def value_html(value: Any, full: bool = False) -> str:
    """A recorded value as HTML: tables for DataFrames and flat dicts, text for the rest.

    A table longer than MAX_ROWS shows its head and folds the rest, unless ``full``.
    """
    if isinstance(value, pd.Series):
        value = value.reset_index()
    if isinstance(value, pd.DataFrame):
        return _frame(value, full)
    if isinstance(value, dict) and value and all(_is_scalar(v) for v in value.values()):
        keys = natural_order([str(k) for k in value])
        ordered = {str(k): v for k, v in value.items()}
        return _frame(pd.DataFrame({"key": keys, "value": [ordered[k] for k in keys]}), full)
    if isinstance(value, list) and all(_is_scalar(v) for v in value) and len(value) <= 12:
        return ", ".join(_scalar(v) for v in value) or "<span class=muted>(empty)</span>"
    if _is_scalar(value):
        return _scalar(value)
    text = json.dumps(value, indent=1, default=str)
    return f"<pre>{_esc(text if len(text) < 4000 else text[:4000] + ' ...')}</pre>"


def _size(value: Any) -> tuple[int, str]:
    """(rows, 'N rows x M columns') of a recorded value as the report shows it."""
    if isinstance(value, pd.Series):
        return len(value), f"{len(value):,} values"
    if isinstance(value, pd.DataFrame):
        return len(value), f"{len(value):,} rows x {len(value.columns)} columns"
    if isinstance(value, dict | list):
        return len(value), f"{len(value):,} {'entries' if isinstance(value, dict) else 'items'}"
    return 1, ""


def _folded(name: str, value: Any) -> str:
    """A non-scalar record under its name; folded (a click opens it) past FOLD_ROWS rows."""
    rows, size = _size(value)
    if rows <= FOLD_ROWS:
        return f"<h3><code>{_esc(name)}</code></h3>{value_html(value)}"
    body = value_html(value, full=True)  # one click opens it all
    return (f"<details><summary><code>{_esc(name)}</code> <span class=muted>{_esc(size)} "
            f"(click to show)</span></summary>{body}</details>")  # fmt: skip


def key_figures(results: list[NotebookRun]) -> list[tuple[str, str, Any]]:
    """(notebook, name, value) of the scalar records that sum a run up: row counts, accuracy."""
    out = []
    for r in results:
        for name, value in r.records.items():
            if _is_scalar(value) and KEY_NAME.search(name):
                out.append((r.name, name, value))
    return out


# -- the page ----------------------------------------------------------------------------------


def data_origin(results: list[NotebookRun], params: dict[str, Any]) -> tuple[str, str]:
    """(kind, text) of the header's data line: "synthetic", "real" or "unknown".

    From what 01_ingest records (``raw_origin``, ``raw_synthetic``, ``raw_sha256``).
    """
    from utils.datasets import KAGGLE_SHA256

    found = next((r.records for r in results if "raw_synthetic" in r.records), None)
    if found is None:
        asked = params.get("RAW_DATA")
        text = ("Data: not known from this run: 01_ingest did not run in it, so the lab home "
                "holds the reviews of an earlier run")  # fmt: skip
        return "unknown", text + (f" (RAW_DATA={asked!r} was asked for)" if asked else "") + "."
    origin = found.get("raw_origin", "?")
    sha = str(found.get("raw_sha256") or "")
    if found.get("raw_synthetic"):
        return "synthetic", (
            "SYNTHETIC DATA: 01_ingest used reviews generated by the project (utils.datasets), "
            "not the course's: every count, chart, bias metric and accuracy below comes from "
            "them and is NOT the course's result. Run with -p RAW_DATA <path to the reviews CSV> "
            "(or place it in data/raw/) for the real data."
        )
    known = "the Kaggle original" if sha == KAGGLE_SHA256 else "the course's reviews"
    return "real", f"Data: {known} ({origin}; sha256 {sha[:12]}...)."


def _status(status: str) -> str:
    return f"<span class={_esc(status)}>{_esc(status)}</span>"


def _section(r: NotebookRun, figures: list[Figure], rendered: Path | None, run_dir: Path) -> str:
    parts = [f"<h2 id='{_esc(r.name)}'>{_esc(r.name)} &middot; {_status(r.status)} "
             f"<span class=muted>{r.seconds:.1f} s</span></h2>"]  # fmt: skip
    links = []
    if rendered is not None:
        links.append(f"<a href='{RENDERED}/{_esc(rendered.name)}'>executed notebook (HTML)</a>")
    if r.output is not None and r.output.exists():
        links.append(f"<a href='{_esc(r.output.relative_to(run_dir).as_posix())}'>.ipynb</a>")
    if links:
        parts.append("<p>" + " &middot; ".join(links) + "</p>")
    if r.error:
        parts.append(f"<div class=error>{_esc(r.error)}</div>")
    if r.status == "skipped":
        parts.append("<p class=muted>not run: an earlier notebook failed</p>")
    scalars = {k: v for k, v in r.records.items() if _is_scalar(v)}
    if scalars:
        rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_scalar(v)}</td></tr>"
                       for k, v in scalars.items())  # fmt: skip
        parts.append(f"<h3>Recorded values</h3><table>{rows}</table>")
    for name, value in r.records.items():
        if not _is_scalar(value):
            parts.append(_folded(name, value))
    for fig in figures:
        parts.append(
            f"<figure><a href='{_esc(fig.file)}'><img src='{_esc(fig.file)}' "
            f"alt='{_esc(fig.caption)}'></a>"
            f"<figcaption>{_esc(fig.caption)}</figcaption></figure>"
        )
    return "\n".join(parts)


def write_report(
    run_dir: Path,
    results: list[NotebookRun] | None = None,
    params: dict[str, Any] | None = None,
    render: bool = True,
) -> Path:
    """Write ``report.html`` (and ``figures/``, ``html/``) into ``run_dir``; returns its path.

    ``results`` and ``params`` default to what the run's ``summary.json`` says. With
    ``render=False`` the executed notebooks are linked as ``.ipynb`` only (no nbconvert).
    """
    run_dir = Path(run_dir)
    if results is None:
        results, stored = load_results(run_dir)
        params = stored if params is None else params
    params = params or {}
    sections, overview = [], []
    for r in results:
        has_output = r.output is not None and r.output.exists()
        figures = extract_figures(r.output, run_dir) if has_output else []
        rendered = render_notebook(r.output, run_dir) if has_output and render else None
        sections.append(_section(r, figures, rendered, run_dir))
        link = f"<a href='#{_esc(r.name)}'>{_esc(r.name)}</a>"
        overview.append(
            f"<tr><td>{link}</td><td>{_status(r.status)}</td><td class=num>{r.seconds:.1f} s</td>"
            f"<td class=num>{len(r.records)}</td><td class=num>{len(figures)}</td>"
            f"<td>{_esc(r.error or '')}</td></tr>"
        )
    total = sum(r.seconds for r in results)
    failed = [r.name for r in results if r.status == "failed"]
    verdict = (f"<span class=failed>failed in {_esc(failed[0])}</span>" if failed
               else "<span class=ok>all notebooks ran</span>")  # fmt: skip
    keys = key_figures(results)
    key_rows = "".join(f"<tr><td>{_esc(nb)}</td><th>{_esc(name)}</th><td>{_scalar(v)}</td></tr>"
                       for nb, name, v in keys)  # fmt: skip
    param_text = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "none (the defaults)"
    origin_kind, origin_text = data_origin(results, params)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lab run report: {_esc(run_dir.name)}</title><style>{CSS}</style></head>
<body>
<h1>Lab run report</h1>
<p class=muted>run <code>{_esc(run_dir.name)}</code> &middot; written {stamp} &middot;
Python {_esc(platform.python_version())} &middot; parameters: {_esc(param_text)}</p>
<div class="origin {origin_kind}" id=data-origin>{_esc(origin_text)}</div>
<p>{verdict}: {len(results)} notebook(s), {total:.1f} s in total.</p>
<table><tr><th>notebook</th><th>status</th><th>duration</th><th>recorded</th><th>figures</th>
<th>error</th></tr>
{"".join(overview)}
</table>
<h2>Key figures</h2>
{f"<table><tr><th>notebook</th><th>name</th><th>value</th></tr>{key_rows}</table>" if keys
 else "<p class=muted>no key figures recorded</p>"}
{"".join(sections)}
</body></html>
"""  # fmt: skip
    out = run_dir / REPORT
    out.write_text(page, encoding="utf-8")
    return out


# -- links a learner clicks in JupyterLab ------------------------------------------------------

# In the notebook's folder (the JupyterLab root, or below it): links to the lab home and to the
# runs, so that JupyterLab serves their files. `tasks.py lab` makes them when it starts the server;
# a notebook's kernel makes (or re-points) them when it shows a link. Git ignores them.
LAB_HOME_LINK = "lab-home"
RUNS_LINK = "runs"


def in_jupyter_server() -> bool:
    """Whether this kernel was started by a Jupyter server (JupyterLab), not papermill."""
    return bool(os.environ.get("JPY_SESSION_NAME"))


def ensure_link(link: Path, target: Path) -> bool:
    """Make ``link`` a symbolic link to ``target`` (re-pointed if it points elsewhere).

    False when it cannot be (a real file or folder has that name, or the file system refuses).
    No AWS equivalent: it makes a folder visible to JupyterLab.
    """
    target = Path(target).resolve()
    try:
        if link.is_symlink():
            if link.resolve() == target:
                return True
            spare = link.with_name(f".{link.name}.{os.getpid()}")
            spare.unlink(missing_ok=True)
            spare.symlink_to(target, target_is_directory=True)
            os.replace(spare, link)  # atomic: another kernel never sees no link
            return True
        if link.exists():
            return False
        link.symlink_to(target, target_is_directory=True)
        return True
    except OSError:
        return False


def jupyter_href(path: Path, link_name: str, target: Path, here: Path | None = None) -> str | None:
    """The link, relative to the notebook's folder, under which JupyterLab opens ``path``.

    Only in a kernel a Jupyter server started: ``path`` under the notebook's folder gives its
    relative path, else the link ``<folder>/<link_name>`` to ``target`` (made if needed) leads
    there. None elsewhere (papermill, scripts), where the caller shows the file's own location.
    """
    if not in_jupyter_server():
        return None
    here = (here or Path.cwd()).resolve()
    path = Path(path).resolve()
    if path.is_relative_to(here):
        return path.relative_to(here).as_posix() or "."
    target = Path(target).resolve()
    if not path.is_relative_to(target):
        return None
    if not ensure_link(here / link_name, target):
        return None
    return f"{link_name}/{path.relative_to(target).as_posix()}".rstrip("/")


@dataclass
class FileLink:
    """One file a notebook points to: what it is, where it is (an S3 URI or a path), a link."""

    label: str
    location: str
    href: str | None = None  # what JupyterLab (or a browser, for file://) opens
    path: Path | None = None  # the file on this machine (the lake's, or a downloaded copy)
    console: str | None = None  # the AWS console page of an S3 object
    note: str = ""


@dataclass
class FileLinks:
    """Links a notebook shows: one row per file, opened in JupyterLab with one click.

    In JupyterLab the link is relative to the notebook (``lab-home/...``, ``runs/...``):
    JupyterLab opens a notebook in a new tab and an HTML report in its HTML viewer. Elsewhere
    (papermill's output, the run report's copy of the notebook) it is the file's ``file://`` URI.
    """

    rows: list[FileLink] = field(default_factory=list)
    title: str = ""

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        lines = [self.title] if self.title else []
        for row in self.rows:
            lines.append(f"{row.label}: {row.location}")
            if row.href and not row.href.startswith("file:"):
                lines.append(f"    open in JupyterLab: {row.href}")
            elif row.path is not None:
                lines.append(f"    on this machine: {row.path}")
            if row.note:
                lines.append(f"    {row.note}")
        return "\n".join(lines) or "(no files)"

    def _repr_html_(self) -> str:
        out = [f"<p><b>{_esc(self.title)}</b></p>"] if self.title else []
        out.append('<ul class="lab-links mathjax_ignore" style="text-align: left; '
                   'list-style: none; padding-left: 0">')  # fmt: skip
        for row in self.rows:
            opens = []
            if row.href:
                name = row.href.rstrip("/").rsplit("/", 1)[-1]
                opens.append(f"<a class=lab-link href='{_esc(row.href)}'>{_esc(name)}</a>")
            if row.console:
                opens.append(f"<a href='{_esc(row.console)}' target=_blank rel=noopener>"
                             "AWS console</a>")  # fmt: skip
            if row.note:
                opens.append(f"<span style='opacity: .7'>{_esc(row.note)}</span>")
            out.append(f"<li style='margin: 0 0 .6em'><b>{_esc(row.label)}</b>: "
                       f"{' &middot; '.join(opens) or 'no link'}<br>"
                       f"<code style='font-size: 85%'>{_esc(row.location)}</code></li>")  # fmt: skip
        out.append("</ul>")
        return "".join(out)


def _label(name: str) -> str:
    """``DataExplorationNotebookLocation`` -> ``data exploration notebook``; a URI -> its file."""
    if "/" in name:
        return name.rstrip("/").rsplit("/", 1)[-1]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.removesuffix("Location")).strip()
    return words.lower() if words != name else name


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def links(lab: Any, files: dict[str, str] | list[str] | str, title: str = "") -> FileLinks:
    """Links to files a job wrote to S3 (Autopilot's notebooks, Clarify's report, ...).

    ``files``: ``{label: s3_uri}`` (e.g. the job's ``AutoMLJobArtifacts``), a list of URIs or
    one URI. Each row keeps the S3 URI, as the course shows it, and a link JupyterLab opens: on
    ``local`` to the lake's own file; on ``aws`` to a copy downloaded into the lab home
    (``<lab home>/downloads/<bucket>/<key>``), next to a link to the object in the S3 console.
    A URI ending in ``/`` is a folder. AWS equivalent: opening the object from the S3 console
    or Studio's file browser (the course's "Review ... S3 output data" links).
    """
    if isinstance(files, str):
        files = [files]
    items = list(files.items()) if isinstance(files, dict) else [(u, u) for u in files]
    out = FileLinks(title=title)
    for name, uri in items:
        label, uri = _label(str(name)), str(uri)
        row = FileLink(label, uri)
        if not uri.startswith("s3://"):
            row.note = "not an S3 URI"
            out.rows.append(row)
            continue
        bucket, key = _split_s3(uri)
        if lab.is_local:
            row.path = lab.local_path(uri)
            if not row.path.exists():
                row.note = "not in the lake (yet)"
        else:
            row.console = (f"https://s3.console.aws.amazon.com/s3/object/{bucket}"
                           f"?region={lab.region}&prefix={key}")  # fmt: skip
            if not key.endswith("/") and key:
                row.path = lab.home / "downloads" / bucket / key
                try:
                    row.path.parent.mkdir(parents=True, exist_ok=True)
                    lab.client("s3").download_file(bucket, key, str(row.path))
                    row.note = "a downloaded copy"
                except Exception as exc:  # noqa: BLE001 - the S3 URI stays; say why no copy
                    row.note = f"no copy: {exc}"
                    row.path = None
        if row.path is not None and row.path.exists():
            row.href = jupyter_href(row.path, LAB_HOME_LINK, lab.home) or row.path.as_uri()
        out.rows.append(row)
    return out


def run_reports(root: Path | None = None, limit: int = 3) -> FileLinks:
    """Links to the newest batch runs' reports (``runs/<timestamp>/report.html``), newest first.

    Each row says how the run went (from its ``summary.json``). In JupyterLab the link goes
    through ``runs/`` in the notebook's folder, and the report opens in JupyterLab's HTML
    viewer. No AWS equivalent: the project's own run report.
    """
    from utils.config import project_root

    runs = Path(root or project_root() / "runs")
    found = sorted(runs.glob("*/" + REPORT), key=lambda p: p.parent.name, reverse=True)
    out = FileLinks(title="" if found else
                    "no run report yet: `python3 tasks.py run` writes runs/<timestamp>/report.html")  # fmt: skip
    for page in [p for p in found if not p.parent.name.startswith("check-")][:limit]:
        try:
            summary = json.loads((page.parent / "summary.json").read_text(encoding="utf-8"))
            books = summary["notebooks"] if isinstance(summary, dict) else summary
            failed = [b["notebook"] for b in books if b["status"] == "failed"]
            how = f"failed in {failed[0]}" if failed else f"{len(books)} notebook(s) ran"
        except (OSError, ValueError, KeyError, TypeError):
            how = "no summary"
        href = jupyter_href(page, RUNS_LINK, runs) or page.as_uri()
        out.rows.append(FileLink(f"run {page.parent.name}", str(page), href, page, note=how))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m utils.report RUN_DIR``: rewrite a run's report from its files."""
    parser = argparse.ArgumentParser(prog="python -m utils.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("run_dir", type=Path, help="a run folder, e.g. runs/20250101-120000")
    parser.add_argument("--no-render", action="store_true", help="skip the nbconvert HTML")
    args = parser.parse_args(argv)
    try:
        path = write_report(args.run_dir, render=not args.no_render)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
