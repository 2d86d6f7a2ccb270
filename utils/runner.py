"""Run the lab notebooks in order, headless, with papermill: ``python -m utils.runner``.

    python -m utils.runner                       # every notebook, local backend
    python -m utils.runner -p RAW_DATA path.csv  # a parameter for every notebook that declares it
    python -m utils.runner --only 00-01 --backend aws --params params.yaml
    python -m utils.runner --time-limit 900      # stop a notebook that runs longer (seconds)

Parameters come from the YAML file (``NAME: value`` lines), then ``-p NAME VALUE`` (which win),
then ``--backend`` (sets ``BACKEND``); each notebook receives those it declares in its
``parameters`` cell. Executed notebooks go to ``runs/<timestamp>/`` with ``summary.json`` and
the HTML report ``report.html`` (see :mod:`utils.report`); a failure exits non-zero with the
notebook, the cell and the error in one short message.

The command line (:func:`build_parser`) needs only the standard library, so that
``python3 tasks.py run --help`` prints it before ``.venv`` exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOTEBOOK_RE = re.compile(r"^(\d\d)_[\w-]+\.ipynb$")
# the kernels' own log lines (ipykernel's warning at every start that its local sockets are not
# encrypted, "KeyboardInterrupt caught in kernel." as a kernel shuts down) are not the learner's
# business: a cell's error is in the executed notebook and in the runner's one-line message
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]


def project_root() -> Path:
    """The repository's top folder (as :func:`utils.config.project_root`)."""
    return Path(__file__).resolve().parents[1]


def read_records(notebook: Path) -> dict[str, Any]:
    """The values an executed notebook recorded (:func:`utils.records.read_records`)."""
    from utils.records import read_records as read

    return read(notebook)


@dataclass
class NotebookRun:
    """What happened to one notebook in a batch run."""

    name: str
    status: str = "pending"
    seconds: float = 0.0
    output: Path | None = None
    error: str | None = None
    records: dict[str, Any] = field(default_factory=dict)


def discover(folder: Path | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order."""
    folder = folder or project_root() / "notebooks"
    return sorted(p for p in folder.iterdir() if NOTEBOOK_RE.match(p.name))


def select(notebooks: list[Path], only: str | None) -> list[Path]:
    """Keep notebooks whose number is in ``only``: '01', '00-02', '01,03-04'."""
    if not only:
        return notebooks
    wanted: set[int] = set()
    for part in only.split(","):
        part = part.strip()
        if not re.fullmatch(r"\d{1,2}(-\d{1,2})?", part):
            raise SystemExit(f"--only {only!r}: use numbers and ranges such as 01 or 00-02,04")
        lo, _, hi = part.partition("-")
        wanted.update(range(int(lo), int(hi or lo) + 1))
    chosen = [p for p in notebooks if int(p.name[:2]) in wanted]
    if not chosen:
        raise SystemExit(f"--only {only!r} matches no notebook: {[p.name for p in notebooks]}")
    return chosen


def _coerce(value: str) -> Any:
    """'-p SEED 7' gives 7, '-p DRY_RUN false' gives False, '-p X none' gives None."""
    low = value.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def load_params(
    path: str | None, pairs: list[list[str]] | None, backend: str | None
) -> dict[str, Any]:
    """Merge the YAML parameters file, then ``-p NAME VALUE`` pairs, then ``--backend``."""
    params: dict[str, Any] = {}
    if path:
        import yaml

        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise SystemExit(f"--params {path}: cannot read it ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise SystemExit(f"--params {path}: not valid YAML ({exc})".splitlines()[0]) from None
        if not isinstance(loaded, dict):
            raise SystemExit(f"--params {path}: expected a mapping of NAME: value")
        bad = [k for k in loaded if not (isinstance(k, str) and k.isidentifier())]
        if bad:
            raise SystemExit(f"--params {path}: parameter names must be identifiers: {bad}")
        params.update(loaded)
    for name, value in pairs or []:
        params[name] = _coerce(value)
    if backend:
        params["BACKEND"] = backend
    return params


def declared_parameters(notebook: Path) -> set[str]:
    """The names assigned in ``notebook``'s cell tagged ``parameters``."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)).keys())


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_TEXT = re.compile(r"^\s*([\w.]*(Error|Exception|Interrupt|Exit|NotDone)\b.*)$")


def _failed_cell(output: Path | None) -> tuple[int | None, str | None]:
    """(execution count, error line) of the first failed cell in an executed notebook.

    The cell is the first with an ``error`` output, else the one papermill marked ``failed``
    (an IPython traceback hook, such as the one ``rich`` installs, can turn the error into
    display output); the error line is then the last ``SomethingError: ...`` line it shows.
    """
    if output is None or not output.exists():
        return None, None
    try:
        nb = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for cell in cells:
        if any(o.get("output_type") == "error" for o in cell.get("outputs", []) or []):
            return cell.get("execution_count"), None
    for cell in cells:
        if (cell.get("metadata", {}).get("papermill") or {}).get("status") == "failed":
            texts = []
            for o in cell.get("outputs", []) or []:
                text = o.get("text") or (o.get("data") or {}).get("text/plain") or ""
                texts += _ANSI.sub("", "".join(text)).splitlines()
            found = [m.group(1).strip() for t in texts if (m := _ERROR_TEXT.match(t))]
            return cell.get("execution_count"), (found[-1] if found else None)
    return None, None


def _error_line(exc: Exception, output: Path | None, time_limit: float | None) -> str:
    """'cell [7]: RawDataError: no such file' from a papermill/nbclient exception.

    ``[7]`` is the cell's execution count, as the executed copy shows it (``In [7]``).
    """
    count, shown = _failed_cell(output)
    count = getattr(exc, "exec_count", None) or count
    where = f"cell [{count}]" if count is not None else "a cell"
    if type(exc).__name__ == "CellTimeoutError":
        if time_limit is not None:
            return (
                f"{where}: still running when the notebook's time limit ({time_limit:g} s) ran out"
            )
        return f"{where}: the cell timed out"
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = str(getattr(exc, "evalue", exc) or "").strip().splitlines()
    if not evalue and shown:
        return f"{where}: {shown}"
    return f"{where}: {ename}: {evalue[0] if evalue else '(no message)'}"


def _timeouts(cell_timeout: int | None, time_limit: float | None) -> Callable[[Any], int | None]:
    """nbclient's ``timeout_func``: each cell gets what is left of the notebook's time limit."""
    deadline = None if time_limit is None else time.monotonic() + time_limit

    def timeout(cell: Any) -> int | None:
        limits = [cell_timeout] if cell_timeout else []
        if deadline is not None:
            limits.append(max(1, math.ceil(deadline - time.monotonic())))
        return min(limits) if limits else None

    return timeout


def run(
    notebooks: list[Path],
    params: dict[str, Any],
    out_dir: Path,
    cell_timeout: int | None = None,
    progress: bool = True,
    time_limit: float | None = None,
) -> list[NotebookRun]:
    """Execute ``notebooks`` in order into ``out_dir``; stop at the first failure.

    Each notebook gets the ``params`` it declares; ``cell_timeout`` bounds one cell and
    ``time_limit`` one notebook (seconds). The rest are marked ``skipped`` after a failure.
    """
    import papermill
    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    # no browser shows the kernels' widgets: progress bars print as text (utils.automl.JobView)
    os.environ["LAB_PROGRESS"] = "text"
    results = [NotebookRun(nb.stem) for nb in notebooks]
    bar = tqdm(total=len(notebooks), desc="notebooks", unit="nb", disable=not progress)
    for nb, result in zip(notebooks, results, strict=True):
        bar.set_postfix_str(nb.stem)
        mine = {k: v for k, v in params.items() if k in declared_parameters(nb)}
        result.output = out_dir / nb.name
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(nb), str(result.output), parameters=mine, kernel_name="python3",
                cwd=str(nb.parent), progress_bar=False,
                timeout_func=_timeouts(cell_timeout, time_limit),
                extra_arguments=KERNEL_ARGS,
            )  # fmt: skip
            result.status = "ok"
        except Exception as exc:  # noqa: BLE001 - reported and turned into the exit code
            result.status = "failed"
            result.error = _error_line(exc, result.output, time_limit)
        result.seconds = time.perf_counter() - start
        if result.output.exists():
            result.records = read_records(result.output)
        bar.update(1)
        if result.status == "failed":
            break
    bar.close()
    for result in results:
        if result.status == "pending":
            result.status = "skipped"
    return results


