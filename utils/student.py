"""Student copies of the labs: exercises from ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers.

    python -m utils.student generate                  # notebooks/ -> student/ (the committed copies)
    python -m utils.student verify                    # exit 1 if student/ is out of sync
    python -m utils.student check student/01_ingest.ipynb -p RAW_DATA synthetic   # grade one

In a solution notebook (``notebooks/``) the code between the markers is the answer. The student
copy replaces it with the course's ``None`` placeholders, each with a ``# Replace None`` hint:

- ``NAME = <not a call>`` becomes ``NAME = None  # Replace None``;
- a call with arguments keeps the function and replaces every argument by ``None``, one per
  line (``wr.s3.to_csv(df=None,  # Replace None ...)``), in a statement or an assignment;
- markers around call arguments (inside the parentheses) blank just those arguments.

An exercise cell starts, after its own imports, with a guard: ``check_exercise("01_ingest", 1)``.
While a ``None  # Replace None`` is left in the cell, running it stops there with a short
message that names the exercise and the lines to finish (no stack trace), so "Run All" stops at
the first unfinished exercise. Notebooks without exercises are copied unchanged, so ``student/`` holds the
whole course.

``check`` grades a student's notebook: it runs the solution notebooks that come before it (in a
fresh lab home), then the solution and the student's notebook from copies of that lab home, and
compares the values each records with ``lab.record``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import datetime as dt
import inspect
import linecache
import math
import os
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from utils.config import project_root
from utils.errors import LabError, OneLineError, restore_ipython_tracebacks

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HINT = "# Replace None"
PLACEHOLDER = f"None  {HINT}"
GUARD_IMPORT = "from utils.student import check_exercise"
NOTE_ID_SUFFIX = "student-note"


class ExerciseError(LabError, ValueError):
    """The exercise markers in a solution notebook cannot be turned into a student copy."""


class ExerciseNotDone(OneLineError, RuntimeError):
    """A student ran an exercise cell that still has a ``None  # Replace None`` placeholder.

    A notebook shows its message alone, with no stack trace (:class:`OneLineError`).
    """


# -- the guard in student notebooks -------------------------------------------------------------


def _unfinished(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(line number, text) of every line whose code has ``None`` and whose comment is the hint."""
    found = []
    for number, line in lines:
        code, sep, comment = line.partition("#")
        if sep and comment.strip().startswith(HINT[1:].strip()) and re.search(r"\bNone\b", code):
            found.append((number, line.strip()))
    return found


def check_exercise(notebook: str, *exercises: int) -> None:
    """Stop the calling cell with a friendly message while it holds a ``None  # Replace None``.

    Called at the top of each exercise cell of a student copy. It reads the cell's own source
    (IPython keeps it for tracebacks) and looks at the lines below the call. Outside IPython, or
    when the source is not available, it does nothing. No AWS equivalent: a teaching aid.
    """
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    if caller is None:
        return
    filename = caller.f_code.co_filename
    linecache.checkcache(filename)  # a file edited since; IPython's cell entries are kept
    source = linecache.getlines(filename)
    start = caller.f_lineno
    del frame, caller
    todo = _unfinished(list(enumerate(source, start=1))[start:])
    if not todo:
        return
    restore_ipython_tracebacks()
    which = ", ".join(str(n) for n in exercises) or "?"
    plural = "s" if len(exercises) > 1 else ""
    numbers = ", ".join(str(n) for n, _ in todo)
    lines = "\n".join(f"    line {n}: {text}" for n, text in todo)
    raise ExerciseNotDone(
        f"exercise{plural} {which} of {notebook} {'are' if plural else 'is'} not finished yet: "
        f"replace each None marked '{HINT}' (line{'s' if len(todo) > 1 else ''} {numbers} of "
        f"this cell) with your code, as the text above the cell says, then run the cell "
        f"again.\n{lines}"
    )


# -- generating student copies -----------------------------------------------------------------


