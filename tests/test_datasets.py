"""Tests for utils.datasets on data the project generates itself (no network, no real data)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import utils.datasets as ds
from utils.errors import LabError, RawDataError

N = 2000
SEED = 7
HEADER = "," + ",".join(ds.RAW_COLUMNS) + "\n"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ds.write_synthetic(tmp_path_factory.mktemp("synth") / "reviews.csv", N, SEED)


@pytest.fixture(scope="module")
def synth_df() -> pd.DataFrame:
    return ds.generate_synthetic(6000, seed=3)


def _row(i: int, text: str = "Nice dress, fits well", rating: object = 5, cls: str = "Dresses"):
    return [str(i), "1077", "34", "A title", text, str(rating), "1", "0", "General", "Dresses", cls]


def _write_rows(path: Path, rows: list[list[str]], header: str = HEADER) -> Path:
    out = io.StringIO()
    out.write(header)
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


# ---- generator ---------------------------------------------------------------------------


def test_generator_schema(synth_df: pd.DataFrame) -> None:
    df = synth_df
    assert list(df.columns) == list(ds.RAW_COLUMNS)
    assert len(df) == 6000
    for col in ds.INT_COLUMNS:
        assert df[col].dtype == np.int64, col
    assert set(df["Rating"]) <= {1, 2, 3, 4, 5}
    assert set(df["Recommended IND"]) <= {0, 1}
    assert df["Clothing ID"].between(0, 1205).all()


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path: Path) -> None:
    a = ds.write_synthetic(tmp_path / "a.csv", 300, seed=11)
    b = ds.write_synthetic(tmp_path / "b.csv", 300, seed=11)
    c = ds.write_synthetic(tmp_path / "c.csv", 300, seed=12)
    assert _sha(a) == _sha(b)
    assert _sha(a) != _sha(c)
    pd.testing.assert_frame_equal(ds.generate_synthetic(50, 5), ds.generate_synthetic(50, 5))


def test_generator_proportions(synth_df: pd.DataFrame) -> None:
    df = synth_df
    n = len(df)
    shares = df["Class Name"].value_counts(dropna=False) / n
    assert shares["Dresses"] == pytest.approx(6319 / 23486, abs=0.002)
    assert shares["Knits"] == pytest.approx(4843 / 23486, abs=0.002)
    assert shares["Trend"] == pytest.approx(119 / 23486, abs=0.002)
    assert df["Class Name"].isna().mean() == pytest.approx(14 / 23486, abs=0.001)
    # class -> department -> division, as in the real data
    places = df.dropna(subset=["Class Name"]).groupby("Class Name")
    assert (places["Department Name"].nunique() == 1).all()
    assert df.loc[df["Class Name"] == "Jeans", "Department Name"].iloc[0] == "Bottoms"
    assert set(df.loc[df["Class Name"] == "Swim", "Division Name"]) == {"Initmates"}
    assert df.loc[df["Class Name"].isna(), ["Division Name", "Department Name"]].isna().all().all()
    # ratings, recommendation, missing values
    ratings = df["Rating"].value_counts(normalize=True)
    assert ratings[5] == pytest.approx(0.559, abs=0.03)
    assert ratings[1] == pytest.approx(0.036, abs=0.015)
    rec = df.groupby("Rating")["Recommended IND"].mean()
    assert rec[5] > 0.95 and rec[1] < 0.1 and 0.25 < rec[3] < 0.6
    assert df["Review Text"].isna().mean() == pytest.approx(0.036, abs=0.012)
    assert df["Title"].isna().mean() == pytest.approx(0.162, abs=0.03)
    # ages, feedback, lengths
    assert df["Age"].between(18, 99).all()
    assert df["Age"].median() == pytest.approx(41, abs=3)
    assert (df["Positive Feedback Count"] == 0).mean() == pytest.approx(0.476, abs=0.04)
    assert df["Positive Feedback Count"].max() <= 122
    words = df["Review Text"].dropna().str.split().str.len()
    assert words.mean() == pytest.approx(60, abs=6)
    assert words.min() >= 2 and words.max() <= 125
    assert df["Review Text"].str.len().max() <= 500


def test_generator_text_quirks(synth_file: Path) -> None:
    data = synth_file.read_bytes()
    assert data.startswith(HEADER.encode())
    text = ds.read_raw(synth_file).df["Review Text"].dropna()
    assert text.str.contains(",").mean() > 0.5  # quoted commas
    assert text.str.contains('"').any() and b'""' in data  # doubled quotes
    with_nl = text.str.contains("\n").mean()
    assert 0.02 < with_nl < 0.2  # a few embedded line breaks
    assert text.str.contains("\r\n").any()


def _nb_accuracy(df: pd.DataFrame, seed: int = 0) -> float:
    """Multinomial naive Bayes on sentiment-balanced data, 75/25 split (numpy only)."""
    n = df["sentiment"].value_counts().min()
    b = df.groupby("sentiment").sample(n=n, random_state=seed).sample(frac=1, random_state=seed)
    docs = [re.findall(r"[a-z']+", t.lower()) for t in b["review_body"]]
    y = b["sentiment"].to_numpy() + 1
    cut = int(len(docs) * 0.75)
    vocab = {w: i for i, w in enumerate(sorted({w for d in docs[:cut] for w in d}))}
    x = np.zeros((len(docs), len(vocab)))
    for i, d in enumerate(docs):
        for w in d:
            if w in vocab:
                x[i, vocab[w]] += 1
    counts = np.stack([x[:cut][y[:cut] == k].sum(0) for k in range(3)]) + 1.0
    logp = np.log(counts / counts.sum(1, keepdims=True))
    pred = (x[cut:] @ logp.T).argmax(1)
    return float((pred == y[cut:]).mean())


def test_text_carries_the_rating_with_noise(synth_df: pd.DataFrame) -> None:
    res = ds.transform(synth_df)
    acc = _nb_accuracy(res.df)
    assert 0.55 < acc < 0.9, acc


# ---- read_raw ------------------------------------------------------------------------------


def test_read_raw_kaggle_form(synth_file: Path) -> None:
    raw = ds.read_raw(synth_file)
    assert raw.form == "kaggle" and raw.has_index
    assert raw.bad_rows == []
    assert len(raw.df) == N
    assert list(raw.df.columns) == [*ds.RAW_COLUMNS, "source_line"]
    assert raw.n_bytes == synth_file.stat().st_size and raw.sha256 == _sha(synth_file)
    expected = pd.read_csv(synth_file, index_col=0)
    pd.testing.assert_frame_equal(raw.df[list(ds.RAW_COLUMNS)], expected, check_dtype=False)
    # source_line is the physical line where each record starts
    lines = synth_file.read_text(encoding="utf-8").split("\n")
    for i in (0, 1, N // 2, N - 1):
        line = int(raw.df["source_line"].iloc[i])
        assert lines[line - 1].startswith(f"{i},")


@pytest.mark.parametrize("index", [True, False])
def test_read_raw_course_form(synth_file: Path, tmp_path: Path, index: bool) -> None:
    course = ds.write_course_form(synth_file, tmp_path / "course.csv", index=index)
    assert course.stat().st_size < synth_file.stat().st_size
    raw = ds.read_raw(course)
    assert raw.form == "course" and raw.has_index is index
    assert len(raw.df) == N and raw.bad_rows == []
    text = raw.df["Review Text"].dropna()
    assert not text.str.contains(r"[,\r\n]").any()
    kaggle = ds.read_raw(synth_file)
    pd.testing.assert_frame_equal(
        raw.df.drop(columns=["Review Text", "source_line"]),
        kaggle.df.drop(columns=["Review Text", "source_line"]),
    )
    assert ds.transform(raw).report.sentiment_counts == ds.transform(kaggle).report.sentiment_counts
    # in the course form each record is one line
    assert raw.df["source_line"].tolist() == list(range(2, N + 2))


def test_read_raw_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "no_rating.csv"
    df = ds.generate_synthetic(20, 1).drop(columns=["Rating"])
    df.to_csv(p)
    with pytest.raises(RawDataError) as err:
        ds.read_raw(p)
    msg = str(err.value)
    assert "missing required column(s) 'Rating'" in msg
    assert "'Review Text'" in msg and "'Class Name'" in msg  # the columns found are listed
    assert isinstance(err.value, LabError)


def test_read_raw_not_this_data_set(tmp_path: Path) -> None:
    p = tmp_path / "other.csv"
    p.write_text("name,price\nshoe,10\n", encoding="utf-8")
    with pytest.raises(RawDataError, match="not the Women's E-Commerce Clothing Reviews"):
        ds.read_raw(p)
    t = tmp_path / "transformed.csv"
    t.write_text("sentiment,review_body,product_category\n1,nice,Dresses\n", encoding="utf-8")
    with pytest.raises(RawDataError, match="looks like the transformed file"):
        ds.read_raw(t)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_read_raw_empty_file(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    with pytest.raises(RawDataError, match="is empty"):
        ds.read_raw(p)


def test_read_raw_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RawDataError, match="not found"):
        ds.read_raw(tmp_path / "nope.csv")


def test_read_raw_not_utf8(tmp_path: Path) -> None:
    p = _write_rows(tmp_path / "latin1.csv", [_row(0), _row(1, "Caf\u00e9 colour")])
    data = p.read_bytes().replace("\u00e9".encode(), b"\xe9")  # as saved by a cp1252 editor
    p.write_bytes(data)
    offset = data.index(b"\xe9")
    with pytest.raises(RawDataError) as err:
        ds.read_raw(p)
    msg = str(err.value)
    assert "not UTF-8" in msg
    assert "line 3" in msg and f"byte offset {offset}" in msg and "0xe9" in msg
    assert "UTF-8" in msg and "Re-save" in msg


def test_read_raw_quoted_line_break_and_line_numbers(tmp_path: Path) -> None:
    rows = [
        _row(0),
        _row(1, 'Two paragraphs.\r\nSecond one, with a "quote".\n\nThird.'),
        _row(2),
        _row(3, "Last"),
    ]
    p = _write_rows(tmp_path / "nl.csv", rows)
    raw = ds.read_raw(p)
    assert raw.bad_rows == []
    assert len(raw.df) == 4
    assert (
        raw.df["Review Text"].iloc[1] == 'Two paragraphs.\r\nSecond one, with a "quote".\n\nThird.'
    )
    assert raw.df["source_line"].tolist() == [2, 3, 7, 8]


def test_read_raw_wrong_field_count_is_reported(tmp_path: Path) -> None:
    p = tmp_path / "fields.csv"
    good = ",".join(_row(0, "fine"))
    p.write_text(
        HEADER
        + good
        + "\n"
        + "1,1077,34,title,too,many,fields,5,1,0,General,Dresses,Dresses\n"
        + "2,1077,34\n"
        + "\n"
        + ",".join(_row(3, "also fine"))
        + "\n",
        encoding="utf-8",
    )
    raw = ds.read_raw(p)
    assert [line for line, _ in raw.bad_rows] == [3, 4]
    assert "expected 11 fields, found 13" in raw.bad_rows[0][1]
    assert "found 3" in raw.bad_rows[1][1]
    assert raw.df["source_line"].tolist() == [2, 6]


# ---- transform -----------------------------------------------------------------------------


def test_transform_mapping_and_columns(tmp_path: Path) -> None:
    rows = [_row(i, f"review {i}", rating=r) for i, r in enumerate([1, 2, 3, 4, 5] * 3)]
    raw = ds.read_raw(_write_rows(tmp_path / "r.csv", rows))
    res = ds.transform(raw)
    assert list(res.df.columns) == ["sentiment", "review_body", "product_category"]
    assert res.df["sentiment"].dtype == np.int64
    assert res.df["sentiment"].tolist() == [-1, -1, 0, 1, 1] * 3
    assert res.report.sentiment_counts == {-1: 6, 0: 3, 1: 6}
    assert res.report.rows_read == 15 and res.report.rows_kept == 15
    # 15 reviews in one category: kept with the default (more than 10), dropped above 15;
    # a transform that keeps no row says so instead of returning an empty table
    with pytest.raises(RawDataError, match=r"15 rows read, 15 dropped \(15 small_category"):
        ds.transform(raw, min_category_reviews=15)


def test_transform_that_keeps_nothing_says_how_many_rows_were_read_and_dropped(
    tmp_path: Path,
) -> None:
    rows = [_row(i, f"review {i}", rating="five") for i in range(12)]
    raw = ds.read_raw(_write_rows(tmp_path / "five.csv", rows))
    with pytest.raises(RawDataError) as err:
        ds.transform(raw)
    message = str(err.value)
    assert "five.csv: no usable reviews: 12 rows read, 12 dropped" in message
    assert "12 bad_rating (a Rating that is not 1 to 5, e.g. 'five'; source lines 2, 3" in message
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(["", *ds.RAW_COLUMNS]) + "\n", encoding="utf-8")
    with pytest.raises(RawDataError, match="has a header and no review rows"):
        ds.transform(ds.read_raw(header_only))
    with pytest.raises(RawDataError, match="has a header and no review rows"):
        ds.course_bucket_files(header_only)  # the course's bucket is not derived from it either


def test_transform_bad_ratings_dropped_with_lines(tmp_path: Path) -> None:
    ratings = [5, 0, 6, "five", 4.5, "", 3, -1, 4] + [5] * 10
    rows = [_row(i, f"review {i}", rating=r) for i, r in enumerate(ratings)]
    raw = ds.read_raw(_write_rows(tmp_path / "bad.csv", rows))
    res = ds.transform(raw)
    assert res.report.dropped["bad_rating"] == 5
    assert res.report.dropped_lines["bad_rating"] == [3, 4, 5, 6, 9]
    assert res.report.dropped["missing_star_rating"] == 1
    assert res.report.dropped_lines["missing_star_rating"] == [7]
    assert res.report.rows_kept == 13
    assert "bad_rating" in res.summary()
    assert res.source_lines.tolist() == [2, 8, 10, *range(11, 21)]


def test_transform_counts_match_the_course_code(synth_file: Path) -> None:
    """Same result as the course's pandas cells, on a file with line breaks in the text."""
    res = ds.transform(ds.read_raw(synth_file))
    df = pd.read_csv(synth_file, index_col=0)
    df = df.rename(
        columns={
            "Review Text": "review_body",
            "Rating": "star_rating",
            "Class Name": "product_category",
        }
    )[["review_body", "star_rating", "product_category"]].dropna()
    df["sentiment"] = df["star_rating"].map({1: -1, 2: -1, 3: 0, 4: 1, 5: 1})
    df = df.groupby("product_category").filter(lambda g: len(g) > 10)
    assert len(res.df) == len(df)
    assert res.report.sentiment_counts == df["sentiment"].value_counts().to_dict()
    assert res.df["product_category"].tolist() == df["product_category"].tolist()
    r = res.report
    assert r.rows_read - sum(r.dropped.values()) == r.rows_kept == len(res.df)
    assert "missing_review_body" in r.dropped
    assert all(len(v) <= 20 for v in r.dropped_lines.values())
    assert "rows read" in res.summary() and "sentiment -1:" in res.summary()


