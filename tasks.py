#!/usr/bin/env python3
"""The project's commands, runnable on a fresh machine with only Python 3.11 and git.

    python3 tasks.py run   [runner options]    # run every notebook in order, headless (papermill)
    python3 tasks.py test  [pytest options]    # run the test suite
    python3 tasks.py lab   [--student | --copy NAME] [jupyter lab options]   # open JupyterLab
    python3 tasks.py check NOTEBOOK [options]  # grade a student's notebook against the solution
    python3 tasks.py copy  NAME [--solutions]  # a student's own working copy, workshop/NAME/
    python3 tasks.py reset [--runs] [--yes]    # what a class changed, back as committed
    python3 tasks.py setup                     # only make .venv (and git's notebook filter)

Each creates the virtual environment ``.venv`` on first use and installs ``requirements.txt``
into it; later calls reuse it, and reinstall only when ``requirements.txt`` changes. In a git
clone it also sets up nbstripout's git filter, so that no notebook output reaches git whatever
JupyterLab saves. ``run --help`` and ``lab --help`` print their help without making ``.venv``;
``reset`` never needs it. Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
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
WORKSHOP = ROOT / "workshop"  # the students' working copies (git-ignored)
COPY_HOME = "lake"  # a working copy's own lab home, inside it
LINKS = ("lab-home", "runs")  # made in the folder JupyterLab serves (see utils.report)
NOTEBOOK_RE = re.compile(r"^\d\d_[\w-]+\.ipynb$")

LAB_HELP = """\
usage: python3 tasks.py lab [--student | --copy NAME] [jupyter lab options]

Start JupyterLab from .venv on notebooks/ (the solutions), on student/ with --student (the
exercise copies), or on a student's working copy workshop/NAME/ with --copy NAME (made by
`python3 tasks.py copy NAME`; its lab home is workshop/NAME/lake/).

Every other option passes through to `jupyter lab`, e.g. --port 8801, --no-browser, --ip.
As root (containers), JupyterLab refuses to start without --allow-root: add it.

The folder JupyterLab serves gets two links: lab-home/ (the lab home: $LAB_HOME, else
data/lake/) and runs/ (the batch runs and their report.html), so the files the jobs write and
the run reports open from JupyterLab with one click. JupyterLab's terminal opens in the
repository's top folder, where `python3 tasks.py check 01_ingest` grades a notebook.
`.venv/bin/jupyter lab --help` lists JupyterLab's own options.
"""

CHECK_HELP_HINT = "python3 tasks.py check 01_ingest      # or a path: student/01_ingest.ipynb"


def _say(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


def _digest() -> str:
    blob = REQUIREMENTS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    return hashlib.sha256(blob).hexdigest()


def ensure_venv() -> None:
    """Create .venv if needed and install requirements.txt when it changed."""
    if not PYTHON.exists():
        if sys.version_info[:2] != (3, 11):
            _say(f"warning: the pins are tested on Python 3.11; this is {sys.version.split()[0]}")
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


# -- git: outputs never reach a commit ---------------------------------------------------------

# folder -> git filter: notebooks/ as `nbstripout` writes them (cell ids renumbered), student/
# with the ids `utils.student generate` gives them (--keep-id), so that both stay as committed
FILTERS = {"notebooks": ("nbstripout", ""), "student": ("nbstripout-student", " --keep-id")}
ATTRIBUTES_MARK = "# nbstripout's filter, set up by tasks.py"


def _git(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    if shutil.which("git") is None:
        return subprocess.CompletedProcess(["git", *args], 127, "", "git is not installed")
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=check)  # fmt: skip


def git_filter_commands() -> dict[str, str]:
    """The git config this project wants: nbstripout from .venv as the notebooks' clean filter."""
    strip = f'"{PYTHON.as_posix()}" -m nbstripout'
    config = {"diff.ipynb.textconv": f"{strip} -t"}
    for name, flags in FILTERS.values():
        config[f"filter.{name}.clean"] = strip + flags
        config[f"filter.{name}.smudge"] = "cat"
        config[f"filter.{name}.required"] = "true"
    return config


