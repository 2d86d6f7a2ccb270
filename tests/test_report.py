"""The HTML run report: content from executed notebooks, files next to it, and a real browser."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from utils import records, report
from utils.runner import NotebookRun, write_summary

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or $CHROMIUM_PATH; None if absent."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), "/usr/bin/chromium"):  # fmt: skip
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _png(color: str) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _record(name, value):
    payload = {"name": name, "value": records.to_jsonable(value)}
    return nbformat.v4.new_output("display_data", data={records.MIME: payload,
                                                        "text/plain": name})  # fmt: skip


def _executed(path: Path, cells: list[tuple[str, list]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    for i, (source, outputs) in enumerate(cells, start=1):
        nb.cells.append(nbformat.v4.new_code_cell(source, outputs=outputs, execution_count=i))
    nbformat.write(nb, path)
    return path


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A finished run: one notebook ok with records and figures, one failed, one skipped."""
    run = tmp_path / "20250101-120000"
    run.mkdir()
    counts = pd.DataFrame({"sentiment": [-1, 0, 1], "count_sentiment": [2370, 2823, 17433]})
    leaderboard = pd.DataFrame({"candidate": [f"job-{i:03d}" for i in range(40)],
                                "accuracy": [0.6 - i / 1000 for i in range(40)]})  # fmt: skip
    ok = _executed(run / "03_visualize.ipynb", [
        ("x = 1", [_record("rows_kept", 22626), _record("holdout_accuracy", 0.6131),
                   _record("note", "<script>alert(1)</script>")]),
        ("df", [_record("count_by_sentiment", counts), _record("leaderboard", leaderboard),
                _record("sentiment_counts", {"-1": 2370, "0": 2823, "1": 17433})]),
        ('images["count_by_sentiment"] = plots.save_figure(lab, fig, "count_by_sentiment")\nfig',
         [nbformat.v4.new_output("display_data", data={"image/png": _png("red")})]),
        ("fig", [nbformat.v4.new_output("display_data", data={"image/png": _png("blue")})]),
    ])  # fmt: skip
    failed = _executed(run / "04_detect_bias.ipynb", [
        ("x = 1", [_record("rows", 22626)]),
        ("boom()", [nbformat.v4.new_output("error", ename="NameError", evalue="boom",
                                           traceback=["NameError: boom"])]),
    ])  # fmt: skip
    results = [
        NotebookRun("03_visualize", "ok", 16.04, ok),
        NotebookRun("04_detect_bias", "failed", 2.5, failed, "cell [2]: NameError: boom"),
        NotebookRun("05_autopilot", "skipped"),
    ]
    for r in results:
        if r.output:
            r.records = records.read_records(r.output)
    write_summary(results, run, {"RAW_DATA": "synthetic"})
    return run


def test_report_shows_status_records_tables_and_figures(run_dir):
    path = report.write_report(run_dir, render=False)
    page = path.read_text()
    assert path == run_dir / "report.html"
    assert "<span class=failed>failed in 04_detect_bias</span>: 3 notebook(s), 18.5 s" in page
    assert "16.0 s" in page and "cell [2]: NameError: boom" in page and "not run" in page
    assert "RAW_DATA=&#x27;synthetic&#x27;" in page
    # key figures: row counts and the holdout accuracy, at the top
    top = page.split("<h2 id=")[0]
    assert "<th>rows_kept</th><td>22,626</td>" in top and "<th>holdout_accuracy</th>" in top
    # query results and the leaderboard as tables, long ones folded
    assert "<td class=num>17,433</td>" in page
    # a long table is folded under its name and size; a click shows every row
    assert ("<details><summary><code>leaderboard</code> <span class=muted>40 rows x 2 columns "
            "(click to show)</span></summary>") in page  # fmt: skip
    assert page.count("job-039") == 1 and "<h3><code>count_by_sentiment</code></h3>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    figures = sorted(p.name for p in (run_dir / "figures").iterdir())
    assert figures == ["03_visualize-03.png", "03_visualize-04.png"]
    assert "<figcaption>count_by_sentiment</figcaption>" in page
    assert "<figcaption>cell [4]</figcaption>" in page
    assert "href='03_visualize.ipynb'" in page


