"""tasks.py, as a learner and a teacher type it: help without .venv, the grading command from a
shell whose `python` is not the venv's, nbstripout's git filter, working copies and the reset.

The repository-changing commands (the filter, copy, reset) run in a scratch clone made of
tasks.py, the pins and a few notebooks, with LAB_VENV pointing at this checkout's .venv.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
SYSTEM_PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p).is_dir())


def _system_python() -> str:
    """A python3 that is not the venv's (the one a fresh shell finds)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", shutil.which("python3")):
        if candidate and Path(candidate).is_file() and not Path(candidate).is_relative_to(VENV):
            return candidate
    pytest.skip("no python3 outside the venv")


def _shell_env(**extra: str) -> dict[str, str]:
    """A shell's environment without the venv: JupyterLab's terminal runs a login shell, whose
    /etc/profile sets PATH anew."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = SYSTEM_PATH
    env.update(extra)
    return env


def _tasks(root: Path = ROOT):
    spec = importlib.util.spec_from_file_location(f"tasks_{abs(hash(root))}", root / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lab_and_run_help_print_without_making_the_venv(tmp_path):
    python = _system_python()
    venv = tmp_path / "no-venv-yet"
    for command, words in (("lab", ["--student", "--copy NAME", "--allow-root", "passes through to `jupyter lab`"]),
                           ("run", ["--only", "--time-limit", "-p NAME VALUE"])):  # fmt: skip
        done = subprocess.run([python, "tasks.py", command, "--help"], cwd=ROOT, text=True,
                              capture_output=True, env=_shell_env(LAB_VENV=str(venv)),
                              timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"usage: python3 tasks.py {command}")
        assert all(w in done.stdout for w in words), done.stdout
        assert "[tasks]" not in done.stdout and not venv.exists()


@pytest.mark.notebook
def test_the_grading_command_as_a_student_types_it(tmp_path):
    """`python3 tasks.py check 01_ingest` from a shell whose python has none of the pins."""
    python = _system_python()
    plain = subprocess.run([python, "-c", "import rich"], capture_output=True, env=_shell_env())
    assert plain.returncode != 0  # this shell's python is not the venv's
    served = tmp_path / "served"  # the folder JupyterLab serves (its terminal sets the variable)
    served.mkdir()
    shutil.copy(ROOT / "student" / "01_ingest.ipynb", served / "01_ingest.ipynb")
    args = [python, "tasks.py", "check", "01_ingest", "-p", "RAW_DATA", "synthetic",
            "-p", "SYNTHETIC_ROWS", "300", "--out", str(tmp_path / "out")]  # fmt: skip
    done = subprocess.run(args, cwd=ROOT, text=True, capture_output=True, timeout=600,
                          env=_shell_env(JUPYTER_SERVER_ROOT=str(served)))  # fmt: skip
    out = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    assert out[0] == f"grading {served / '01_ingest.ipynb'} against notebooks/01_ingest.ipynb"
    assert out[1].startswith("running 00_setup (the notebooks before), the solution and yours")
    assert out[2] == ("exercise 1 · 5. Upload the transformed data: NOT DONE: its cell still has "
                      "None to replace")  # fmt: skip
    assert out[-2] == "01_ingest: 0 of 1 exercises done (not yet)"
    assert "ModuleNotFoundError" not in done.stderr and "[IPKernelApp]" not in done.stderr
    assert done.stderr.strip() == ""


def test_check_finds_a_notebook_by_name_in_the_served_folder(tmp_path, monkeypatch):
    tasks = _tasks()
    monkeypatch.delenv("JUPYTER_SERVER_ROOT", raising=False)
    assert tasks.find_notebook("02_explore_athena") == ROOT / "student" / "02_explore_athena.ipynb"
    assert tasks.find_notebook("02") == ROOT / "student" / "02_explore_athena.ipynb"
    assert tasks.find_notebook("notebooks/02_explore_athena.ipynb") == (
        ROOT / "notebooks" / "02_explore_athena.ipynb")  # fmt: skip
    copy = tmp_path / "alice"
    copy.mkdir()
    (copy / "02_explore_athena.ipynb").write_text("{}")
    monkeypatch.setenv("JUPYTER_SERVER_ROOT", str(copy))
    assert tasks.find_notebook("02_explore_athena.ipynb") == copy / "02_explore_athena.ipynb"
    with pytest.raises(SystemExit, match="no such notebook"):
        tasks.find_notebook("08_nothing")


@pytest.fixture
def clone(tmp_path) -> Path:
    """A scratch git clone: tasks.py, the pins, two notebooks and their student copies."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    for name in ("tasks.py", "requirements.txt", "pyproject.toml", ".gitignore"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    for folder in ("notebooks", "student"):
        (root / folder).mkdir()
        for name in ("00_setup.ipynb", "01_ingest.ipynb"):
            shutil.copy(ROOT / folder / name, root / folder / name)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "as committed"], check=True)
    return root