def test_transform_on_plain_dataframe(synth_df: pd.DataFrame) -> None:
    res = ds.transform(synth_df.head(500))
    assert res.report.line_kind == "index label"
    missing = synth_df.head(500)["Review Text"].isna()
    assert res.report.dropped_lines["missing_review_body"][:3] == list(missing[missing].index[:3])
    with pytest.raises(RawDataError, match="missing column"):
        ds.transform(synth_df.drop(columns=["Class Name"]))


def test_output_csv_is_safe_for_athena(tmp_path: Path) -> None:
    nasty = [
        'Love it, "really".\r\nSecond\tline,  with  spaces  ',
        "Trailing newline\n",
        '"""quoted"""',
        ",,,",  # nothing left: dropped
    ]
    rows = [_row(i, t) for i, t in enumerate(nasty)] + [_row(i + 4, "fine") for i in range(10)]
    raw = ds.read_raw(_write_rows(tmp_path / "nasty.csv", rows))
    res = ds.transform(raw)
    assert res.df["review_body"].tolist()[:3] == [
        "Love it 'really'. Second line with spaces",
        "Trailing newline",
        "'''quoted'''",
    ]
    assert res.report.dropped == {"empty_review_body": 1}
    data = res.to_csv_bytes()
    assert b'"' not in data and b"\r" not in data and b"\t" not in data
    lines = data.decode("utf-8").split("\n")
    assert lines[0] == "sentiment,review_body,product_category" and lines[-1] == ""
    split = [line.split(",") for line in lines[1:-1]]
    assert all(len(f) == 3 for f in split)
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert back.values.tolist() == split