@dataclass
class Exercise:
    """One marked region of a solution cell."""

    cell: int
    begin: int  # line index of the BEGIN marker in the cell
    end: int  # line index of the END marker


def _segment(node: ast.AST, text: str) -> str:
    segment = ast.get_source_segment(text, node)
    if segment is None:  # pragma: no cover - every node parsed from text has a segment
        raise ExerciseError("cannot read back the source of a solution statement")
    return segment


def _call_placeholder(call: ast.Call, text: str, head: str) -> list[str]:
    lines = [f"{head}{_segment(call.func, text)}("]
    lines += [f"    None,  {HINT}"] * len(call.args)
    for kw in call.keywords:
        if kw.arg is None:  # **mapping: keep it, it is not the exercise
            lines.append(f"    **{_segment(kw.value, text)},")
        else:
            lines.append(f"    {kw.arg}=None,  {HINT}")
    lines.append(")")
    return lines


def _value_placeholder(value: ast.expr | None, text: str, head: str, targets: int = 1) -> list[str]:
    if isinstance(value, ast.Call) and (value.args or value.keywords):
        return _call_placeholder(value, text, head)
    nones = ", ".join(["None"] * targets)
    return [f"{head}{nones}  {HINT}"]


def _statement_placeholder(stmt: ast.stmt, text: str) -> list[str]:
    if isinstance(stmt, ast.Assign):
        head = " = ".join(_segment(t, text) for t in stmt.targets) + " = "
        last = stmt.targets[-1]
        count = len(last.elts) if isinstance(last, ast.Tuple | ast.List) else 1
        return _value_placeholder(stmt.value, text, head, count)
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        head = f"{_segment(stmt.target, text)}: {_segment(stmt.annotation, text)} = "
        return _value_placeholder(stmt.value, text, head)
    if isinstance(stmt, ast.AugAssign):
        op = _segment(stmt, text)[len(_segment(stmt.target, text)) :].split("=")[0].strip()
        return [f"{_segment(stmt.target, text)} {op}= {PLACEHOLDER}"]
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return _value_placeholder(stmt.value, text, "")
    return [f"{PLACEHOLDER} with your code"]


def placeholder_lines(solution: list[str], arguments: bool = False) -> list[str]:
    """The student's lines for the solution lines between one pair of markers.

    Whole statements become ``None`` placeholders (see the module docstring); with
    ``arguments=True`` the lines are a call's arguments (the markers sit inside its parentheses)
    and become ``name=None,  # Replace None``.
    """
    indent = min((len(s) - len(s.lstrip()) for s in solution if s.strip()), default=0)
    text = textwrap.dedent("\n".join(solution))
    pad = " " * indent
    if not arguments:
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            raise ExerciseError(
                f"the lines between the markers must be whole statements ({exc.msg}): "
                f"{text.strip()[:80]!r}"
            ) from None
        out: list[str] = []
        for stmt in tree.body:
            out += _statement_placeholder(stmt, text)
        return [pad + line for line in out]
    inner = f"f(\n{text}\n)"
    try:
        call = ast.parse(inner, mode="eval").body
    except SyntaxError as exc:
        raise ExerciseError(
            "the lines between markers inside parentheses must be call arguments "
            f"({exc.msg}): {text.strip()[:80]!r}"
        ) from None
    assert isinstance(call, ast.Call)
    return [pad + line.removeprefix("    ") for line in _call_placeholder(call, inner, "")[1:-1]]


def _inside_expression(source: str, begin: int, end: int) -> bool:
    """Whether marker lines ``begin``..``end`` (0-based) sit inside an expression (a call's
    parentheses) rather than between statements. IPython magics are blanked before parsing."""
    if source.lstrip().startswith("%%"):
        return False
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return False
    first, last = begin + 1, end + 1  # 1-based line numbers of the markers
    return any(
        isinstance(node, ast.expr) and node.lineno < first and (node.end_lineno or 0) > last
        for node in ast.walk(tree)
    )


