"""Student copies of the labs: exercises from ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers.

    .venv/bin/python -m utils.student generate        # notebooks/ -> student/ (the committed copies)
    .venv/bin/python -m utils.student verify          # exit 1 if student/ is out of sync
    python3 tasks.py check 01_ingest -p RAW_DATA synthetic   # grade one (any shell: tasks.py
                                                             # runs this module's check from .venv)

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
compares the values each records with ``lab.record``, exercise by exercise: a value belongs to
the exercises its code depends on (:func:`exercise_dependencies`), and values no exercise changes
are not scored.
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
from collections.abc import Callable, Iterator
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
        todo += (f" To grade your work, type `python3 tasks.py check {name}` in a terminal in the "
                 "repository's top folder (JupyterLab's *File ▸ New ▸ Terminal* opens there).")  # fmt: skip
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


# -- which recorded values show each exercise ---------------------------------------------------

# a call whose function's name starts so writes outside the kernel (S3, a job): inside an
# exercise, every later call that reads may see its effect
_WRITE_VERBS = ("upload", "to_", "put", "write", "create", "delete", "fit", "run", "deploy",
                "start", "copy", "save", "store")  # fmt: skip
_COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_record(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "record"
            and isinstance(func.value, ast.Name) and func.value.id == "lab")  # fmt: skip


class _Flow:
    """Which exercise each recorded value depends on, read from the solution's code.

    A name assigned in an exercise depends on it; so does anything computed from such a name,
    an object whose method gets it, and, once a write outside the kernel (an upload, a job's
    ``fit`` or ``run``) is an exercise's or a statement's of its own whose inputs depend on one,
    the result of every later call. A value ``lab.record`` records depends on the exercises
    found so; one that depends on none is not part of any exercise.
    """

    def __init__(self) -> None:
        self.taint: dict[str, set[int]] = {}
        self.world: set[int] = set()
        self.records: dict[str, set[int]] = {}

    def expr(self, node: ast.AST | None) -> set[int]:
        if node is None:
            return set()
        out: set[int] = set()
        calls = False
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                out |= self.taint.get(sub.id, set())
            calls = calls or isinstance(sub, ast.Call)
        return out | (self.world if calls else set())

    def assign(self, target: ast.AST, value: set[int]) -> None:
        if isinstance(target, ast.Name):
            self.taint[target.id] = set(value)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self.assign(element, value)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value)
        else:  # x.attr = ..., x[key] = ...: x changes
            root = _root_name(target)
            if root:
                self.taint.setdefault(root, set()).update(value)

    def statement(self, stmt: ast.stmt, regions: Callable[[int, int], set[int]],
                  inherited: set[int]) -> None:  # fmt: skip
        if isinstance(stmt, _COMPOUND):
            body = getattr(stmt, "body", [])
            head_end = (body[0].lineno - 1) if body else (stmt.end_lineno or stmt.lineno)
            head = regions(stmt.lineno, max(stmt.lineno, head_end)) | inherited
            for part in ("iter", "test"):
                head |= self.expr(getattr(stmt, part, None))
            for item in getattr(stmt, "items", []):
                head |= self.expr(item.context_expr)
            if isinstance(stmt, ast.For | ast.AsyncFor):
                self.assign(
                    stmt.target, head | self.taint.get(_root_name(stmt.target) or "", set())
                )
            children = [*body, *getattr(stmt, "orelse", []), *getattr(stmt, "finalbody", [])]
            for handler in getattr(stmt, "handlers", []):
                children += handler.body
            for child in children:
                self.statement(child, regions, head)
            return
        own = regions(stmt.lineno, stmt.end_lineno or stmt.lineno) | inherited
        if own - inherited:  # an exercise's own statement: does it write outside the kernel?
            if any(isinstance(n, ast.Call) and _call_name(n).startswith(_WRITE_VERBS)
                   for n in ast.walk(stmt)):  # fmt: skip
                self.world |= own - inherited
        if isinstance(stmt, ast.Assign):
            value = own | self.expr(stmt.value)
            for target in stmt.targets:
                self.assign(target, value)
        elif isinstance(stmt, ast.AugAssign | ast.AnnAssign):
            value = own | self.expr(stmt.value) | self.expr(stmt.target)
            self.assign(stmt.target, value)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if _is_record(call):
                args = list(call.args) + [k.value for k in call.keywords]
                if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                    value = own | self.expr(args[1] if len(args) > 1 else None)
                    self.records.setdefault(args[0].value, set()).update(value)
                return
            value = own | self.expr(call)
            root = _root_name(call.func)
            if root and isinstance(call.func, ast.Attribute):  # obj.method(...) may change obj
                self.taint.setdefault(root, set()).update(value)
            if _call_name(call).startswith(_WRITE_VERBS):  # automl.fit(...): a job, an upload
                self.world |= value


def _masked(source: str) -> str:
    """A cell's source with IPython magics and shell escapes blanked (same line numbers)."""
    lines = source.splitlines()
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)