def test_output_csv_on_synthetic(synth_file: Path) -> None:
    data = ds.transform(ds.read_raw(synth_file)).to_csv_bytes()
    lines = data.decode("utf-8").splitlines()
    assert all(line.count(",") == 2 for line in lines)
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert back.values.tolist() == [line.split(",") for line in lines[1:]]


# ---- obtain_raw ----------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every download fails as if offline; the URIs asked for are recorded."""
    calls: list[str] = []

    def fail(uri: str, dest: Path) -> None:
        calls.append(uri)
        raise ConnectionError("Could not connect to the endpoint URL")

    monkeypatch.setattr(ds, "_fetch", fail)
    monkeypatch.delenv("LAB_OFFLINE", raising=False)
    return calls


def _place_local(data_dir: Path, src: Path) -> Path:
    local = data_dir / "raw" / ds.RAW_FILENAME
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(src.read_bytes())
    return local


def test_obtain_parameter_beats_local_file(tmp_path: Path, synth_file: Path, no_network) -> None:
    _place_local(tmp_path, synth_file)
    other = ds.write_synthetic(tmp_path / "mine.csv", 100, 1)
    src = ds.obtain_raw(str(other), data_dir=tmp_path)
    assert src.origin == "parameter" and src.path == other and not src.synthetic
    assert src.sha256 == _sha(other) and src.n_bytes == other.stat().st_size
    assert "not a known copy" in src.verified
    assert no_network == []