def find_exercises(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Exercise]:
    """The marked regions of every code cell, in order; mismatched markers are an error."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        open_at: int | None = None
        for number, line in enumerate(cell.source.splitlines()):
            mark = line.strip()
            where = f"{name}, code cell {index} line {number + 1}"
            if mark.startswith(BEGIN):
                if open_at is not None:
                    raise ExerciseError(f"{where}: {BEGIN} inside another exercise")
                open_at = number
            elif mark.startswith(END):
                if open_at is None:
                    raise ExerciseError(f"{where}: {END} without {BEGIN}")
                if number == open_at + 1:
                    raise ExerciseError(f"{where}: no solution between the markers")
                found.append(Exercise(index, open_at, number))
                open_at = None
        if open_at is not None:
            raise ExerciseError(f"{name}, code cell {index}: {BEGIN} without {END}")
    return found


def _student_cell(source: str, regions: list[Exercise], numbers: list[int], name: str) -> str:
    lines = source.splitlines()
    out: list[str] = []
    pos = 0
    for region, number in zip(regions, numbers, strict=True):
        out += lines[pos : region.begin]
        pad = lines[region.begin][: len(lines[region.begin]) - len(lines[region.begin].lstrip())]
        out.append(f"{pad}### BEGIN EXERCISE {number}: replace each None marked '{HINT}'")
        inside = _inside_expression(source, region.begin, region.end)
        try:
            out += placeholder_lines(lines[region.begin + 1 : region.end], inside)
        except ExerciseError as exc:
            raise ExerciseError(f"{name}, code cell {region.cell}: {exc}") from None
        out.append(f"{pad}### END EXERCISE {number}")
        pos = region.end + 1
    out += lines[pos:]
    at = min(_after_leading_imports(source), regions[0].begin)
    numbers_text = ", ".join(str(n) for n in numbers)
    call = (
        f'check_exercise("{name}", {numbers_text})  # stops here until no None is left to replace'
    )
    head = list(out[:at])
    while head and not head[-1].strip():
        head.pop()
    imports = bool(head) and not head[-1].startswith("%%")
    guard = ([""] if imports else []) + [GUARD_IMPORT, "", call]
    rest = out[at:]
    if imports and rest and rest[0].strip():
        guard.append("")
    return "\n".join(head + guard + rest)


def _after_leading_imports(source: str) -> int:
    """Index of the first line after a cell's leading ``%%`` magic, comments and imports: the
    guard goes there, so that the cell's own imports stay at its top (ruff's E402)."""
    lines = source.splitlines()
    first = 1 if lines and lines[0].startswith("%%") else 0
    masked = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines]
    masked[:first] = [""] * first
    try:
        tree = ast.parse("\n".join(masked))
    except SyntaxError:
        return first
    end = first
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            break
        end = node.end_lineno or end
    return end


def _note(name: str, count: int) -> str:
    if count:
        todo = (
            f"This notebook has **{count} exercise{'s' if count > 1 else ''}**, between "
            "`### BEGIN EXERCISE` and `### END EXERCISE`: replace each `None` marked "
            f"`{HINT}` with your code. Until you do, running the cell stops at its first line "
            "with a message that says what is left."
        )
        todo += f" Grade your work with `python -m utils.student check student/{name}.ipynb`."
    else:
        todo = "This notebook has no exercises: run it as it is."
    return (
        f"> **Student copy** of `notebooks/{name}.ipynb`, generated by "
        "`python -m utils.student generate` (edits here are yours; the teacher regenerates the "
        f"folder from the solutions). {todo}"
    )


def student_notebook(path: Path) -> tuple[nbformat.NotebookNode, int]:
    """The student copy of the solution notebook at ``path``, and its number of exercises."""
    nb = nbformat.read(path, as_version=4)
    out = copy.deepcopy(nb)
    name = path.stem
    exercises = find_exercises(nb, path.name)
    by_cell: dict[int, list[Exercise]] = {}
    for ex in exercises:
        by_cell.setdefault(ex.cell, []).append(ex)
    number = 0
    for index, regions in by_cell.items():
        numbers = list(range(number + 1, number + 1 + len(regions)))
        number += len(regions)
        out.cells[index].source = _student_cell(nb.cells[index].source, regions, numbers, name)
    note = nbformat.v4.new_markdown_cell(_note(name, len(exercises)))
    note["id"] = f"{name.split('_')[0]}-{NOTE_ID_SUFFIX}"
    first_is_title = bool(out.cells) and out.cells[0].cell_type == "markdown"
    out.cells.insert(1 if first_is_title else 0, note)
    return out, len(exercises)


def render(path: Path) -> str:
    """The student copy of ``path`` as the exact text written to ``student/``."""
    nb, _ = student_notebook(path)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _solutions(src: Path | None) -> list[Path]:
    from utils.runner import discover

    return discover(src or project_root() / "notebooks")


def generate(src: Path | None = None, dest: Path | None = None) -> list[Path]:
    """Write the student copy of every numbered notebook in ``src`` into ``dest``.

    Defaults: ``notebooks/`` into ``student/``. Student copies whose solution is gone are
    removed. Returns the paths written.
    """
    dest = dest or project_root() / "student"
    dest.mkdir(parents=True, exist_ok=True)
    solutions = _solutions(src)
    written = []
    for path in solutions:
        target = dest / path.name
        text = render(path)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    keep = {p.name for p in solutions}
    for stale in dest.glob("*.ipynb"):
        if stale.name not in keep:
            stale.unlink()
    return written


def out_of_sync(src: Path | None = None, dest: Path | None = None) -> list[str]:
    """What differs between ``dest`` (``student/``) and a fresh generation from ``src``."""
    dest = dest or project_root() / "student"
    problems = []
    solutions = _solutions(src)
    for path in solutions:
        target = dest / path.name
        if not target.exists():
            problems.append(f"missing: {target}")
        elif target.read_text(encoding="utf-8") != render(path):
            problems.append(f"out of date: {target}")
    names = {p.name for p in solutions}
    if dest.is_dir():
        problems += [f"no solution for: {p}" for p in sorted(dest.glob("*.ipynb"))
                     if p.name not in names]  # fmt: skip
    return problems


# -- grading -----------------------------------------------------------------------------------


@dataclass
class Comparison:
    """One recorded value of the solution, compared with the student's."""

    name: str
    status: str  # "ok", "differs", "missing"
    detail: str = ""


