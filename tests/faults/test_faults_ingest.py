"""01_ingest on a lab home with good data, run again with a raw file that cannot be used.

The fault (issue 14, items 1 and 2): 01 uploaded the raw file before reading it (an empty file
left a 0-byte raw object), and a file without one usable row passed and replaced the transformed
CSV with a header. Now 01 reads and checks first: it stops with RawDataError, saying what is
wrong (for rows: how many were read, dropped, and why), and the lake is as it was.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[2]
ROWS = 600  # synthetic reviews of the good run: small, and every sentiment present
CELL_TIMEOUT = 300  # seconds per cell: a hung kernel fails the test instead of holding it
HEADER = ("Clothing ID,Age,Title,Review Text,Rating,Recommended IND,Positive Feedback Count,"
          "Division Name,Department Name,Class Name\n")  # fmt: skip
ROW = "1077,60,Nice,Lovely fabric and a good fit,{rating},1,0,General,Dresses,Dresses\n"


def _run_01(home: Path, out: Path, **params) -> dict:
    """Execute 01_ingest with papermill (bounded per cell); its recorded values."""
    import papermill

    from utils.records import read_records

    papermill.execute_notebook(
        str(ROOT / "notebooks" / "01_ingest.ipynb"),
        str(out),
        parameters={"LAB_HOME": str(home), **params},
        kernel_name="python3",
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
        execution_timeout=CELL_TIMEOUT,
    )
    return read_records(out)


@pytest.fixture(scope="module")
def good_home(tmp_path_factory) -> Path:
    """A lab home after a good run of 01 (synthetic reviews): raw and transformed data in S3."""
    folder = tmp_path_factory.mktemp("good")
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("LAB_") and v != "LAB_SHARED_DATA"]:
            mp.delenv(var)
        mp.setenv("LAB_OFFLINE", "1")
        mp.setenv("MPLBACKEND", "Agg")
        rec = _run_01(folder / "lake", folder / "01.out.ipynb", RAW_DATA="synthetic",
                      SYNTHETIC_ROWS=ROWS)  # fmt: skip
    assert rec["rows_kept"] > 0 and len(rec["objects"]) == 2
    return folder / "lake"


def _bad_files(folder: Path) -> dict[str, tuple[bytes, list[str]]]:
    """name -> (content, what the error must say)."""
    no_rating = HEADER.replace("Rating,", "") + ROW.format(rating="5").replace("5,1,0", "1,0", 1)
    return {
        "empty": (b"", ["is empty (0 bytes)", "Rating"]),
        "binary": (gzip.compress((HEADER + ROW.format(rating=5)).encode()), ["is not UTF-8"]),
        "without_rating": (no_rating.encode(), ["missing required column(s) 'Rating'"]),
        "header_only": (
            HEADER.encode(),
            ["has a header and no review rows", "Nothing to upload"],
        ),  # fmt: skip
        "every_rating_five": (
            (HEADER + ROW.format(rating="five") * 12).encode(),
            [
                "12 rows read, 12 dropped",
                "12 bad_rating",
                "'five'",
                "source lines 2, 3, 4",
                "Nothing to upload",
            ],
        ),  # fmt: skip
    }


@pytest.mark.parametrize("fault", ["empty", "binary", "without_rating", "header_only",
                                   "every_rating_five"])  # fmt: skip
def test_01_stops_on_a_bad_raw_file_and_leaves_the_lake_as_it_was(
    fault, good_home, tmp_path, lake_state, monkeypatch
):
    import papermill

    import utils

    home = tmp_path / "lake"
    shutil.copytree(good_home, home, copy_function=shutil.copy2)  # keeps modification times
    content, expected = _bad_files(tmp_path)[fault]
    bad = tmp_path / f"{fault}.csv"
    bad.write_bytes(content)
    before = lake_state(home)
    lab = utils.connect("local", home=home)
    transformed = lab.wr.s3.read_csv(lab.s3_uri("data/transformed/"))

    monkeypatch.setenv("MPLBACKEND", "Agg")
    with pytest.raises(papermill.PapermillExecutionError) as err:
        _run_01(home, tmp_path / "01.out.ipynb", RAW_DATA=str(bad))
    assert err.value.ename == "RawDataError"
    assert str(bad) in err.value.evalue
    for text in expected:
        assert text in err.value.evalue, (text, err.value.evalue)

    assert lake_state(home) == before  # no object written, rewritten or deleted
    again = lab.wr.s3.read_csv(lab.s3_uri("data/transformed/"))
    assert len(again) == len(transformed) > 0  # 02 and 03 still find the earlier data