def write_summary(results: list[NotebookRun], out_dir: Path, params: dict[str, Any]) -> Path:
    """``summary.json``: the parameters and each notebook's status, duration and error."""
    summary = {
        "params": params,
        "notebooks": [
            {
                "notebook": r.name,
                "status": r.status,
                "seconds": round(r.seconds, 2),
                "output": r.output.name if r.output else None,
                "error": r.error,
            }
            for r in results
        ],
    }
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def build_parser(prog: str = "python -m utils.runner") -> argparse.ArgumentParser:
    """The runner's options (standard library only: ``tasks.py run --help`` prints them)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\nThe command line")[0].replace(
            "python -m utils.runner", prog
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a parameter for every notebook that declares it",
    )
    parser.add_argument("--params", help="a YAML file of NAME: value parameters")
    parser.add_argument("--backend", choices=["local", "aws"], help="sets BACKEND")
    parser.add_argument("--only", help="notebook numbers, e.g. 01 or 00-02,04")
    parser.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                        help="the folder of numbered notebooks (default notebooks/; or student/)")  # fmt: skip
    parser.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="seconds per notebook; a notebook still running then fails")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/<ts>)")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line: run the notebooks, write the summary and report; the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.time_limit is not None and args.time_limit <= 0:
        parser.error("--time-limit: give a number of seconds greater than 0")

    if args.notebooks is not None and not args.notebooks.is_dir():
        parser.error(f"--notebooks {args.notebooks}: no such folder")
    notebooks = select(discover(args.notebooks), args.only)
    params = load_params(args.params, args.parameter, args.backend)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or project_root() / "runs" / stamp
    names = ", ".join(nb.stem for nb in notebooks)
    print(f"running {names} into {out_dir}; parameters {params or '{}'}", flush=True)
    results = run(notebooks, params, out_dir, args.cell_timeout, time_limit=args.time_limit)
    for r in results:
        line = f"  {r.status:<8} {r.name:<24} {r.seconds:7.1f} s  {len(r.records)} recorded"
        print(line + (f"  -> {r.error}" if r.error else ""))
    write_summary(results, out_dir, params)
    if not args.no_report:
        from utils.report import write_report

        try:
            report = write_report(out_dir, results, params)
            print(f"report: {report}")
        except Exception as exc:  # noqa: BLE001 - a report problem must not hide the run's result
            print(f"warning: the HTML report could not be written: {exc}", file=sys.stderr)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        r = failed[0]
        print(f"FAILED: {r.name}.ipynb, {r.error} (executed copy: {r.output})", file=sys.stderr)
        return 1
    print(f"all {len(results)} notebook(s) ran; executed copies in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
