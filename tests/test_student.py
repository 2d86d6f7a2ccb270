"""Student copies: placeholders from the solution markers, the guard, the sync check, grading."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from utils import student
from utils.runner import discover

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"RAW_DATA": "synthetic", "SYNTHETIC_ROWS": 400}


def _lines(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").splitlines()


# -- placeholders ------------------------------------------------------------------------------


def test_an_assignment_becomes_a_none_placeholder():
    solution = _lines('''
        statement = f"""
        SELECT product_category, AVG(sentiment) AS avg_sentiment FROM {TABLE}
        """
    ''')
    assert student.placeholder_lines(solution) == ["statement = None  # Replace None"]


def test_a_call_keeps_its_function_and_loses_its_arguments():
    got = student.placeholder_lines(["    wr.s3.to_csv(df=df, path=uri, index=False)"])
    assert got == [
        "    wr.s3.to_csv(",
        "        df=None,  # Replace None",
        "        path=None,  # Replace None",
        "        index=None,  # Replace None",
        "    )",
    ]
    got = student.placeholder_lines(["df_balanced = bias.balance(df, by=BY, **extra)"])
    assert got == ["df_balanced = bias.balance(", "    None,  # Replace None",
                   "    by=None,  # Replace None", "    **extra,", ")"]  # fmt: skip


def test_tuples_no_argument_calls_and_other_statements():
    assert student.placeholder_lines(["a, b = f(1), 2"]) == ["a, b = None, None  # Replace None"]
    assert student.placeholder_lines(["x = lab.s3_uri()"]) == ["x = None  # Replace None"]
    assert student.placeholder_lines(["n += 1"]) == ["n += None  # Replace None"]
    assert student.placeholder_lines(["for x in y:", "    f(x)"]) == [
        "None  # Replace None with your code"
    ]


def test_markers_inside_a_call_blank_only_those_arguments():
    got = student.placeholder_lines(["    sql=statement,", "    database=DATABASE,"], True)
    assert got == ["    sql=None,  # Replace None", "    database=None,  # Replace None"]
    source = "df = read(\n    ### BEGIN SOLUTION\n    sql=s,\n    ### END SOLUTION\n    x=1,\n)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    (ex,) = student.find_exercises(nb)
    cell = student._student_cell(source, [ex], [1], "02_x")
    assert "    sql=None,  # Replace None\n    ### END EXERCISE 1\n    x=1," in cell
    compile(cell, "cell", "exec")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1", "BEGIN SOLUTION without ### END SOLUTION"),
        ("x = 1\n### END SOLUTION", "END SOLUTION without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx=1\n### END SOLUTION", "inside another"),
        ("### BEGIN SOLUTION\n### END SOLUTION", "no solution between"),
    ],
)
def test_broken_markers_are_named_with_cell_and_line(source, message):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"),
                                         nbformat.v4.new_code_cell(source)])  # fmt: skip
    with pytest.raises(student.ExerciseError, match=message) as err:
        student.find_exercises(nb, "07_x.ipynb")
    assert "07_x.ipynb, code cell 1" in str(err.value)


def test_a_block_that_is_not_code_is_a_clear_error():
    with pytest.raises(student.ExerciseError, match="whole statements"):
        student.placeholder_lines(["x = (1,"])


# -- generated notebooks -----------------------------------------------------------------------


def _solution(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 07 · A lab"),
        nbformat.v4.new_code_cell('BACKEND = "local"'),
        nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\ny = x + 1\n### END SOLUTION\nz = y"),
        nbformat.v4.new_code_cell("%%time\n### BEGIN SOLUTION\nw = 2\n### END SOLUTION"),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    (tmp_path / "src").mkdir()
    path = tmp_path / "src" / "07_lab.ipynb"
    nbformat.write(nb, path)
    return path


def test_student_copy_has_guard_numbered_exercises_and_a_note(tmp_path):
    path = _solution(tmp_path)
    nb, count = student.student_notebook(path)
    assert count == 2
    assert nb.cells[1].cell_type == "markdown" and "Student copy" in nb.cells[1].source
    assert "**2 exercises**" in nb.cells[1].source
    first = nb.cells[3].source
    assert first.splitlines()[:3] == [student.GUARD_IMPORT, "",
        'check_exercise("07_lab", 1)  # stops here until no None is left to replace']  # fmt: skip
    assert "### BEGIN EXERCISE 1:" in first and "y = None  # Replace None" in first
    assert "y = x + 1" not in first and first.endswith("### END EXERCISE 1\nz = y")
    magic = nb.cells[4].source.splitlines()
    assert magic[0] == "%%time" and magic[1] == student.GUARD_IMPORT
    assert 'check_exercise("07_lab", 2)' in magic[3]


def test_the_guard_goes_after_the_cells_own_imports():
    source = ("%matplotlib inline\nimport sagemaker\nfrom sagemaker.inputs import (\n    A,\n)\n"
              "### BEGIN SOLUTION\nuri = sagemaker.image_uris.retrieve(framework='x')\n"
              "### END SOLUTION\nuri")  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    cell = student._student_cell(source, student.find_exercises(nb), [1], "07_x")
    assert cell.splitlines()[4:9] == [")", "", student.GUARD_IMPORT, "",
        'check_exercise("07_x", 1)  # stops here until no None is left to replace']  # fmt: skip


def test_the_guard_adds_no_import_findings_to_ruff():
    """The student copies have no more E402/I001 findings than their solutions."""
    ruff = Path(sys.executable).with_name("ruff")

    def findings(folder: str) -> dict[str, list[str]]:
        done = subprocess.run([str(ruff), "check", "--select", "E402,I001", "--no-cache",
                               "--exit-zero", "--output-format", "json", str(ROOT / folder)],
                              capture_output=True, text=True, check=True)  # fmt: skip
        out: dict[str, list[str]] = {}
        for item in json.loads(done.stdout):
            out.setdefault(Path(item["filename"]).name, []).append(item["code"])
        return out

    solutions, copies = findings("notebooks"), findings("student")
    extra = {k: v for k, v in copies.items() if len(v) > len(solutions.get(k, []))}
    assert not extra, f"student copies with new import findings: {extra}"


def test_generate_and_verify_folders(tmp_path):
    path = _solution(tmp_path)
    dest = tmp_path / "student"
    dest.mkdir()
    (dest / "06_gone.ipynb").write_text("{}")
    written = student.generate(path.parent, dest)
    assert [p.name for p in written] == ["07_lab.ipynb"]
    assert not (dest / "06_gone.ipynb").exists()
    assert student.out_of_sync(path.parent, dest) == []
    (dest / "07_lab.ipynb").write_text("{}")
    assert student.out_of_sync(path.parent, dest) == [f"out of date: {dest / '07_lab.ipynb'}"]
    assert student.main(["verify", "--src", str(path.parent), "--dest", str(dest)]) == 1
    assert student.main(["generate", "--src", str(path.parent), "--dest", str(dest)]) == 0
    assert student.main(["verify", "--src", str(path.parent), "--dest", str(dest)]) == 0


def test_committed_student_copies_are_in_sync():
    problems = student.out_of_sync()
    assert not problems, (
        "student/ differs from the solutions in notebooks/: run "
        "`.venv/bin/python -m utils.student generate` and commit student/\n" + "\n".join(problems)
    )


def test_every_notebook_has_at_most_six_exercises_and_01_has_one():
    counts = {p.stem: student.student_notebook(p)[1] for p in discover()}
    assert all(n <= 6 for n in counts.values()), counts  # 07: data, channels, image, job, deploy
    assert counts["01_ingest"] >= 1 and counts["00_setup"] == 0


def test_student_copies_compile_and_keep_the_parameters_cell_first():
    for path in sorted((ROOT / "student").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path.name
        for cell in code:
            text = "\n".join("" if ln.lstrip().startswith("%") else ln
                             for ln in cell.source.splitlines())  # fmt: skip
            compile(text, f"{path.name}", "exec")
            assert "### BEGIN SOLUTION" not in cell.source


# -- the guard ---------------------------------------------------------------------------------


def test_check_exercise_stops_with_the_lines_to_finish(tmp_path):
    script = tmp_path / "cell.py"
    script.write_text(
        "from utils.student import check_exercise\n"
        'check_exercise("09_x", 2, 3)\n'
        "x = None  # Replace None\n"
        "y = f(\n    a=None,  # Replace None\n    b=1,  # Replace None\n)\n"
    )
    with pytest.raises(student.ExerciseNotDone) as err:
        runpy.run_path(str(script))
    message = str(err.value)
    assert message.startswith("exercises 2, 3 of 09_x are not finished yet")
    assert "line 3: x = None  # Replace None" in message
    assert "line 5: a=None,  # Replace None" in message and "b=1" not in message
    assert err.value._render_traceback_()[0].endswith(message)  # IPython shows no stack trace

    script.write_text("from utils.student import check_exercise\n"
                      'check_exercise("09_x", 1)\nx = 3  # Replace None\n')  # fmt: skip
    assert runpy.run_path(str(script))["x"] == 3


@pytest.mark.notebook
def test_the_message_stays_friendly_after_rich_replaced_the_tracebacks(tmp_path):
    """Importing the sagemaker SDK runs rich.traceback.install(); the guard undoes it."""
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nb.cells = [
        nbformat.v4.new_code_cell("from rich.traceback import install\n\ninstall()"),
        nbformat.v4.new_code_cell(
            student.GUARD_IMPORT + '\n\ncheck_exercise("06_x", 1)\nx = None  # Replace None'
        ),  # fmt: skip
    ]
    nbformat.write(nb, tmp_path / "06_x.ipynb")
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(tmp_path / "06_x.ipynb"), str(tmp_path / "out.ipynb"),
                                   kernel_name="python3", progress_bar=False)  # fmt: skip
    assert err.value.ename == "ExerciseNotDone" and err.value.exec_count == 2
    assert len(err.value.traceback) == 1 and "line 4: x = None" in err.value.traceback[0]


# -- running and grading -----------------------------------------------------------------------


def _solved(tmp_path: Path, code: str) -> Path:
    """student/01_ingest.ipynb with its exercise answered by ``code``."""
    nb = json.loads((ROOT / "student" / "01_ingest.ipynb").read_text())
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if "### BEGIN EXERCISE 1" in source:
            head, _, rest = source.partition("### BEGIN EXERCISE 1")
            _, _, tail = rest.partition("### END EXERCISE 1")
            cell["source"] = head + code + tail
    folder = tmp_path / "mine"
    folder.mkdir(parents=True)
    (folder / "01_ingest.ipynb").write_text(json.dumps(nb))
    return folder / "01_ingest.ipynb"


@pytest.mark.notebook
def test_unfinished_student_notebook_stops_friendly_and_grades_as_not_done(tmp_path, capsys):
    home = tmp_path / "empty-lake"
    home.mkdir()
    args = ["check", str(ROOT / "student" / "01_ingest.ipynb"), "--home", str(home),
            "--out", str(tmp_path / "out"), "-p", "RAW_DATA", "synthetic",
            "-p", "SYNTHETIC_ROWS", "400"]  # fmt: skip
    assert student.main(args) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[2] == ("exercise 1 · 5. Upload the transformed data: NOT DONE: its cell still has "
                      "None to replace")  # fmt: skip
    assert out[3].startswith(
        "    exercise 1 of 01_ingest is not finished yet: replace each None marked "
        "'# Replace None' (lines 7, 8, 9 of this cell)"
    )
    # the values no exercise changes are not scored: an untouched notebook scores 0 of 1
    assert out[-2] == "01_ingest: 0 of 1 exercises done (not yet)"
    assert not any("[IPKernelApp]" in line or "Traceback" in line for line in out)
    executed = nbformat.read(tmp_path / "out" / "yours" / "01_ingest.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert len(errors) == 1 and len(errors[0].traceback) == 1  # the message, no stack trace
    assert "line 7: df=None,  # Replace None" in errors[0].traceback[0]


@pytest.mark.notebook
def test_a_right_answer_written_differently_passes(tmp_path):
    home = tmp_path / "empty-lake"
    home.mkdir()
    right = _solved(tmp_path, "wr.s3.to_csv(df_transformed, transformed_uri, index=False)\n")
    result = student.grade(right, SMALL, home=home, out_dir=tmp_path / "ok", say=lambda _: None)
    assert result.passed, result.comparisons
    assert result.score == (1, 1)
    (exercise,) = result.exercises
    assert {c.name for c in exercise.comparisons} == {"objects", "transformed_columns"}
    assert len(result.others) >= 8 and all(c.status == "ok" for c in result.others)
    assert (tmp_path / "ok" / "yours" / "01_ingest.ipynb").exists()


@pytest.mark.notebook
def test_a_forgotten_index_false_names_the_exercise_and_the_extra_column(tmp_path):
    home = tmp_path / "empty-lake"
    home.mkdir()
    wrong = _solved(tmp_path, "wr.s3.to_csv(df=df_transformed, path=transformed_uri)\n")
    result = student.grade(wrong, SMALL, home=home, out_dir=tmp_path / "no", say=lambda _: None)
    assert not result.passed and result.score == (0, 1)
    lines = student.grade_lines(result)
    assert lines[0] == "exercise 1 · 5. Upload the transformed data: DIFFERS"
    assert ("    transformed_columns: expected ['sentiment', 'review_body', 'product_category'], "
            "yours ['Unnamed: 0', 'sentiment', 'review_body', 'product_category'] (4 items, "
            "expected 3; extra ['Unnamed: 0'])") in lines  # fmt: skip
    assert any(line.startswith("other recorded values (no exercise changes them): all ")
               for line in lines)  # fmt: skip


def test_each_recorded_value_belongs_to_the_exercises_its_code_depends_on():
    def values(name: str) -> dict:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        return student.exercise_values(nb, name)

    ingest = values("01_ingest")
    assert ingest["transformed_columns"] == ingest["objects"] == 1  # read back after the upload
    assert ingest["raw_rows"] is None and ingest["transformed_uri"] is None
    athena = values("02_explore_athena")
    assert athena["avg_sentiment_by_category"] == 1 and athena["count_reviews_by_category"] == 2
    assert athena["count_by_sentiment"] is None and athena["total_reviews"] is None
    autopilot = values("05_autopilot")
    assert autopilot["train_uri"] == 1 and autopilot["best_value"] == 2
    assert autopilot["candidates"] == 3 and autopilot["holdout_rows"] is None


@pytest.mark.parametrize("path", discover(), ids=lambda p: p.stem)
def test_every_exercise_is_shown_by_a_recorded_value(path):
    nb = nbformat.read(path, as_version=4)
    depends = student.exercise_dependencies(nb, path.name)
    count = len(student.find_exercises(nb, path.name))
    unshown = [n for n in range(1, count + 1) if not any(n in d for d in depends.values())]
    assert not unshown, f"{path.name}: record a value that shows exercise(s) {unshown}"


def test_a_differing_table_shows_its_first_rows_side_by_side_and_a_hint():
    import pandas as pd

    solution = pd.DataFrame({"product_category": ["Jeans", "Pants", "Dresses"],
                             "avg_sentiment": [0.9, 0.7, 0.5]})  # fmt: skip
    what, rows = student.compare_value(solution, solution.iloc[::-1])
    assert what.startswith("the same rows, in another order (check ORDER BY")
    assert rows[0].split() == ["expected", "(the", "solution)", "yours"]
    assert rows[1].split() == ["row", "product_category", "avg_sentiment"] * 1 + [
        "product_category", "avg_sentiment"]  # fmt: skip
    assert rows[2].split() == ["0", "Jeans", "0.9", "Dresses", "0.5"]
    what, rows = student.compare_value(solution, solution.rename(columns={"avg_sentiment": "a"}))
    assert "(check the names after AS)" in what and "extra ['a']" in what
    what, rows = student.compare_value(solution, solution.head(2))
    assert what.startswith("2 rows, expected 3") and rows[-1].split()[:2] == ["2", "Dresses"]
    assert "(no such row)" in rows[-1]
    changed = solution.assign(avg_sentiment=[0.9, 0.7, 0.6])
    what, rows = student.compare_value(solution, changed)
    assert what == "values differ in 1 of 3 rows" and rows[2].split()[0] == "2"
    assert (
        student.compare_value(solution, solution.assign(avg_sentiment=[0.9, 0.7, 0.5 + 1e-9]))
        is None
    )


def test_compare_records_tolerates_float_noise_and_reports_what_differs():
    import pandas as pd

    frame = pd.DataFrame({"category": ["a", "b"], "avg": [0.5, 0.25]})
    expected = {"rows": 10, "avg": 0.1 + 0.2, "df": frame, "names": ["x"], "seed": 1}
    actual = {"rows": 11, "avg": 0.3, "df": frame.assign(avg=[0.5, 0.3]), "names": ["x"],
              "columns": ["Unnamed: 0", "sentiment"]}  # fmt: skip
    expected["columns"] = ["sentiment"]  # what wr.s3.to_csv without index=False leaves
    got = {c.name: (c.status, c.detail) for c in student.compare_records(expected, actual)}
    assert got["rows"] == ("differs", "expected 10, yours 11")
    assert got["avg"] == ("ok", "") and got["names"] == ("ok", "")
    assert got["df"] == ("differs", "values differ in 1 of 2 rows")
    (table,) = [c for c in student.compare_records(expected, actual) if c.name == "df"]
    assert table.rows[1].split() == ["row", "category", "avg", "category", "avg"]
    assert table.rows[2].split() == ["1", "b", "0.25", "b", "0.3"]
    assert got["seed"] == ("missing", "not recorded by your notebook")
    assert got["columns"] == ("differs", "expected ['sentiment'], yours ['Unnamed: 0', "
                              "'sentiment'] (2 items, expected 1; extra ['Unnamed: 0'])")  # fmt: skip
    assert "seed" not in {c.name for c in student.compare_records(expected, actual, {"seed"})}