def _run_tasks(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = _shell_env(LAB_VENV=str(VENV))
    env.pop("LAB_HOME", None)
    return subprocess.run([_system_python(), "tasks.py", *args], cwd=root, env=env, text=True,
                          capture_output=True, timeout=300)  # fmt: skip


def _with_outputs(path: Path) -> None:
    """What JupyterLab saves after a run: outputs, execution counts, new metadata."""
    nb = nbformat.read(path, as_version=4)
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = n + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
        cell.metadata["execution"] = {"iopub.status.busy": "2025-01-01T00:00:00Z"}
    nbformat.write(nb, path)


def test_setup_installs_nbstripout_filter_so_saved_outputs_never_show_in_git(clone):
    done = _run_tasks(clone, "setup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "set up nbstripout's git filter" in done.stdout
    git = ["git", "-C", str(clone)]
    config = subprocess.run([*git, "config", "--get", "filter.nbstripout.clean"],
                            capture_output=True, text=True).stdout  # fmt: skip
    assert str(VENV) in config and "-m nbstripout" in config
    for folder in ("notebooks", "student"):
        _with_outputs(clone / folder / "01_ingest.ipynb")
    # git diff sees nothing; `git add` stores each as committed (git status may list a file whose
    # size changed until then: git compares sizes before it runs the filter)
    diff = subprocess.run([*git, "diff", "--stat"], capture_output=True, text=True)
    assert diff.stdout == "", diff.stdout
    subprocess.run([*git, "add", "notebooks", "student"], check=True)
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == "", status.stdout
    # a real edit still shows, without the outputs
    nb = nbformat.read(clone / "student" / "01_ingest.ipynb", as_version=4)
    nb.cells[0].source += "\nmy note"
    nbformat.write(nb, clone / "student" / "01_ingest.ipynb")
    diff = subprocess.run([*git, "diff"], capture_output=True, text=True).stdout
    assert "my note" in diff and '"ran' not in diff and 'execution_count": 1' not in diff
    assert _run_tasks(clone, "setup").stdout == ""  # once is enough: nothing to say again


def test_a_working_copy_per_student_and_a_reset_of_what_a_class_touched(clone):
    done = _run_tasks(clone, "copy", "alice")
    assert done.returncode == 0, done.stderr
    copy = clone / "workshop" / "alice"
    assert sorted(p.name for p in copy.iterdir()) == ["00_setup.ipynb", "01_ingest.ipynb", "lake"]
    assert (copy / "01_ingest.ipynb").read_bytes() == (
        clone / "student" / "01_ingest.ipynb"
    ).read_bytes()
    assert "python3 tasks.py lab --copy alice" in done.stdout
    assert _run_tasks(clone, "copy", "alice").returncode != 0  # the student's work is kept
    assert _run_tasks(clone, "copy", "alice", "--fresh").returncode == 0
    assert _run_tasks(clone, "copy", "bob", "--solutions").returncode == 0
    tasks = _tasks(clone)
    folder, rest = tasks.lab_folder(["--copy", "alice", "--port", "8801"])
    assert folder == copy and rest == ["--port", "8801"]
    assert tasks.lab_command(["--student"])[3] == str(clone / "student")
    # JupyterLab's links: to the lab home and the runs; a copy's own lake needs none
    assert tasks.make_links(clone / "student", clone / "data" / "lake") == [
        clone / "student" / "lab-home", clone / "student" / "runs"]  # fmt: skip
    assert tasks.make_links(copy, copy / "lake") == [copy / "runs"]

    # what a class leaves behind
    (clone / "data" / "lake" / "s3").mkdir(parents=True)
    (clone / "data" / "raw").mkdir(parents=True)
    (clone / "data" / "raw" / "reviews.csv").write_text("keep me")
    (clone / "student" / ".ipynb_checkpoints").mkdir()
    (clone / "student" / "Untitled.ipynb").write_text("{}")
    (clone / "student" / "05_mine.ipynb").write_text("{}")
    nb = json.loads((clone / "student" / "00_setup.ipynb").read_text())
    nb["cells"][0]["source"] = ["# my edits"]
    (clone / "student" / "00_setup.ipynb").write_text(json.dumps(nb))
    git_status = ["git", "-C", str(clone), "status", "--porcelain", "--untracked-files=all"]
    assert subprocess.run(git_status, capture_output=True, text=True).stdout  # not clean

    listed = _run_tasks(clone, "reset")
    assert listed.returncode == 0 and "run `python3 tasks.py reset --yes` to do it" in listed.stdout
    assert (clone / "data" / "lake").exists() and copy.exists()  # only listed
    done = _run_tasks(clone, "reset", "--yes")
    assert done.returncode == 0, done.stderr
    for gone in ("data/lake", "workshop/alice", "workshop/bob", "student/lab-home", "student/runs",
                 "student/.ipynb_checkpoints", "student/05_mine.ipynb", "student/Untitled.ipynb"):  # fmt: skip
        assert not (clone / gone).exists() and not (clone / gone).is_symlink(), gone
    assert (clone / "data" / "raw" / "reviews.csv").read_text() == "keep me"
    assert not (clone / "student" / "Untitled.ipynb").exists()  # a class's scratch notebook
    assert subprocess.run(git_status, capture_output=True, text=True).stdout == ""  # as committed
    assert _run_tasks(clone, "reset").stdout.startswith("nothing to reset")