def test_report_command_renders_the_notebooks_as_html(run_dir, capsys):
    assert report.main([str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {run_dir / 'report.html'}"
    page = (run_dir / "report.html").read_text()
    for name in ("03_visualize", "04_detect_bias"):
        assert f"href='html/{name}.html'" in page
        rendered = (run_dir / "html" / f"{name}.html").read_text()
        assert "cdnjs.cloudflare.com/ajax/libs/require.js" not in rendered  # opens offline
    assert report.main([str(run_dir / "nope")]) == 2


@pytest.mark.slow
def test_report_in_headless_chromium(run_dir):
    """It loads, its images load, and every link resolves (Chromium from Debian's packages)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    page_path = report.write_report(run_dir)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda req: failed.append(req.url))
            page.goto(page_path.as_uri(), wait_until="load")
            assert page.title() == "Lab run report: 20250101-120000"
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
            )
            assert len(images) == 2 and all(done and width == 40 for _, done, width in images)
            links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            probe = browser.new_page()
            probe.on("requestfailed", lambda req: failed.append(req.url))
            assert len(links) >= 5
            for link in links:
                if "#" in link:
                    anchor = link.split("#", 1)[1]
                    assert page.locator(f"[id='{anchor}']").count() == 1, link
                    continue
                assert link.startswith(run_dir.as_uri()), f"{link} leaves the run folder"
                response = probe.goto(link, wait_until="load")  # raises if the file is missing
                assert response is not None and response.ok, link
                if link.endswith("04_detect_bias.html"):
                    assert "NameError" in probe.content()
            assert failed == [], f"requests that failed: {failed}"
        finally:
            browser.close()


def test_load_results_reads_the_first_runner_format(tmp_path):
    _executed(tmp_path / "00_setup.ipynb", [("x", [_record("backend", "local")])])
    summary = [{"notebook": "00_setup", "status": "ok", "seconds": 1.5,
                "output": str(tmp_path / "00_setup.ipynb"), "error": None}]  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    results, params = report.load_results(tmp_path)
    assert params == {} and results[0].records == {"backend": "local"}


def _origin_run(tmp_path: Path, synthetic: bool) -> Path:
    run = tmp_path / ("synthetic" if synthetic else "real")
    run.mkdir()
    sha = "bd93cc515747ad1f87b8bc863c9e40da758509e6db6506a96d06976e61e36ee0"  # the Kaggle file's
    nb = _executed(run / "01_ingest.ipynb", [
        ("source.announce()", [_record("raw_origin", "synthetic" if synthetic else "local file"),
                               _record("raw_synthetic", synthetic),
                               _record("raw_sha256", "ab" * 32 if synthetic else sha)]),
        ("summary", [_record("num_words_summary", {
            "count": 10.0, "mean": 60.5, "std": 3.0, "min": 2.0, "10%": 20.0, "20%": 30.0,
            "100%": 115.0, "50%": 59.0, "90%": 100.0, "max": 115.0})]),
    ])  # fmt: skip
    r = NotebookRun("01_ingest", "ok", 4.0, nb)
    r.records = records.read_records(nb)
    write_summary([r], run, {})
    return run


def test_the_header_says_where_the_data_came_from(tmp_path):
    page = report.write_report(_origin_run(tmp_path, True), render=False).read_text()
    head = page.split("<h2")[0]
    assert '<div class="origin synthetic" id=data-origin>SYNTHETIC DATA: 01_ingest used' in head
    assert "NOT the course&#x27;s result" in head
    page = report.write_report(_origin_run(tmp_path, False), render=False).read_text()
    assert '<div class="origin real" id=data-origin>Data: the Kaggle original (local file;' in page
    runs = [NotebookRun("02_explore_athena", "ok", 1.0)]
    kind, text = report.data_origin(runs, {"RAW_DATA": "synthetic"})
    assert kind == "unknown" and "01_ingest did not run" in text and "'synthetic'" in text


def test_percentiles_read_in_numeric_order(tmp_path):
    """The notebook file stores dict keys sorted as text (10%, 100%, 20%): the report does not."""
    page = report.write_report(_origin_run(tmp_path, True), render=False).read_text()
    keys = re.findall(r"<tr><td>(count|mean|std|min|max|\d+%)</td>", page)
    assert keys == ["count", "mean", "std", "min", "10%", "20%", "50%", "90%", "100%", "max"]
    assert report.natural_order(["b", "a"]) == ["b", "a"]  # other dicts keep their order
    assert report.natural_order(["10", "-1", "0"]) == ["-1", "0", "10"]


def test_a_progress_bar_renders_as_its_last_state(tmp_path):
    """tqdm's text bar in papermill's output: one stream output per update, each starting with a
    carriage return; the HTML shows the bar once (its last state) and every line between."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("track()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=f"\rjob: {n}/3 done")
                    for n in range(3)]  # fmt: skip
    cell.outputs.insert(2, nbformat.v4.new_output("stream", name="stdout",
                                                  text="candidate 1: Accuracy 0.69\n"))  # fmt: skip
    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="\rjob: 3/3 done\n"))
    nb.cells.append(cell)
    path = tmp_path / "05_autopilot.ipynb"
    nbformat.write(nb, path)
    body = report.render_notebook(path, tmp_path).read_text()
    assert body.count("candidate 1: Accuracy 0.69") == 1
    assert "3/3 done" in body and "0/3 done" not in body
    assert body.count("/3 done") == 2  # the bar before the candidate's line, and after it