def ensure_git_filter() -> bool:
    """Set up nbstripout's git filter for notebooks/ and student/ in this clone (once).

    ``git diff`` and ``git commit`` then see every notebook without its outputs, execution counts
    and run metadata, whatever JupyterLab saved into the file. Outside a git clone (or without
    git) it does nothing and returns False.
    """
    if shutil.which("git") is None:
        return False
    inside = _git("rev-parse", "--is-inside-work-tree")
    top = _git("rev-parse", "--show-toplevel")
    if inside.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT:
        return False
    for key, value in git_filter_commands().items():
        if _git("config", "--local", "--get", key).stdout.strip() != value:
            _git("config", "--local", key, value, check=True)
    info = Path(_git("rev-parse", "--git-path", "info/attributes").stdout.strip())
    info = info if info.is_absolute() else ROOT / info
    lines = [f"/{folder}/*.ipynb filter={name} diff=ipynb"
             for folder, (name, _) in FILTERS.items()]  # fmt: skip
    text = info.read_text(encoding="utf-8") if info.exists() else ""
    missing = [line for line in lines if line not in text.splitlines()]
    if missing:
        info.parent.mkdir(parents=True, exist_ok=True)
        head = "" if not text or text.endswith("\n") else "\n"
        mark = "" if ATTRIBUTES_MARK in text else ATTRIBUTES_MARK + "\n"
        info.write_text(text + head + mark + "\n".join(missing) + "\n", encoding="utf-8")
        _say("set up nbstripout's git filter: notebook outputs stay out of git")
    return True


def setup() -> None:
    """What every command that needs the environment does first."""
    ensure_venv()
    ensure_git_filter()


# -- commands ----------------------------------------------------------------------------------


