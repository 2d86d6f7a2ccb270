"""The HTML report of a batch run: ``runs/<timestamp>/report.html``, written by the runner.

One self-contained page (no network, no scripts): every notebook's status and duration; the key
figures the notebooks recorded with ``lab.record`` (row counts, query results as tables, bias
metrics, the Autopilot leaderboard and holdout accuracy when a notebook records them); the
figures the notebooks displayed, saved as PNG files next to the report; and links to each
executed notebook, rendered as HTML with nbconvert.

    python -m utils.report runs/20250101-120000    # (re)write the report of a finished run
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import json
import math
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from utils.records import read_records
from utils.runner import NotebookRun

REPORT = "report.html"
FIGURES = "figures"
RENDERED = "html"
MAX_ROWS = 25  # table rows shown before "show all"
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
    neither, and the report must open without a network.
    """
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_filename(str(notebook))
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


def _frame(df: pd.DataFrame) -> str:
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
    if len(df) <= MAX_ROWS:
        return table(df) + shape
    return (table(df.head(MAX_ROWS)) + f"<details><summary>show all {len(df):,} rows</summary>"
            + table(df) + "</details>")  # fmt: skip


def value_html(value: Any) -> str:
    """A recorded value as HTML: tables for DataFrames and flat dicts, text for the rest."""
    if isinstance(value, pd.Series):
        value = value.reset_index()
    if isinstance(value, pd.DataFrame):
        return _frame(value)
    if isinstance(value, dict) and value and all(_is_scalar(v) for v in value.values()):
        return _frame(pd.DataFrame({"key": list(value), "value": list(value.values())}))
    if isinstance(value, list) and all(_is_scalar(v) for v in value) and len(value) <= 12:
        return ", ".join(_scalar(v) for v in value) or "<span class=muted>(empty)</span>"
    if _is_scalar(value):
        return _scalar(value)
    text = json.dumps(value, indent=1, default=str)
    return f"<pre>{_esc(text if len(text) < 4000 else text[:4000] + ' ...')}</pre>"


def key_figures(results: list[NotebookRun]) -> list[tuple[str, str, Any]]:
    """(notebook, name, value) of the scalar records that sum a run up: row counts, accuracy."""
    out = []
    for r in results:
        for name, value in r.records.items():
            if _is_scalar(value) and KEY_NAME.search(name):
                out.append((r.name, name, value))
    return out


# -- the page ----------------------------------------------------------------------------------


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
            parts.append(f"<h3><code>{_esc(name)}</code></h3>{value_html(value)}")
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
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lab run report: {_esc(run_dir.name)}</title><style>{CSS}</style></head>
<body>
<h1>Lab run report</h1>
<p class=muted>run <code>{_esc(run_dir.name)}</code> &middot; written {stamp} &middot;
Python {_esc(platform.python_version())} &middot; parameters: {_esc(param_text)}</p>
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
