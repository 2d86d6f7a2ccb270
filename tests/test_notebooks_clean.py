"""Notebooks are committed without outputs, with one parameters cell first, as DESIGN.md says."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from utils.runner import discover

NOTEBOOKS = discover()


def test_there_are_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:2] == ["00_setup", "01_ingest"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} cell {i} has outputs: run nbstripout"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


def test_nbstripout_would_change_nothing():
    nbstripout = Path(sys.executable).with_name("nbstripout")
    args = [str(nbstripout), "--verify", *map(str, NOTEBOOKS)]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, f"run nbstripout on: {done.stdout}{done.stderr}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_first_with_upper_case_constants(path: Path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    assert code[0] is tagged[0], f"{path.name}: the parameters cell is the first code cell"
    tree = ast.parse(tagged[0].source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign), f"{path.name}: only assignments in parameters"
        names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    assert "BACKEND" in names
    assert all(n.isupper() for n in names), f"{path.name}: parameters are UPPER_CASE: {names}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