def exercise_dependencies(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[str, set[int]]:
    """Each value the solution records -> the exercises (1, 2, ...) it depends on (see
    :class:`_Flow`): ``avg_sentiment_by_category`` in 02 on exercise 1's query;
    ``count_by_sentiment``, recorded before any exercise, on none."""
    exercises = find_exercises(nb, name)
    flow = _Flow()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        mine = [(n, ex) for n, ex in enumerate(exercises, start=1) if ex.cell == index]

        def regions(first: int, last: int, mine: list = mine) -> set[int]:
            # markers at 0-based lines ex.begin..ex.end; statements at 1-based first..last
            return {n for n, ex in mine if first <= ex.end + 1 and last >= ex.begin + 1}

        try:
            tree = ast.parse(_masked(cell.source))
        except SyntaxError:
            continue
        for stmt in tree.body:
            flow.statement(stmt, regions, set())
    return flow.records


def exercise_values(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[str, int | None]:
    """Each value the solution records -> the exercise it shows (the last it depends on), or
    None for a value no exercise changes."""
    return {k: max(v) if v else None for k, v in exercise_dependencies(nb, name).items()}


def exercise_titles(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[int, str]:
    """Exercise number -> the heading above its cell (``4.3 Average sentiment per ...``)."""
    titles = {}
    for number, ex in enumerate(find_exercises(nb, name), start=1):
        for cell in reversed(nb.cells[: ex.cell]):
            if cell.cell_type != "markdown":
                continue
            headings = [ln.lstrip("#").strip() for ln in cell.source.splitlines()
                        if ln.startswith("#")]  # fmt: skip
            if headings:
                titles[number] = headings[-1]
                break
    return titles


# -- grading -----------------------------------------------------------------------------------


@dataclass
class Comparison:
    """One recorded value of the solution, compared with the student's."""

    name: str
    status: str  # "ok", "differs", "missing"
    detail: str = ""
    rows: list[str] = field(default_factory=list)  # the first differing rows, side by side


@dataclass
class ExerciseGrade:
    """One exercise: the values that show it, compared, and what that says."""

    number: int
    title: str
    comparisons: list[Comparison] = field(default_factory=list)
    status: str = "ok"  # "ok", "differs", "not done", "not run", "no value"
    why: str = ""


@dataclass
class Grade:
    """The result of :func:`grade`: each exercise, the other values, and how the runs went."""

    notebook: str
    comparisons: list[Comparison] = field(default_factory=list)
    student_error: str | None = None
    solution_error: str | None = None
    out_dir: Path | None = None  # the executed copies
    exercises: list[ExerciseGrade] = field(default_factory=list)
    others: list[Comparison] = field(default_factory=list)  # values no exercise changes

    @property
    def score(self) -> tuple[int, int]:
        """(exercises done, exercises); for a notebook without any: (values that match, values)."""
        if self.exercises:
            return sum(e.status == "ok" for e in self.exercises), len(self.exercises)
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


SHOW_ROWS = 3  # differing rows shown side by side
CELL_WIDTH = 28


def _cell(value: Any) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


def side_by_side(expected: Any, actual: Any, positions: list[int]) -> list[str]:
    """The rows at ``positions`` of two tables as text: row, the solution's, then yours."""
    left = [[_cell(v) for v in expected.iloc[i]] if i < len(expected) else [] for i in positions]
    right = [[_cell(v) for v in actual.iloc[i]] if i < len(actual) else [] for i in positions]
    lw = [max([len(str(c))] + [len(r[k]) for r in left if k < len(r)])
          for k, c in enumerate(expected.columns)]  # fmt: skip
    rw = [max([len(str(c))] + [len(r[k]) for r in right if k < len(r)])
          for k, c in enumerate(actual.columns)]  # fmt: skip

    def line(cells: list[str], widths: list[int]) -> str:
        if not cells:
            return "(no such row)".ljust(sum(widths) + 2 * max(0, len(widths) - 1))
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))

    head_l = line([str(c) for c in expected.columns], lw)
    head_r = line([str(c) for c in actual.columns], rw)
    width = max(len(head_l), len("expected (the solution)"))
    out = [f"{'':5}{'expected (the solution)':<{width}}   yours",
           f"{'row':<5}{head_l:<{width}}   {head_r}"]  # fmt: skip
    for i, lrow, rrow in zip(positions, left, right, strict=True):
        out.append(f"{i:<5}{line(lrow, lw):<{width}}   {line(rrow, rw)}")
    return out


def _frame_difference(expected: Any, actual: Any, rtol: float) -> tuple[str, list[str]] | None:
    """None if two tables agree; else (what differs, in one line; the first rows side by side)."""
    import numpy as np
    import pandas as pd

    e, a = expected.reset_index(drop=True), actual.reset_index(drop=True)
    if list(e.columns) != list(a.columns):
        extra = [c for c in a.columns if c not in e.columns]
        gone = [c for c in e.columns if c not in a.columns]
        hint = (" (check the names after AS)" if len(e.columns) == len(a.columns) and extra
                else "")  # fmt: skip
        what = f"columns {list(a.columns)}, expected {list(e.columns)}{hint}"
        if extra or gone:
            what += f": extra {extra}, missing {gone}" if extra and gone else (
                f": extra {extra}" if extra else f": missing {gone}")  # fmt: skip
        return what, side_by_side(e, a, list(range(min(SHOW_ROWS, max(len(e), len(a))))))

    def equal_rows(x: pd.DataFrame, y: pd.DataFrame) -> list[bool]:
        same = np.ones(min(len(x), len(y)), dtype=bool)
        for col in x.columns:
            xs, ys = x[col].iloc[: len(same)], y[col].iloc[: len(same)]
            try:
                xf, yf = xs.astype(float).to_numpy(), ys.astype(float).to_numpy()
                ok = np.isclose(xf, yf, rtol=rtol, atol=1e-12) | (np.isnan(xf) & np.isnan(yf))
            except (TypeError, ValueError):
                ok = xs.astype(str).to_numpy() == ys.astype(str).to_numpy()
            same &= ok
        return list(same)

    rows = equal_rows(e, a)
    if len(e) == len(a) and all(rows):
        return None
    differing = [i for i, ok in enumerate(rows) if not ok] + list(
        range(len(rows), max(len(e), len(a)))
    )
    shown = side_by_side(e, a, differing[:SHOW_ROWS])
    if len(e) != len(a):
        return f"{len(a):,} rows, expected {len(e):,} (check WHERE, GROUP BY and LIMIT)", shown
    key = [str(c) for c in e.columns]
    try:
        se = e.astype(str).sort_values(key).reset_index(drop=True)
        sa = a.astype(str).sort_values(key).reset_index(drop=True)
        reordered = se.equals(sa) or all(equal_rows(
            e.sort_values(list(e.columns)).reset_index(drop=True),
            a.sort_values(list(a.columns)).reset_index(drop=True)))  # fmt: skip
    except (TypeError, ValueError):
        reordered = False
    if reordered:
        return "the same rows, in another order (check ORDER BY: the column and ASC/DESC)", shown
    return f"values differ in {len(differing):,} of {len(e):,} rows", shown


def compare_value(expected: Any, actual: Any, rtol: float = 1e-6) -> tuple[str, list[str]] | None:
    """None if two recorded values agree (floats within ``rtol``); else (what differs, the first
    differing rows side by side for tables)."""
    import pandas as pd

    if isinstance(expected, pd.DataFrame) or isinstance(actual, pd.DataFrame):
        if not (isinstance(expected, pd.DataFrame) and isinstance(actual, pd.DataFrame)):
            return f"expected {_short(expected)}, yours is {_short(actual)}", []
        return _frame_difference(expected, actual, rtol)
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            extra = sorted(set(actual) - set(expected), key=str)
            gone = sorted(set(expected) - set(actual), key=str)
            return f"keys {sorted(actual, key=str)}, expected {sorted(expected, key=str)}" + (
                f" (extra {extra}, missing {gone})"), []  # fmt: skip
        for key in expected:
            found = compare_value(expected[key], actual[key], rtol)
            if found:
                return f"[{key!r}]: {found[0]}", found[1]
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            extra = [v for v in actual if v not in expected]
            gone = [v for v in expected if v not in actual]
            hint = f"; extra {_short(extra, 40)}" if extra else ""
            hint += f"; missing {_short(gone, 40)}" if gone else ""
            return (f"expected {_short(expected)}, yours {_short(actual)} ({len(actual)} items, "
                    f"expected {len(expected)}{hint})"), []  # fmt: skip
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found = compare_value(e, a, rtol)
            if found:
                return f"[{i}]: {found[0]}", found[1]
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
        return f"expected {expected!r}, yours {actual!r}", []
    if expected == actual:
        return None
    return f"expected {_short(expected)}, yours {_short(actual)}", []


def same_value(expected: Any, actual: Any, rtol: float = 1e-6) -> str | None:
    """``None`` if two recorded values agree (floats within ``rtol``), else what differs."""
    found = compare_value(expected, actual, rtol)
    return None if found is None else found[0]


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
        found = compare_value(value, actual[name])
        if found is None:
            out.append(Comparison(name, "ok"))
        else:
            out.append(Comparison(name, "differs", found[0], found[1]))
    return out


_STOPPED_AT = re.compile(r"ExerciseNotDone: exercises? ([\d, ]+) of ")


def grade_exercises(
    solution: nbformat.NotebookNode, comparisons: list[Comparison], student_error: str | None,
    name: str = "notebook",
) -> tuple[list[ExerciseGrade], list[Comparison]]:  # fmt: skip
    """Group the comparisons by exercise (see :func:`exercise_values`); the rest apart."""
    depends = exercise_dependencies(solution, name)
    owner = {k: max(v) if v else None for k, v in depends.items()}
    titles = exercise_titles(solution, name)
    count = len(find_exercises(solution, name))
    stopped = _STOPPED_AT.search(student_error or "")
    not_done = {int(n) for n in stopped.group(1).split(",")} if stopped else set()
    first_stop = min(not_done) if not_done else None
    grades = [ExerciseGrade(n, titles.get(n, "")) for n in range(1, count + 1)]
    others = []
    for c in comparisons:
        number = owner.get(c.name)
        (grades[number - 1].comparisons if number else others).append(c)
    for g in grades:
        if not g.comparisons:  # shown by a later exercise's values (the image, then the job)
            g.comparisons = [c for c in comparisons if g.number in depends.get(c.name, set())]
        statuses = {c.status for c in g.comparisons}
        if g.number in not_done:
            g.status, g.why = "not done", "its cell still has None to replace"
        elif first_stop is not None and g.number > first_stop:
            g.status, g.why = "not run", f"your notebook stopped at exercise {first_stop}"
        elif not g.comparisons:
            g.status, g.why = "no value", "the solution records no value that shows it"
        elif statuses == {"ok"}:
            g.status = "ok"
        elif statuses <= {"ok", "missing"} and student_error:
            g.status, g.why = "not run", "your notebook stopped before recording its values"
        else:
            g.status = "differs"
    return grades, others


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
    Executed copies go to ``out_dir`` (default ``runs/check-<timestamp>/``). ``say`` gets one
    line: what runs.
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
    before = [] if home is not None else [p for p in runner.discover() if p.name < student.name]
    first = f"{', '.join(p.stem for p in before)} (the notebooks before), " if before else ""
    say(f"running {first}the solution and yours, each in a fresh lab home: a minute or two")
    with tempfile.TemporaryDirectory(prefix="lab-check-") as tmp:
        base = Path(tmp) / "lake"
        if home is not None:
            shutil.copytree(home, base)
        else:
            base.mkdir()
            with _lab_home(base):
                runs = runner.run(before, {**params, "LAB_HOME": str(base)}, out_dir / "before",
                                  progress=False, time_limit=time_limit)  # fmt: skip
            for r in runs:
                if r.status == "failed":
                    result.solution_error = f"{r.name}, which runs first, failed: {r.error}"
                    return result
        recorded = {}
        for who, path in (("solution", solution), ("yours", student)):
            lake = Path(tmp) / f"lake-{who}"
            shutil.copytree(base, lake)
            with _lab_home(lake):
                (r,) = runner.run([path], {**params, "LAB_HOME": str(lake)}, out_dir / who,
                                  progress=False, time_limit=time_limit)  # fmt: skip
            recorded[who] = r.records
            if r.status == "failed":
                if who == "solution":
                    result.solution_error = r.error
                    return result
                result.student_error = r.error
    result.comparisons = compare_records(recorded["solution"], recorded["yours"], ignore)
    nb = nbformat.read(solution, as_version=4)
    result.exercises, result.others = grade_exercises(
        nb, result.comparisons, result.student_error, solution.name
    )
    return result


_MARKS = {"ok": "ok", "differs": "DIFFERS", "not done": "NOT DONE", "not run": "NOT RUN",
          "no value": "NOT GRADED"}  # fmt: skip


def grade_lines(result: Grade) -> list[str]:
    """What ``check`` prints: each exercise and its values, the score, where the copies are."""
    lines: list[str] = []
    if result.solution_error:
        return [f"could not grade: the solution did not run: {result.solution_error}"]

    def values(comparisons: list[Comparison], indent: str = "    ") -> None:
        for c in comparisons:
            if c.status == "ok":
                continue
            lines.append(f"{indent}{c.name}: {c.detail or c.status}")
            lines.extend(f"{indent}  {row}".rstrip() for row in c.rows)

    for g in result.exercises:
        title = f" · {g.title}" if g.title else ""
        names = ", ".join(c.name for c in g.comparisons)
        head = f"exercise {g.number}{title}: {_MARKS[g.status]}"
        if g.status == "ok":
            head += f" ({names})"
        elif g.why:
            head += f": {g.why}"
        lines.append(head)
        if g.status == "differs":
            values(g.comparisons)
        if g.status == "not done" and result.student_error:
            lines.append("    " + result.student_error.split("ExerciseNotDone: ", 1)[-1])
    if result.student_error and not any(g.status == "not done" for g in result.exercises):
        lines.append(f"your notebook stopped: {result.student_error}")
    others = result.others if result.exercises else result.comparisons
    wrong = [c for c in others if c.status != "ok"]
    if result.exercises and others:
        if not wrong:
            lines.append(
                f"other recorded values (no exercise changes them): all {len(others)} match"
            )
        elif not result.student_error:
            lines.append(f"other recorded values (no exercise changes them): {len(wrong)} of "
                         f"{len(others)} differ; did a cell change outside the exercises?")  # fmt: skip
            values(wrong, "  ")
    elif not result.exercises:
        values(wrong, "  ")
    ok, total = result.score
    verdict = "all done" if result.passed else "not yet"
    what = "exercises done" if result.exercises else "recorded values match the solution"
    lines.append(f"{result.notebook}: {ok} of {total} {what} ({verdict})")
    lines.append(f"executed copies: {result.out_dir} (yours/ and solution/)")
    return lines


def _print_grade(result: Grade) -> None:
    print("\n".join(grade_lines(result)))


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
                print("student/ is out of sync: run `.venv/bin/python -m utils.student generate`")
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