def _run(args: list[str], env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def _wants_help(rest: list[str]) -> bool:
    return any(a in ("-h", "--help") for a in rest)


def runner_parser() -> object:
    """utils/runner.py's option parser, loaded without the package (standard library only)."""
    spec = importlib.util.spec_from_file_location("_lab_runner", ROOT / "utils" / "runner.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.build_parser("python3 tasks.py run")


def _home_from_env() -> Path:
    """The lab home kernels started now will use: $LAB_HOME (relative to here), else data/lake."""
    home = Path(os.environ.get("LAB_HOME") or ROOT / "data" / "lake").expanduser()
    return home if home.is_absolute() else ROOT / home


def lab_command(rest: list[str]) -> list[str]:
    """``jupyter lab`` on notebooks/, student/ (``--student``) or workshop/NAME (``--copy NAME``)."""
    folder, rest = lab_folder(rest)
    return [str(BIN / "jupyter"), "lab", "--notebook-dir", str(folder), *rest]


def lab_folder(rest: list[str]) -> tuple[Path, list[str]]:
    """The folder JupyterLab serves, and the options left for ``jupyter lab``."""
    rest = list(rest)
    folder = ROOT / "notebooks"
    if "--student" in rest:
        rest.remove("--student")
        folder = ROOT / "student"
    if "--copy" in rest:
        at = rest.index("--copy")
        if at + 1 >= len(rest):
            raise SystemExit("tasks.py lab --copy NAME: name the working copy (tasks.py copy NAME)")
        folder = WORKSHOP / rest[at + 1]
        del rest[at : at + 2]
        if not folder.is_dir():
            raise SystemExit(f"no working copy {folder}: make it with `python3 tasks.py copy "
                             f"{folder.name}`")  # fmt: skip
    return folder, rest


def make_links(folder: Path, home: Path) -> list[Path]:
    """``lab-home`` -> the lab home and ``runs`` -> runs/ in the folder JupyterLab serves."""
    made = []
    for name, target in zip(LINKS, (home, ROOT / "runs"), strict=True):
        link = folder / name
        if target.resolve().is_relative_to(folder.resolve()):
            continue  # already inside (a working copy's own lake/)
        try:
            target.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() and link.resolve() != target.resolve():
                link.unlink()
            if not link.exists() and not link.is_symlink():
                link.symlink_to(target, target_is_directory=True)
            made.append(link)
        except OSError as exc:  # e.g. no symbolic links on this file system
            _say(f"note: no link {link} ({exc}); the notebooks show file paths instead")
    return made


def lab(rest: list[str]) -> int:
    """Start JupyterLab (see LAB_HELP): the lab home for a copy, the links, the server."""
    folder, args = lab_folder(rest)
    env = dict(os.environ)
    if folder.parent == WORKSHOP:
        env["LAB_HOME"] = str(folder / COPY_HOME)  # each student's lake in the copy
        _say(f"lab home of this copy: {folder / COPY_HOME}")
    home = Path(env.get("LAB_HOME") or ROOT / "data" / "lake")
    make_links(folder, home if home.is_absolute() else ROOT / home)
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in args:
        _say("running as root: JupyterLab needs --allow-root (python3 tasks.py lab --allow-root)")
    # from here (cwd): JupyterLab's terminal opens in the repository's top folder
    return _run(lab_command(rest), env)


def find_notebook(name: str, cwd: Path | None = None) -> Path:
    """The notebook ``tasks.py check`` grades: a path, or a name such as ``01_ingest``.

    A name is looked up in the folder JupyterLab serves (``$JUPYTER_SERVER_ROOT``, set in
    JupyterLab's terminal), then in student/.
    """
    cwd = cwd or Path.cwd()
    given = Path(name).expanduser()
    for candidate in (given if given.is_absolute() else cwd / given, ROOT / given):
        if candidate.is_file():
            return candidate.resolve()
    stem = given.name.removesuffix(".ipynb")
    places = [Path(p) for p in [os.environ.get("JUPYTER_SERVER_ROOT")] if p] + [ROOT / "student"]
    for place in places:
        found = sorted(p for p in place.glob(f"{stem}*.ipynb") if NOTEBOOK_RE.match(p.name))
        if len(found) == 1 or (found and found[0].stem == stem):
            return found[0].resolve()
    where = ", ".join(str(p) for p in places)
    raise SystemExit(f"tasks.py check {name}: no such notebook here or in {where}; give its path "
                     f"or its name, e.g. {CHECK_HELP_HINT}")  # fmt: skip


def check(rest: list[str]) -> int:
    if not rest or rest[0].startswith("-"):
        setup()
        return _run([str(PYTHON), "-m", "utils.student", "check", *rest])
    notebook = find_notebook(rest[0])
    setup()
    return _run([str(PYTHON), "-m", "utils.student", "check", str(notebook), *rest[1:]])


def make_copy(rest: list[str]) -> int:
    """``tasks.py copy NAME [--solutions] [--fresh]``: workshop/NAME/ with its own lab home."""
    flags = {a for a in rest if a.startswith("-")}
    names = [a for a in rest if not a.startswith("-")]
    unknown = flags - {"--solutions", "--fresh", "-h", "--help"}
    if _wants_help(rest) or len(names) != 1 or unknown:
        print("usage: python3 tasks.py copy NAME [--solutions] [--fresh]\n\n"
              "Make workshop/NAME/: the exercise copies of student/ (the solutions of notebooks/\n"
              "with --solutions) for one student, and that student's own lab home, "
              "workshop/NAME/lake/.\nOpen it with `python3 tasks.py lab --copy NAME --port "
              "8801`. --fresh replaces an existing copy\n(the student's edits and lake go).")  # fmt: skip
        return 0 if _wants_help(rest) else 2
    name = names[0]
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]{0,63}", name):
        raise SystemExit(f"copy {name!r}: use letters, digits, '-', '_' or '.' for the name")
    folder = WORKSHOP / name
    if folder.exists():
        if "--fresh" not in flags:
            raise SystemExit(f"{folder} exists (the student's work): add --fresh to replace it")
        shutil.rmtree(folder)
    source = ROOT / ("notebooks" if "--solutions" in flags else "student")
    folder.mkdir(parents=True)
    books = sorted(p for p in source.iterdir() if NOTEBOOK_RE.match(p.name))
    for book in books:
        shutil.copy2(book, folder / book.name)
    (folder / COPY_HOME).mkdir()
    _say(f"{folder}: {len(books)} notebooks from {source.name}/, lab home {folder / COPY_HOME}")
    _say(f"open it with: python3 tasks.py lab --copy {name} --port 8801")
    return 0


def reset_plan(runs: bool = False) -> list[tuple[str, Path | None]]:
    """What ``tasks.py reset`` removes or restores: (what, path) pairs."""
    plan: list[tuple[str, Path | None]] = []
    home = _home_from_env()
    if home.exists():
        plan.append(("the lab home (every local S3 object, table, job and endpoint record)", home))
    if WORKSHOP.exists():
        for copy in sorted(p for p in WORKSHOP.iterdir() if p.is_dir()):
            plan.append(("a working copy and its lab home", copy))
    for folder in ("notebooks", "student"):
        for name in (*LINKS, ".ipynb_checkpoints"):
            path = ROOT / folder / name
            if path.is_symlink() or path.exists():
                plan.append(("JupyterLab's link or checkpoints", path))
        untracked = _git("ls-files", "--others", "--exclude-standard", "--", f"{folder}/*.ipynb")
        for line in untracked.stdout.splitlines():
            plan.append(("an untracked notebook", ROOT / line))
    status = _git("status", "--porcelain", "--", "notebooks", "student")
    if status.returncode == 0 and any(not ln.startswith("??") for ln in status.stdout.splitlines()):
        plan.append(("edits to notebooks/ and student/ (git checkout: as committed)", None))
    if runs and (ROOT / "runs").exists():
        plan.append(("batch runs, reports and grading runs", ROOT / "runs"))
    return plan


def reset(rest: list[str]) -> int:
    """``tasks.py reset [--runs] [--yes]``: list, then (with --yes) undo what a class changed."""
    if _wants_help(rest) or set(rest) - {"--runs", "--yes"}:
        print("usage: python3 tasks.py reset [--runs] [--yes]\n\n"
              "Undo what a class changed: the lab home ($LAB_HOME, else data/lake/), the working\n"
              "copies in workshop/, JupyterLab's links and checkpoints, untracked notebooks and\n"
              "every edit in notebooks/ and student/ (back as committed); with --runs also runs/.\n"
              "data/raw/ (the data set) stays. Without --yes it only lists what it would do.\n"
              "Stop the JupyterLab servers first; on AWS run 99_cleanup (it deletes what costs).")  # fmt: skip
        return 0 if _wants_help(rest) else 2
    plan = reset_plan("--runs" in rest)
    if not plan:
        print("nothing to reset: the lab home, the copies and the notebooks are as committed")
        return 0
    doing = "--yes" in rest
    for what, path in plan:
        print(
            f"  {'removing' if doing else 'would remove'}: {what}" + (f": {path}" if path else "")
        )
        if not doing:
            continue
        if path is None:
            _git("checkout", "--", "notebooks", "student", check=True)
        elif path.is_symlink() or path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path)
    if not doing:
        print("run `python3 tasks.py reset --yes` to do it")
    return 0


def main(argv: list[str]) -> int:
    commands = {"run", "test", "lab", "setup", "check", "copy", "reset"}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    command, rest = argv[0], argv[1:]
    if command == "lab" and _wants_help(rest):
        print(LAB_HELP)
        return 0
    if command == "run" and _wants_help(rest):
        runner_parser().print_help()
        return 0
    if command == "copy":
        return make_copy(rest)
    if command == "reset":
        return reset(rest)
    if command == "check":
        return check(rest)
    setup()
    if command == "setup":
        return 0
    if command == "run":
        return _run([str(PYTHON), "-m", "utils.runner", *rest])
    if command == "test":
        return _run([str(PYTHON), "-m", "pytest", *rest])
    return lab(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
