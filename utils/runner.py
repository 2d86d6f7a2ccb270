"""Run the lab notebooks in order, headless, with papermill: ``python -m utils.runner``.

    python -m utils.runner                       # every notebook, local backend
    python -m utils.runner -p RAW_DATA path.csv  # a parameter for every notebook that declares it
    python -m utils.runner --only 00-01 --backend aws --params params.yaml

Executed notebooks go to ``runs/<timestamp>/``; a failure exits non-zero with the notebook,
the cell and the error in one short message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.config import project_root
from utils.records import read_records

NOTEBOOK_RE = re.compile(r"^(\d\d)_[\w-]+\.ipynb$")


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


def load_params(path: str | None, pairs: list[list[str]] | None, backend: str | None) -> dict:
    params: dict[str, Any] = {}
    if path:
        import yaml

        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise SystemExit(f"--params {path}: expected a mapping of NAME: value")
        params.update(loaded)
    for name, value in pairs or []:
        params[name] = _coerce(value)
    if backend:
        params["BACKEND"] = backend
    return params


def declared_parameters(notebook: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(notebook)).keys())


def _error_line(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    cell = getattr(exc, "exec_count", None)
    where = f"cell [{cell}]" if cell is not None else "a cell"
    return f"{where}: {ename}: {evalue[0] if evalue else ''}"


def run(
    notebooks: list[Path],
    params: dict[str, Any],
    out_dir: Path,
    cell_timeout: int | None = None,
    progress: bool = True,
) -> list[NotebookRun]:
    """Execute ``notebooks`` in order; stop at the first failure."""
    import papermill
    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
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
                cwd=str(nb.parent), execution_timeout=cell_timeout, progress_bar=False,
            )  # fmt: skip
            result.status = "ok"
        except Exception as exc:  # noqa: BLE001 - reported and turned into the exit code
            result.status = "failed"
            result.error = _error_line(exc)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils.runner",
        description=__doc__,
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
    parser.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/<ts>)")
    args = parser.parse_args(argv)

    notebooks = select(discover(), args.only)
    params = load_params(args.params, args.parameter, args.backend)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or project_root() / "runs" / stamp
    print(f"running {len(notebooks)} notebook(s) into {out_dir}; parameters {params or '{}'}")
    results = run(notebooks, params, out_dir, args.cell_timeout)
    summary = []
    for r in results:
        line = f"  {r.status:<8} {r.name:<24} {r.seconds:7.1f} s  {len(r.records)} recorded"
        print(line + (f"  -> {r.error}" if r.error else ""))
        summary.append(
            {
                "notebook": r.name,
                "status": r.status,
                "seconds": round(r.seconds, 2),
                "output": str(r.output) if r.output else None,
                "error": r.error,
            }
        )
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        r = failed[0]
        print(f"FAILED: {r.name}.ipynb, {r.error} (executed copy: {r.output})", file=sys.stderr)
        return 1
    print(f"all {len(results)} notebook(s) ran; executed copies in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
