"""The batch runner's command line: parameters, selection, time limit, failures, run folder."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from utils import runner
from utils.records import read_records


def _notebook(folder: Path, name: str, *cells: str, params: str = 'BACKEND = "local"') -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    first = nbformat.v4.new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, nbformat.v4.new_code_cell("from utils.records import record")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_yaml_problems_are_one_clear_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("SEED: [1\n")
    with pytest.raises(SystemExit, match=r"bad.yaml: not valid YAML"):
        runner.load_params(str(tmp_path / "bad.yaml"), None, None)
    (tmp_path / "names.yaml").write_text("raw data: x\n")
    with pytest.raises(SystemExit, match="identifiers"):
        runner.load_params(str(tmp_path / "names.yaml"), None, None)
    with pytest.raises(SystemExit, match="cannot read it"):
        runner.load_params(str(tmp_path / "missing.yaml"), None, None)


def test_timeouts_give_each_cell_what_is_left_of_the_notebook_limit():
    assert runner._timeouts(None, None)(None) is None
    assert runner._timeouts(30, None)(None) == 30
    limit = runner._timeouts(30, 10)
    assert 9 <= limit(None) <= 10
    assert runner._timeouts(5, 100)(None) == 5
    ran_out = runner._timeouts(None, 0.01)
    time.sleep(0.05)
    assert ran_out(None) == 1  # never 0: nbclient reads 0 as "no timeout"


@pytest.mark.notebook
def test_parameters_selection_failure_and_run_folder(tmp_path, capsys):
    books = tmp_path / "books"
    _notebook(books, "00_first", 'record("backend", BACKEND)\nrecord("seed", SEED)',
              params='BACKEND = "local"\nSEED = 1')  # fmt: skip
    _notebook(books, "01_boom", "x = 1", 'raise ValueError("no reviews under s3://b/data/")')
    _notebook(books, "02_never", "pass")
    (tmp_path / "p.yaml").write_text("SEED: 5\nUNUSED: 1\n")
    out = tmp_path / "run"
    code = runner.main(["--notebooks", str(books), "--params", str(tmp_path / "p.yaml"),
                        "-p", "SEED", "7", "--backend", "aws", "--out", str(out),
                        "--no-report"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"FAILED: 01_boom.ipynb, cell [5]: ValueError: no reviews "
                       f"under s3://b/data/ (executed copy: {out / '01_boom.ipynb'})")  # fmt: skip
    # -p wins over the YAML file; each notebook gets only the parameters it declares
    assert read_records(out / "00_first.ipynb") == {"backend": "aws", "seed": 7}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["params"] == {"SEED": 7, "UNUSED": 1, "BACKEND": "aws"}
    assert [(n["notebook"], n["status"]) for n in summary["notebooks"]] == [
        ("00_first", "ok"), ("01_boom", "failed"), ("02_never", "skipped")]  # fmt: skip
    assert not (out / "02_never.ipynb").exists()

    assert runner.main(["--notebooks", str(books), "--only", "02", "--out",
                        str(tmp_path / "run2"), "--no-report"]) == 0  # fmt: skip
    done = json.loads((tmp_path / "run2" / "summary.json").read_text())["notebooks"]
    assert [n["notebook"] for n in done] == ["02_never"]


@pytest.mark.notebook
def test_a_notebook_over_its_time_limit_fails_with_the_cell(tmp_path, capsys):
    books = tmp_path / "books"
    _notebook(books, "00_slow", "import time", "time.sleep(60)", "print('never')")
    start = time.monotonic()
    code = runner.main(["--notebooks", str(books), "--time-limit", "4",
                        "--out", str(tmp_path / "run"), "--no-report"])  # fmt: skip
    assert code == 1 and time.monotonic() - start < 40
    err = capsys.readouterr().err
    assert "FAILED: 00_slow.ipynb, cell [4]: still running when the notebook's " \
           "time limit (4 s) ran out" in err  # fmt: skip


def test_the_error_line_survives_a_replaced_traceback_display(tmp_path):
    """rich's IPython hook shows errors as display output: read the failed cell instead."""
    from nbclient.exceptions import CellExecutionError

    cell = nbformat.v4.new_code_cell("lab.require('05_autopilot')", execution_count=2)
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/plain": "\x1b[31m│ in <module>:9 │\x1b[0m\n\x1b[1;91mValueError: \x1b[0mrequire('05')"
            },
        )
    ]
    cell.metadata["papermill"] = {"status": "failed", "exception": True}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", execution_count=1), cell])
    nbformat.write(nb, tmp_path / "06.ipynb")
    exc = CellExecutionError("", "CellExecutionError", "")
    assert runner._error_line(exc, tmp_path / "06.ipynb", None) == (
        "cell [2]: ValueError: require('05')")  # fmt: skip
    assert runner._error_line(exc, None, None) == "a cell: CellExecutionError: (no message)"


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(SystemExit):
        runner.main(["--time-limit", "0"])
    with pytest.raises(SystemExit):
        runner.main(["--notebooks", str(tmp_path / "nope")])


@pytest.mark.notebook
def test_the_01_lab_with_a_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAB_HOME", str(tmp_path / "lake"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = tmp_path / "run"
    code = runner.main(["--only", "01", "-p", "RAW_DATA", "synthetic",
                        "-p", "SYNTHETIC_ROWS", "300", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "all 1 notebook(s) ran" in printed and f"report: {out / 'report.html'}" in printed
    assert read_records(out / "01_ingest.ipynb")["raw_rows"] == 300
    page = (out / "report.html").read_text()
    assert "01_ingest" in page and "raw_rows" in page and "href='html/01_ingest.html'" in page
    assert (out / "html" / "01_ingest.html").stat().st_size > 10_000


def test_tasks_lab_opens_the_notebooks_or_the_student_copies():
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("tasks", root / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    plain = tasks.lab_command(["--port", "8801"])
    student = tasks.lab_command(["--student", "--port", "8801"])
    assert plain[1:] == ["lab", "--notebook-dir", str(root / "notebooks"), "--port", "8801"]
    assert student[1:] == ["lab", "--notebook-dir", str(root / "student"), "--port", "8801"]
    assert Path(student[3], "00_setup.ipynb").exists() and Path(plain[3], "00_setup.ipynb").exists()