@dataclass
class Grade:
    """The result of :func:`grade`: the comparisons and how the runs went."""

    notebook: str
    comparisons: list[Comparison] = field(default_factory=list)
    student_error: str | None = None
    solution_error: str | None = None
    out_dir: Path | None = None  # the executed copies

    @property
    def score(self) -> tuple[int, int]:
        """(values that match, values the solution records)."""
        return sum(c.status == "ok" for c in self.comparisons), len(self.comparisons)

    @property
    def passed(self) -> bool:
        ok, total = self.score
        return not self.student_error and not self.solution_error and ok == total


def _short(value: Any, width: int = 70) -> str:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return f"a table of {value.shape[0]} rows x {value.shape[1]} columns"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def same_value(expected: Any, actual: Any, rtol: float = 1e-6) -> str | None:
    """``None`` if two recorded values agree (floats within ``rtol``), else what differs."""
    import pandas as pd

    if isinstance(expected, pd.DataFrame) or isinstance(actual, pd.DataFrame):
        if not (isinstance(expected, pd.DataFrame) and isinstance(actual, pd.DataFrame)):
            return f"expected {_short(expected)}, got {_short(actual)}"
        if list(expected.columns) != list(actual.columns):
            return f"columns {list(actual.columns)}, expected {list(expected.columns)}"
        if expected.shape != actual.shape:
            return f"{actual.shape[0]} rows, expected {expected.shape[0]}"
        try:
            pd.testing.assert_frame_equal(
                expected.reset_index(drop=True), actual.reset_index(drop=True),
                check_dtype=False, check_exact=False, rtol=rtol,
            )  # fmt: skip
        except AssertionError as exc:
            first = str(exc).strip().splitlines()
            return "values differ: " + " ".join(first[:3])[:200]
        return None
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            return f"keys {sorted(actual)}, expected {sorted(expected)}"
        for key in expected:
            problem = same_value(expected[key], actual[key], rtol)
            if problem:
                return f"[{key!r}]: {problem}"
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"expected {_short(expected)}, got {_short(actual)} ({len(actual)} items)"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            problem = same_value(e, a, rtol)
            if problem:
                return f"[{i}]: {problem}"
        return None
    numbers = (int, float)
    if (
        isinstance(expected, numbers)
        and isinstance(actual, numbers)
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        if math.isclose(expected, actual, rel_tol=rtol, abs_tol=1e-12):
            return None
        return f"expected {expected!r}, got {actual!r}"
    if expected == actual:
        return None
    return f"expected {_short(expected)}, got {_short(actual)}"


def compare_records(
    expected: dict[str, Any], actual: dict[str, Any], ignore: set[str] | None = None
) -> list[Comparison]:
    """Compare every value the solution recorded with the student's value of the same name."""
    out = []
    for name, value in expected.items():
        if name in (ignore or set()):
            continue
        if name not in actual:
            out.append(Comparison(name, "missing", "not recorded by your notebook"))
            continue
        problem = same_value(value, actual[name])
        out.append(Comparison(name, "ok" if problem is None else "differs", problem or ""))
    return out


@contextlib.contextmanager
def _lab_home(path: Path) -> Iterator[None]:
    old = os.environ.get("LAB_HOME")
    os.environ["LAB_HOME"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LAB_HOME", None)
        else:
            os.environ["LAB_HOME"] = old


def grade(
    student: Path,
    params: dict[str, Any] | None = None,
    home: Path | None = None,
    ignore: set[str] | None = None,
    out_dir: Path | None = None,
    time_limit: float | None = None,
    say: Any = print,
) -> Grade:
    """Run ``student`` and its solution from the same lab state and compare what they record.

    The lab state: ``home`` copied, if given; else a fresh lab home where the solution notebooks
    numbered before ``student`` run first (the local backend unless ``params`` says otherwise).
    Executed copies go to ``out_dir`` (default ``runs/check-<timestamp>/``).
    """
    from utils import runner

    student = Path(student).resolve()
    solution = project_root() / "notebooks" / student.name
    if not solution.exists():
        raise SystemExit(f"{student.name}: no solution notebook {solution} to compare with")
    if not runner.NOTEBOOK_RE.match(student.name):
        raise SystemExit(f"{student}: expected a numbered notebook such as 01_ingest.ipynb")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = out_dir or project_root() / "runs" / f"check-{stamp}"
    params = dict(params or {})
    result = Grade(student.stem, out_dir=out_dir)
    with tempfile.TemporaryDirectory(prefix="lab-check-") as tmp:
        base = Path(tmp) / "lake"
        if home is not None:
            shutil.copytree(home, base)
            say(f"lab state: a copy of {home}")
        else:
            before = [p for p in runner.discover() if p.name < student.name]
            base.mkdir()
            with _lab_home(base):
                runs = runner.run(before, {**params, "LAB_HOME": str(base)}, out_dir / "before",
                                  progress=False, time_limit=time_limit)  # fmt: skip
            for r in runs:
                say(f"  prerequisite {r.name}: {r.status} ({r.seconds:.1f} s)")
                if r.status == "failed":
                    result.solution_error = f"prerequisite {r.name} failed: {r.error}"
                    return result
        recorded = {}
        for who, path in (("solution", solution), ("yours", student)):
            lake = Path(tmp) / f"lake-{who}"
            shutil.copytree(base, lake)
            with _lab_home(lake):
                (r,) = runner.run([path], {**params, "LAB_HOME": str(lake)}, out_dir / who,
                                  progress=False, time_limit=time_limit)  # fmt: skip
            say(f"  {who:<8} {path}: {r.status} ({r.seconds:.1f} s, {len(r.records)} recorded)")
            recorded[who] = r.records
            if r.status == "failed":
                if who == "solution":
                    result.solution_error = r.error
                    return result
                result.student_error = r.error
    result.comparisons = compare_records(recorded["solution"], recorded["yours"], ignore)
    return result


def _print_grade(result: Grade) -> None:
    marks = {"ok": "ok     ", "differs": "DIFFERS", "missing": "MISSING"}
    for c in result.comparisons:
        print(f"  {marks[c.status]} {c.name}" + (f": {c.detail}" if c.detail else ""))
    if result.solution_error:
        print(f"could not grade: the solution did not run: {result.solution_error}")
        return
    if result.student_error:
        print(f"your notebook stopped: {result.student_error}")
    ok, total = result.score
    verdict = "all done" if result.passed else "not yet"
    print(f"{result.notebook}: {ok}/{total} recorded values match the solution ({verdict})")
    print(f"executed copies (yours and the solution's): {result.out_dir}")


# -- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m utils.student generate | verify | check NOTEBOOK``."""
    from utils.runner import load_params

    parser = argparse.ArgumentParser(
        prog="python -m utils.student",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write student/ from the solutions in notebooks/")
    ver = sub.add_parser("verify", help="exit 1 if student/ differs from a fresh generation")
    for p in (gen, ver):
        p.add_argument("--src", type=Path, default=None, help="solutions (default notebooks/)")
        p.add_argument("--dest", type=Path, default=None, help="copies (default student/)")
    chk = sub.add_parser("check", help="grade a student's notebook against the solution")
    chk.add_argument("notebook", type=Path, help="the student's notebook, e.g. student/02_*.ipynb")
    chk.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="a parameter for both runs (e.g. -p RAW_DATA synthetic)")  # fmt: skip
    chk.add_argument("--params", help="a YAML file of NAME: value parameters")
    chk.add_argument("--backend", choices=["local", "aws"], help="sets BACKEND")
    chk.add_argument("--home", type=Path, help="start from a copy of this lab home instead of "
                     "running the earlier notebooks")  # fmt: skip
    chk.add_argument("--ignore", action="append", default=[], metavar="NAME",
                     help="a recorded value not to compare (e.g. a timestamped job name)")  # fmt: skip
    chk.add_argument("--time-limit", type=float, default=None, help="seconds per notebook")
    chk.add_argument("--out", type=Path, default=None, help="where the executed copies go")
    args = parser.parse_args(argv)

    try:
        if args.command == "generate":
            written = generate(args.src, args.dest)
            counts = [student_notebook(p)[1] for p in _solutions(args.src)]
            print(f"wrote {len(written)} student notebook(s) with {sum(counts)} exercise(s) "
                  f"into {args.dest or project_root() / 'student'}")  # fmt: skip
            return 0
        if args.command == "verify":
            problems = out_of_sync(args.src, args.dest)
            for problem in problems:
                print(problem)
            if problems:
                print("student/ is out of sync: run `python -m utils.student generate`")
                return 1
            print("student/ is in sync with notebooks/")
            return 0
    except ExerciseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.notebook.exists():
        print(f"error: {args.notebook}: no such notebook", file=sys.stderr)
        return 2
    params = load_params(args.params, args.parameter, args.backend)
    print(f"grading {args.notebook} against notebooks/{args.notebook.name}")
    result = grade(args.notebook, params, args.home, set(args.ignore), args.out, args.time_limit)
    _print_grade(result)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