def test_obtain_missing_parameter_raises(tmp_path: Path, no_network) -> None:
    with pytest.raises(RawDataError, match="does not exist"):
        ds.obtain_raw(str(tmp_path / "missing.csv"), data_dir=tmp_path)
    with pytest.raises(RawDataError, match="download failed"):
        ds.obtain_raw("https://example.invalid/reviews.csv", data_dir=tmp_path)
    with pytest.raises(RawDataError, match="download failed"):
        ds.obtain_raw("s3://some-bucket/reviews.csv", data_dir=tmp_path)
    assert no_network == ["https://example.invalid/reviews.csv", "s3://some-bucket/reviews.csv"]
    assert list((tmp_path / "raw").iterdir()) == []  # no partial files, no synthetic fallback


def test_obtain_parameter_url(tmp_path: Path, synth_file: Path, monkeypatch) -> None:
    monkeypatch.setattr(ds, "_fetch", lambda uri, dest: dest.write_bytes(synth_file.read_bytes()))
    src = ds.obtain_raw("https://example.org/data/reviews.csv?x=1", data_dir=tmp_path)
    assert src.origin == "parameter" and src.path == tmp_path / "raw" / "reviews.csv"
    assert src.sha256 == _sha(synth_file)


def test_obtain_local_file_beats_download(tmp_path: Path, synth_file: Path, no_network) -> None:
    local = _place_local(tmp_path, synth_file)
    src = ds.obtain_raw(data_dir=tmp_path)
    assert src.origin == "local file" and src.path == local and not src.synthetic
    assert ds.obtain_raw("", data_dir=tmp_path).origin == "local file"  # empty RAW_DATA
    assert no_network == []


