#!/usr/bin/env python3
"""The project's two commands, runnable on a fresh machine with only Python 3.11 and git.

    python3 tasks.py run  [runner options]   # run every notebook in order, headless (papermill)
    python3 tasks.py test [pytest options]   # run the test suite
    python3 tasks.py lab [--student]         # open the notebooks (or the student copies) in JupyterLab

Each creates the virtual environment ``.venv`` on first use and installs ``requirements.txt``
into it; later calls reuse it, and reinstall only when ``requirements.txt`` changes.
Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LAB_VENV", ROOT / ".venv"))
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _say(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


def _digest() -> str:
    blob = REQUIREMENTS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    return hashlib.sha256(blob).hexdigest()


def ensure_venv() -> None:
    """Create .venv if needed and install requirements.txt when it changed."""
    if sys.version_info[:2] != (3, 11):
        _say(f"warning: the pins are tested on Python 3.11; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        _say(f"creating the virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    if STAMP.exists() and STAMP.read_text().strip() == _digest():
        return
    _say("installing requirements.txt into .venv (first run: a few minutes)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "install", "-r", str(REQUIREMENTS)], check=True, cwd=ROOT)
    subprocess.run([*pip, "check"], check=True, cwd=ROOT)
    STAMP.write_text(_digest() + "\n")


def _run(args: list[str]) -> int:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    commands = {"run", "test", "lab", "setup"}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv()
    if command == "setup":
        return 0
    if command == "run":
        return _run([str(PYTHON), "-m", "utils.runner", *rest])
    if command == "test":
        code = _run([str(PYTHON), "-m", "pytest", *rest])
        return code
    return _run(lab_command(rest))


def lab_command(rest: list[str]) -> list[str]:
    """``jupyter lab`` on notebooks/, or on student/ with ``--student`` (other options pass on)."""
    folder = "student" if "--student" in rest else "notebooks"
    rest = [a for a in rest if a != "--student"]
    return [str(BIN / "jupyter"), "lab", "--notebook-dir", str(ROOT / folder), *rest]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
