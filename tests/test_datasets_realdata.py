"""utils.datasets on the real Kaggle file (skipped when it is absent, as on a fresh clone).

The file is looked up in ``$LAB_SHARED_DATA`` (a directory or the file itself), else in
``../shared/data/`` next to the repository. It is never copied into the repository.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import utils.datasets as ds

KAGGLE_NAME = "womens_clothing_ecommerce_reviews_kaggle.csv"
EXPECTED_COUNTS = {-1: 2370, 0: 2823, 1: 17433}


def _locate() -> Path:
    env = os.environ.get("LAB_SHARED_DATA")
    if env:
        p = Path(env).expanduser()
        return p / KAGGLE_NAME if p.is_dir() else p
    return Path(__file__).resolve().parents[2] / "shared" / "data" / KAGGLE_NAME


REAL = _locate()

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not REAL.is_file(), reason=f"real data set not found at {REAL}"),
]


@pytest.fixture(scope="module")
def raw() -> ds.RawRead:
    return ds.read_raw(REAL)


def test_identity(raw: ds.RawRead) -> None:
    assert hashlib.sha256(REAL.read_bytes()).hexdigest() == ds.KAGGLE_SHA256
    assert raw.sha256 == ds.KAGGLE_SHA256 and raw.n_bytes == ds.KAGGLE_BYTES
    assert raw.form == "kaggle" and raw.has_index and raw.bad_rows == []
    assert len(raw.df) == 23486
    assert list(raw.df.columns) == [*ds.RAW_COLUMNS, "source_line"]
    assert raw.df["Review Text"].isna().sum() == 845
    assert raw.df["Class Name"].isna().sum() == 14


def test_transform_counts(raw: ds.RawRead) -> None:
    res = ds.transform(raw)
    assert len(res.df) == 22626
    assert res.report.sentiment_counts == EXPECTED_COUNTS
    assert res.report.dropped == {
        "missing_review_body": 845,
        "missing_product_category": 13,
        "small_category": 2,
    }
    data = res.to_csv_bytes()
    assert b'"' not in data
    assert all(line.count(b",") == 2 for line in data.splitlines())


@pytest.mark.parametrize("index", [True, False])
def test_course_form_gives_the_same_counts(tmp_path: Path, index: bool) -> None:
    course = ds.write_course_form(REAL, tmp_path / ds.RAW_FILENAME, index=index)
    if index:  # the course's copy is exactly this size
        assert course.stat().st_size == ds.COURSE_COPY_BYTES
    raw = ds.read_raw(course)
    assert raw.form == "course" and raw.has_index is index
    assert len(raw.df) == 23486 and raw.bad_rows == []
    res = ds.transform(raw)
    assert len(res.df) == 22626
    assert res.report.sentiment_counts == EXPECTED_COUNTS


def test_obtain_raw_identifies_the_real_file(tmp_path: Path) -> None:
    src = ds.obtain_raw(str(REAL), data_dir=tmp_path, allow_download=False)
    assert src.origin == "parameter" and not src.synthetic
    assert src.sha256 == ds.KAGGLE_SHA256 and "Kaggle original" in src.verified