def test_obtain_download_verified_then_moved(
    tmp_path: Path, synth_file: Path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("LAB_OFFLINE", raising=False)
    course = ds.write_course_form(synth_file, tmp_path / "course_copy.csv")
    fetched: list[str] = []

    def fetch(uri: str, dest: Path) -> None:
        fetched.append(uri)
        dest.write_bytes(course.read_bytes())

    monkeypatch.setattr(ds, "_fetch", fetch)
    # pretend our small course-form file is the course's copy
    monkeypatch.setattr(ds, "COURSE_COPY_BYTES", course.stat().st_size)
    monkeypatch.setattr(ds, "KAGGLE_ROWS", N)
    data_dir = tmp_path / "data"
    src = ds.obtain_raw(data_dir=data_dir)
    assert fetched == [ds.PUBLIC_URL]
    assert src.origin == "download" and not src.synthetic
    assert src.path == data_dir / "raw" / ds.RAW_FILENAME
    assert src.path.read_bytes() == course.read_bytes()
    assert "size matches the course's copy" in src.verified and "read_raw parsed" in src.verified
    assert sorted(p.name for p in (data_dir / "raw").iterdir()) == [ds.RAW_FILENAME]
    assert capsys.readouterr().out == ""
    # next time the local file is used, without a download
    assert ds.obtain_raw(data_dir=data_dir).origin == "local file" and fetched == [ds.PUBLIC_URL]


def test_obtain_download_that_fails_verification(
    tmp_path: Path, synth_file: Path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("LAB_OFFLINE", raising=False)
    monkeypatch.setattr(ds, "_fetch", lambda uri, dest: dest.write_bytes(b"<html>oops</html>"))
    src = ds.obtain_raw(data_dir=tmp_path, n_rows=200, seed=1)
    assert src.synthetic
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "failed verification" in out[0] and "using synthetic data" in out[0]
    assert not (tmp_path / "raw" / ds.RAW_FILENAME).exists()
    assert [p.name for p in (tmp_path / "raw").iterdir()] == [src.path.name]


def test_obtain_failed_download_falls_back_to_synthetic(tmp_path: Path, no_network, capsys) -> None:
    src = ds.obtain_raw(data_dir=tmp_path, n_rows=300, seed=5)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"download of {ds.PUBLIC_URI} failed (offline?): ConnectionError")
    assert out[0].endswith("using synthetic data")
    assert no_network == [ds.PUBLIC_URL]
    assert src.origin == "synthetic" and src.synthetic
    assert src.path == tmp_path / "raw" / "synthetic_reviews_seed5_n300.csv"
    assert src.sha256 == _sha(src.path) and src.n_bytes == src.path.stat().st_size
    assert "download failed" in src.reason
    assert len(ds.read_raw(src.path).df) == 300


@pytest.mark.parametrize("how", ["env", "argument"])
def test_obtain_offline_skips_download(tmp_path: Path, no_network, monkeypatch, how) -> None:
    if how == "env":
        monkeypatch.setenv("LAB_OFFLINE", "1")
        src = ds.obtain_raw(data_dir=tmp_path, n_rows=100)
        assert "LAB_OFFLINE=1" in src.reason
    else:
        src = ds.obtain_raw(data_dir=tmp_path, n_rows=100, allow_download=False)
        assert "allow_download=False" in src.reason
    assert src.synthetic and no_network == []


def test_obtain_synthetic_requested_and_reused(tmp_path: Path, synth_file: Path, no_network):
    _place_local(tmp_path, synth_file)
    first = ds.obtain_raw("synthetic", data_dir=tmp_path, n_rows=150, seed=9)
    assert first.synthetic and first.origin == "synthetic" and "requested" in first.reason
    mtime = first.path.stat().st_mtime_ns
    again = ds.obtain_raw("synthetic", data_dir=tmp_path, n_rows=150, seed=9)
    assert again.path == first.path and again.sha256 == first.sha256
    assert "reused" in again.verified and first.path.stat().st_mtime_ns == mtime
    first.path.write_text("tampered", encoding="utf-8")
    fixed = ds.obtain_raw("synthetic", data_dir=tmp_path, n_rows=150, seed=9)
    assert fixed.sha256 == first.sha256 == _sha(fixed.path)
    assert no_network == []


def test_announce(tmp_path: Path, synth_file: Path, no_network, capsys) -> None:
    real = ds.obtain_raw(str(synth_file), data_dir=tmp_path)
    real.announce()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "[parameter]" in out and str(synth_file) in out
    fake = ds.obtain_raw("synthetic", data_dir=tmp_path, n_rows=100)
    text = fake.announce()
    out = capsys.readouterr().out
    assert out == text + "\n"
    assert "SYNTHETIC DATA" in out and "NOT the course's" in out and "RAW_DATA" in out
    assert ds.RAW_FILENAME in out and "!" * 40 in out
    assert len(out.splitlines()) > 8


# ---- the download function itself, without a network ------------------------------------------


def test_fetch_s3_is_unsigned_with_one_short_attempt(tmp_path: Path, monkeypatch) -> None:
    import boto3
    from botocore import UNSIGNED

    seen: dict[str, object] = {}

    class FakeClient:
        def get_object(self, Bucket: str, Key: str) -> dict:
            seen.update(bucket=Bucket, key=Key)
            return {"Body": io.BytesIO(b"a,b\n1,2\n")}

    def client(service: str, config, region_name: str | None = None) -> FakeClient:
        seen.update(service=service, config=config)
        return FakeClient()

    monkeypatch.setattr(boto3, "client", client)
    ds._fetch(ds.PUBLIC_URI, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_bytes() == b"a,b\n1,2\n"
    cfg = seen["config"]
    assert seen["bucket"] == "dlai-practical-data-science"
    assert seen["key"] == "data/raw/" + ds.RAW_FILENAME
    assert cfg.signature_version is UNSIGNED and cfg.connect_timeout == 5
    assert cfg.retries["total_max_attempts"] == 1


def test_fetch_https_uses_a_timeout(tmp_path: Path, monkeypatch) -> None:
    import requests

    seen: dict[str, object] = {}

    class Resp:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def raise_for_status(self) -> None:
            pass

        def iter_content(self, size: int):
            yield b"hello"

    def get(url: str, timeout, stream: bool):
        seen.update(url=url, timeout=timeout)
        return Resp()

    monkeypatch.setattr(requests, "get", get)
    ds._fetch("https://example.org/r.csv", tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_bytes() == b"hello"
    assert seen["timeout"] is not None


def test_announce_shows_html_in_a_kernel(tmp_path: Path, monkeypatch, capsys) -> None:
    display_mod = pytest.importorskip("IPython.display")
    shown: list[object] = []
    monkeypatch.setattr(display_mod, "display", lambda obj: shown.append(obj))
    monkeypatch.setattr(ds, "_in_notebook", lambda: True)
    monkeypatch.setenv("LAB_OFFLINE", "1")
    ds.obtain_raw(data_dir=tmp_path, n_rows=50).announce()
    assert "SYNTHETIC DATA" in capsys.readouterr().out  # printed as well
    assert len(shown) == 1 and "SYNTHETIC DATA" in shown[0].data and "RAW_DATA" in shown[0].data
