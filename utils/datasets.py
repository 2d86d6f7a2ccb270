"""The raw reviews: obtain them, read them, transform ratings to sentiment, or generate a stand-in.

The course copies ``s3://dlai-practical-data-science/data/raw/womens_clothing_ecommerce_reviews.csv``
(the Kaggle "Women's E-Commerce Clothing Reviews" data set with commas and line breaks inside the
review text replaced by spaces), loads it with pandas, keeps three columns and writes the result
to ``data/transformed/`` for Glue and Athena. This module does the same on either backend:

- :func:`obtain_raw` finds the raw file: a path or URL you pass, a local copy, a download of the
  course's public copy, or (offline) synthetic reviews generated here, announced loudly.
- :func:`read_raw` reads either form of the raw file and keeps each record's line number.
- :func:`transform` is the course's transform, plus the text clean-up that Athena's default CSV
  SerDe (LazySimpleSerDe, which does not understand quotes) needs.
- :func:`generate_synthetic` / :func:`write_synthetic` make reviews with the real schema and
  realistic proportions, whose wording carries the rating with noise.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import math
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from utils.errors import RawDataError

__all__ = [
    "COURSE_COPY_BYTES",
    "KAGGLE_BYTES",
    "KAGGLE_SHA256",
    "PUBLIC_URI",
    "RAW_COLUMNS",
    "RAW_FILENAME",
    "RawRead",
    "RawSource",
    "TransformReport",
    "TransformResult",
    "athena_safe_text",
    "generate_synthetic",
    "obtain_raw",
    "read_raw",
    "transform",
    "write_course_form",
    "write_synthetic",
]

# --------------------------------------------------------------------------------------------
# Facts about the real data set
# --------------------------------------------------------------------------------------------

RAW_COLUMNS: tuple[str, ...] = (
    "Clothing ID",
    "Age",
    "Title",
    "Review Text",
    "Rating",
    "Recommended IND",
    "Positive Feedback Count",
    "Division Name",
    "Department Name",
    "Class Name",
)
KAGGLE_SHA256 = "bd93cc515747ad1f87b8bc863c9e40da758509e6db6506a96d06976e61e36ee0"
KAGGLE_BYTES = 8483448
COURSE_COPY_BYTES = 8457214
KAGGLE_ROWS = 23486
PUBLIC_URI = "s3://dlai-practical-data-science/data/raw/womens_clothing_ecommerce_reviews.csv"  # see COURSE_KEYS
# the same public object over plain HTTPS: the download of the data set is not an S3 call of
# the lab (on the local backend an s3:// URI means the lake, which has no copy before 01 ran)
PUBLIC_URL = (
    "https://dlai-practical-data-science.s3.amazonaws.com/"
    "data/raw/womens_clothing_ecommerce_reviews.csv"
)
RAW_FILENAME = "womens_clothing_ecommerce_reviews.csv"

TRANSFORMED_COLUMNS: tuple[str, ...] = ("sentiment", "review_body", "product_category")
INT_COLUMNS: tuple[str, ...] = (
    "Clothing ID",
    "Age",
    "Rating",
    "Recommended IND",
    "Positive Feedback Count",
)
TEXT_COLUMNS: tuple[str, ...] = tuple(c for c in RAW_COLUMNS if c not in INT_COLUMNS)
_RENAME = {"Review Text": "review_body", "Rating": "star_rating", "Class Name": "product_category"}

Form = Literal["kaggle", "course", "other"]
Origin = Literal["parameter", "local file", "download", "synthetic"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


# --------------------------------------------------------------------------------------------
# read_raw
# --------------------------------------------------------------------------------------------


@dataclass
class RawRead:
    """The raw file as read: ``df`` has the ten columns plus ``source_line`` (the physical line
    where each record starts); ``bad_rows`` lists (line, reason) for records that could not be
    parsed."""

    df: pd.DataFrame = field(repr=False)
    bad_rows: list[tuple[int, str]]
    path: Path
    sha256: str
    n_bytes: int
    form: Form
    has_index: bool = True
    extra_columns: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"RawRead(path={str(self.path)!r}, form={self.form!r}, rows={len(self.df)}, "
            f"bad_rows={len(self.bad_rows)}, n_bytes={self.n_bytes}, sha256={self.sha256[:12]}...)"
        )


def _decode(data: bytes, path: Path) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RawDataError(
            f"{path} is UTF-16 encoded, not UTF-8 (it starts with a UTF-16 byte-order mark). "
            "Re-save it as UTF-8 (e.g. 'CSV UTF-8' in Excel, or `iconv -f utf-16 -t utf-8`)."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        off = exc.start
        line = data.count(b"\n", 0, off) + 1
        col = off - (data.rfind(b"\n", 0, off) + 1) + 1
        raise RawDataError(
            f"{path} is not UTF-8: byte 0x{data[off]:02x} at byte offset {off} "
            f"(line {line}, column {col}) is not valid UTF-8 ({exc.reason}). "
            "Re-save the file as UTF-8 (e.g. 'CSV UTF-8' in Excel, or "
            "`iconv -f cp1252 -t utf-8 in.csv > out.csv`)."
        ) from None


def _int_column(values: list[str]) -> pd.Series:
    """Integers where every non-empty value is an integer; the raw strings otherwise, so that
    :func:`transform` can report the bad values instead of seeing them as missing."""
    s = pd.Series(values, dtype=object).str.strip()
    s = s.mask(s == "")
    num = pd.to_numeric(s, errors="coerce")
    if (num.isna() & s.notna()).any():
        return s
    if num.notna().all() and (num % 1 == 0).all():
        return num.astype("int64")
    if ((num % 1 == 0) | num.isna()).all():
        return num.astype("Int64")
    return num


def read_raw(path: str | os.PathLike[str]) -> RawRead:
    """Read the raw reviews CSV, in the Kaggle form or the course's form, with line numbers.

    AWS equivalent: the course's ``pd.read_csv`` of the file copied from
    ``s3://dlai-practical-data-science/data/raw/``. Records with the wrong number of fields are
    listed in ``bad_rows`` (never silently skipped); an empty file, a file that is not UTF-8, a
    header without the ten columns or a header of some other data set raise ``RawDataError``.
    """
    path = Path(path)
    if not path.exists():
        raise RawDataError(f"raw data file not found: {path}")
    if path.is_dir():
        raise RawDataError(f"raw data path is a directory, not a CSV file: {path}")
    data = path.read_bytes()
    if not data.strip():
        raise RawDataError(
            f"{path} is empty ({len(data)} bytes): expected the reviews CSV with a header line "
            f"({', '.join(RAW_COLUMNS)})."
        )
    text = _decode(data, path)
    reader = csv.reader(io.StringIO(text, newline=""))

    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    starts: list[int] = []
    bad_rows: list[tuple[int, str]] = []
    prev = 0
    try:
        for row in reader:
            start, end = prev + 1, reader.line_num
            prev = end
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line is not a record
            if header is None:
                header, header_line = [h.strip() for h in row], start
                continue
            if len(row) != len(header):
                reason = f"expected {len(header)} fields, found {len(row)}"
                if end > start:
                    reason += f" (record spans lines {start}-{end}; an unbalanced quote?)"
                bad_rows.append((start, reason))
                continue
            rows.append(row)
            starts.append(start)
    except csv.Error as exc:
        raise RawDataError(
            f"{path}: malformed CSV near line {prev + 1}: {exc} (an unbalanced quote?)"
        ) from None
    if header is None:
        raise RawDataError(f"{path} has only blank lines: expected a header and review rows.")

    has_index = header[0] == "" or _norm(header[0]) in {"unnamed: 0", "index"}
    named = header[1:] if has_index else header
    canonical = {_norm(c): c for c in RAW_COLUMNS}
    positions: dict[str, int] = {}
    extra: list[str] = []
    offset = 1 if has_index else 0
    for i, name in enumerate(named):
        col = canonical.get(_norm(name))
        if col is None:
            extra.append(name)
        elif col in positions:
            raise RawDataError(
                f"{path}: column {col!r} appears twice in the header (line {header_line})."
            )
        else:
            positions[col] = i + offset
    found = ", ".join(repr(h) for h in header[:15]) + (" ..." if len(header) > 15 else "")
    if {_norm(h) for h in header} >= {_norm(c) for c in TRANSFORMED_COLUMNS}:
        raise RawDataError(
            f"{path} looks like the transformed file (sentiment, review_body, product_category), "
            "not the raw reviews: pass the raw file, with the columns "
            f"{', '.join(RAW_COLUMNS)}."
        )
    if len(positions) < 3:
        raise RawDataError(
            f"{path}: the header (line {header_line}) is not the Women's E-Commerce Clothing "
            f"Reviews data set: expected the columns {', '.join(RAW_COLUMNS)}; found {found}."
        )
    missing = [c for c in RAW_COLUMNS if c not in positions]
    if missing:
        raise RawDataError(
            f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)} in the "
            f"header (line {header_line}); columns found: {found}."
        )

    cols: dict[str, object] = {}
    for col in RAW_COLUMNS:
        j = positions[col]
        values = [r[j] for r in rows]
        if col in INT_COLUMNS:
            cols[col] = _int_column(values)
        else:
            cols[col] = pd.Series([v if v != "" else np.nan for v in values], dtype=object)
    df = pd.DataFrame(cols)
    df["source_line"] = np.asarray(starts, dtype="int64")

    exact = list(named) == list(RAW_COLUMNS) and not extra
    review = df["Review Text"].dropna()
    delims = bool(review.str.contains(r"[,\r\n]", regex=True).any())
    if exact and has_index and delims:
        form: Form = "kaggle"
    elif exact and not delims:
        form = "course"
    else:
        form = "other"
    return RawRead(
        df=df,
        bad_rows=bad_rows,
        path=path,
        sha256=_sha256(data),
        n_bytes=len(data),
        form=form,
        has_index=has_index,
        extra_columns=extra,
    )


def write_course_form(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, index: bool = True
) -> Path:
    """Derive the course's copy of the raw file from the Kaggle form: every comma, CR and LF
    inside ``Review Text`` becomes a space (one character each; the rest is unchanged).

    On the Kaggle original this gives the course's 8,457,214-byte file. With ``index=False``
    the leading unnamed index column is left out.
    """
    raw = read_raw(src)
    if raw.bad_rows:
        line, reason = raw.bad_rows[0]
        raise RawDataError(f"{raw.path}: cannot derive the course form, line {line}: {reason}")
    text = _decode(raw.path.read_bytes(), raw.path)
    reader = csv.reader(io.StringIO(text, newline=""))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = next(r for r in reader if r)
    j = header.index("Review Text")
    writer.writerow(header if index or not raw.has_index else header[1:])
    for row in reader:
        if not row:
            continue
        row[j] = row[j].replace(",", " ").replace("\r", " ").replace("\n", " ")
        writer.writerow(row if index or not raw.has_index else row[1:])
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(out.getvalue().encode("utf-8"))
    return dst


COURSE_BUCKET = "dlai-practical-data-science"
COURSE_KEYS = {
    "raw": "data/raw/womens_clothing_ecommerce_reviews.csv",
    "transformed": "data/transformed/womens_clothing_ecommerce_reviews_transformed.csv",
    "balanced": "data/balanced/womens_clothing_ecommerce_reviews_balanced.csv",
}


def course_bucket_files(raw_path: str | os.PathLike[str], seed: int = 42) -> dict[str, bytes]:
    """The files of the course's public bucket, derived from the raw reviews by the project's
    own code: key -> content, for the keys of :data:`COURSE_KEYS`.

    - ``raw``: the course's form of the file (commas and line breaks in the text replaced by
      spaces: :func:`write_course_form`); a file already in that form is kept as it is;
    - ``transformed``: the course's transform (:func:`transform`; 22,626 rows on the real data),
      written without the index, as the course writes it;
    - ``balanced``: ``transformed`` balanced by sentiment (2,370 per class on the real data).

    AWS equivalent: ``s3://dlai-practical-data-science/`` as the course's labs read it.
    """
    import tempfile

    from utils.bias import balance

    raw = read_raw(raw_path)
    if raw.form == "course":
        course = Path(raw_path).read_bytes()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            course = write_course_form(raw_path, Path(tmp) / RAW_FILENAME).read_bytes()
    transformed = transform(raw).df
    balanced = balance(transformed, by=["sentiment"], seed=seed)
    return {
        COURSE_KEYS["raw"]: course,
        COURSE_KEYS["transformed"]: transformed.to_csv(index=False).encode("utf-8"),
        COURSE_KEYS["balanced"]: balanced.to_csv(index=False).encode("utf-8"),
    }


# --------------------------------------------------------------------------------------------
# transform
# --------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[,\s\x00-\x1f\x7f]+")


def athena_safe_text(values: pd.Series) -> pd.Series:
    """Make text safe for Athena's default CSV SerDe (LazySimpleSerDe does not understand
    quotes): commas, CR, LF, tabs and other control characters become spaces, double quotes
    become single quotes, runs of whitespace collapse to one space, ends are stripped."""
    s = values.astype(str).str.replace('"', "'", regex=False)
    return s.str.replace(_UNSAFE, " ", regex=True).str.strip()


@dataclass
class TransformReport:
    """What :func:`transform` did: rows read and kept, rows dropped per reason (with the first
    20 line numbers of each), and the sentiment counts of the result."""

    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    dropped_lines: dict[str, list[int]]
    sentiment_counts: dict[int, int]
    small_categories: dict[str, int]
    min_category_reviews: int
    texts_cleaned: int
    line_kind: str = "source line"
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few dropped values


@dataclass
class TransformResult:
    """The transformed reviews (``sentiment``, ``review_body``, ``product_category``), the
    report, and each kept row's source line."""

    df: pd.DataFrame
    report: TransformReport
    source_lines: pd.Series = field(repr=False)

    def summary(self) -> str:
        """A readable multi-line account of the transform."""
        r = self.report
        lines = [f"transform: {r.rows_read:,} rows read -> {r.rows_kept:,} rows kept"]
        for reason, n in r.dropped.items():
            where = ", ".join(str(x) for x in r.dropped_lines.get(reason, [])[:8])
            more = ", ..." if n > 8 else ""
            extra = ""
            if reason == "small_category":
                extra = " [" + ", ".join(f"{k}: {v}" for k, v in r.small_categories.items()) + "]"
            lines.append(f"  dropped {n:,} {reason}{extra} ({r.line_kind}s {where}{more})")
        if r.texts_cleaned:
            lines.append(
                f"  {r.texts_cleaned:,} texts had commas, quotes or line breaks replaced "
                "(Athena's CSV SerDe does not understand quoting)"
            )
        counts = " | ".join(f"{k}: {v:,}" for k, v in sorted(r.sentiment_counts.items()))
        lines.append(f"  sentiment {counts}")
        return "\n".join(lines)

    def to_csv_bytes(self) -> bytes:
        """The transformed data as CSV bytes (header, no index, LF line ends, no quoting), so
        that pandas and a plain split on commas read the same values."""
        out = self.df.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONE)
        return out.encode("utf-8")

    def __repr__(self) -> str:
        return f"TransformResult(rows={len(self.df)}, sentiment={self.report.sentiment_counts})"


def transform(raw: RawRead | pd.DataFrame, min_category_reviews: int = 10) -> TransformResult:
    """The course's transform: ``Review Text``/``Rating``/``Class Name`` become
    ``review_body``/``star_rating``/``product_category``; rows missing any of them are dropped;
    ratings 1-2 -> -1, 3 -> 0, 4-5 -> 1 (``sentiment``); categories with more than
    ``min_category_reviews`` reviews are kept; text is made safe for Athena's CSV SerDe.

    AWS equivalent: the pandas cells of the course's Week 1 lab, before uploading the CSV to
    ``s3://<bucket>/data/transformed/``. Every dropped row is counted under a reason, with its
    line numbers (source lines for a :class:`RawRead`, index labels for a plain DataFrame).

    Raises ``RawDataError`` when no row is left (a header-only file, every Rating unreadable):
    it says how many rows were read, how many were dropped and why, so that nothing empty is
    uploaded over the earlier transformed data.
    """
    if isinstance(raw, RawRead):
        src = raw.df
    elif isinstance(raw, pd.DataFrame):
        src = raw
    else:
        raise TypeError(f"transform() takes a RawRead or a DataFrame, not {type(raw).__name__}")
    src = src.rename(columns=_RENAME).reset_index(names="_label")
    need = ["review_body", "star_rating", "product_category"]
    missing = [c for c in need if c not in src.columns]
    if missing:
        raise RawDataError(
            f"transform: missing column(s) {missing}; columns found: {list(src.columns)} "
            "(expected Review Text, Rating, Class Name or their renamed forms)."
        )
    if "source_line" in src.columns:
        lines = src["source_line"]
        line_kind = "source line"
    else:
        lines = src["_label"]
        line_kind = "index label"
    df = src[need].copy()
    dropped: dict[str, int] = {}
    dropped_lines: dict[str, list[int]] = {}

    def drop(mask: pd.Series, reason: str) -> None:
        nonlocal df
        n = int(mask.sum())
        if n:
            dropped[reason] = dropped.get(reason, 0) + n
            dropped_lines.setdefault(reason, []).extend(lines[mask.index[mask]].tolist())
            dropped_lines[reason] = dropped_lines[reason][:20]
            df = df[~mask]

    rows_read = len(df)
    for col in need:
        drop(df[col].isna(), f"missing_{col}")

    stars = df["star_rating"]
    if stars.dtype == object:
        stars = stars.astype(str).str.strip()
    num = pd.to_numeric(stars, errors="coerce")
    bad_stars = ~num.isin([1, 2, 3, 4, 5])
    examples = {"bad_rating": [repr(v) for v in pd.unique(stars[bad_stars].astype(str))[:3]]}
    drop(bad_stars, "bad_rating")
    num = num[df.index].astype("int64")

    cleaned_body = athena_safe_text(df["review_body"])
    texts_cleaned = int((cleaned_body != df["review_body"].astype(str)).sum())
    df = df.assign(
        review_body=cleaned_body, product_category=athena_safe_text(df["product_category"])
    )
    drop(df["review_body"] == "", "empty_review_body")
    drop(df["product_category"] == "", "empty_product_category")

    counts = df["product_category"].value_counts()
    small = counts[counts <= min_category_reviews]
    drop(df["product_category"].isin(small.index), "small_category")

    sentiment = num[df.index].map({1: -1, 2: -1, 3: 0, 4: 1, 5: 1}).astype("int64")
    out = pd.DataFrame(
        {
            "sentiment": sentiment,
            "review_body": df["review_body"].astype(str),
            "product_category": df["product_category"].astype(str),
        }
    )
    kept_lines = lines[out.index].reset_index(drop=True)
    out = out.reset_index(drop=True)
    sc = out["sentiment"].value_counts()
    report = TransformReport(
        rows_read=rows_read,
        rows_kept=len(out),
        dropped=dropped,
        dropped_lines=dropped_lines,
        sentiment_counts={k: int(sc.get(k, 0)) for k in (-1, 0, 1)},
        small_categories={str(k): int(v) for k, v in small.items()},
        min_category_reviews=min_category_reviews,
        texts_cleaned=texts_cleaned,
        line_kind=line_kind,
        examples={k: v for k, v in examples.items() if v},
    )
    if report.rows_kept == 0:
        raise _no_usable_rows(raw, report)
    return TransformResult(df=out, report=report, source_lines=kept_lines)


def _no_usable_rows(raw: RawRead | pd.DataFrame, report: TransformReport) -> RawDataError:
    """The error for a transform that keeps nothing: rows read, dropped, and why."""
    where = str(raw.path) if isinstance(raw, RawRead) else "the DataFrame"
    why = {
        "missing_review_body": "no Review Text",
        "missing_star_rating": "no Rating",
        "missing_product_category": "no Class Name",
        "bad_rating": "a Rating that is not 1 to 5",
        "empty_review_body": "an empty Review Text",
        "empty_product_category": "an empty Class Name",
        "small_category": f"a Class Name with {report.min_category_reviews} reviews or fewer",
    }
    reasons = []
    for reason, n in report.dropped.items():
        lines = report.dropped_lines.get(reason, [])
        shown = ", ".join(str(x) for x in lines[:5]) + (", ..." if n > 5 else "")
        seen = report.examples.get(reason)
        values = f", e.g. {', '.join(seen)}" if seen else ""
        reasons.append(f"{n:,} {reason} ({why.get(reason, reason)}{values}; {report.line_kind}s "
                       f"{shown})")  # fmt: skip
    bad = raw.bad_rows if isinstance(raw, RawRead) else []
    if report.rows_read == 0:
        what = f"{where} has a header and no review rows that could be read"
        if bad:
            first = "; ".join(f"line {line}: {why}" for line, why in bad[:3])
            what += f" ({len(bad):,} records could not be parsed: {first})"
    else:
        what = (
            f"{where}: no usable reviews: {report.rows_read:,} rows read, "
            f"{report.rows_read - report.rows_kept:,} dropped ({'; '.join(reasons)})"
        )
        if bad:
            what += f", and {len(bad):,} records could not be parsed"
    return RawDataError(
        f"{what}. Nothing to upload: the transformed data would be empty. A usable review has a "
        "Review Text, a Rating of 1 to 5 and a Class Name with more than "
        f"{report.min_category_reviews} reviews (min_category_reviews)."
    )


# --------------------------------------------------------------------------------------------
# Synthetic reviews
# --------------------------------------------------------------------------------------------
# Aggregates computed once from the real file (counts per category out of 23,486 rows, and
# proportions); no record of the real data is reproduced.

_CLASS_COUNTS: dict[str | None, int] = {
    "Dresses": 6319,
    "Knits": 4843,
    "Blouses": 3097,
    "Sweaters": 1428,
    "Pants": 1388,
    "Jeans": 1147,
    "Fine gauge": 1100,
    "Skirts": 945,
    "Jackets": 704,
    "Lounge": 691,
    "Swim": 350,
    "Outerwear": 328,
    "Shorts": 317,
    "Sleep": 228,
    "Legwear": 165,
    "Intimates": 154,
    "Layering": 146,
    "Trend": 119,
    None: 14,
    "Casual bottoms": 2,
    "Chemises": 1,
}
# class -> (department, {division: share})
_CLASS_PLACE: dict[str, tuple[str, dict[str, float]]] = {
    "Blouses": ("Tops", {"General": 0.644, "General Petite": 0.356}),
    "Casual bottoms": ("Bottoms", {"General": 1.0}),
    "Chemises": ("Intimate", {"Initmates": 1.0}),
    "Dresses": ("Dresses", {"General": 0.590, "General Petite": 0.410}),
    "Fine gauge": ("Tops", {"General": 0.623, "General Petite": 0.377}),
    "Intimates": ("Intimate", {"Initmates": 1.0}),
    "Jackets": ("Jackets", {"General": 0.564, "General Petite": 0.436}),
    "Jeans": ("Bottoms", {"General": 0.686, "General Petite": 0.314}),
    "Knits": ("Tops", {"General": 0.673, "General Petite": 0.327}),
    "Layering": ("Intimate", {"Initmates": 1.0}),
    "Legwear": ("Intimate", {"Initmates": 1.0}),
    "Lounge": ("Intimate", {"General Petite": 0.337, "Initmates": 0.663}),
    "Outerwear": ("Jackets", {"General": 0.756, "General Petite": 0.244}),
    "Pants": ("Bottoms", {"General": 0.602, "General Petite": 0.398}),
    "Shorts": ("Bottoms", {"General": 1.0}),
    "Skirts": ("Bottoms", {"General": 0.636, "General Petite": 0.364}),
    "Sleep": ("Intimate", {"Initmates": 1.0}),
    "Sweaters": ("Tops", {"General": 0.630, "General Petite": 0.370}),
    "Swim": ("Intimate", {"Initmates": 1.0}),
    "Trend": ("Trend", {"General": 0.807, "General Petite": 0.193}),
}
# P(rating = 1..5 | class); the overall shares for classes too small to estimate
_RATING_OVERALL = (0.036, 0.067, 0.122, 0.216, 0.559)
_RATING_BY_CLASS: dict[str, tuple[float, ...]] = {
    "Blouses": (0.038, 0.074, 0.127, 0.216, 0.544),
    "Dresses": (0.036, 0.073, 0.133, 0.221, 0.538),
    "Fine gauge": (0.027, 0.068, 0.108, 0.209, 0.587),
    "Intimates": (0.045, 0.052, 0.104, 0.175, 0.623),
    "Jackets": (0.050, 0.054, 0.088, 0.168, 0.641),
    "Jeans": (0.026, 0.048, 0.100, 0.190, 0.636),
    "Knits": (0.037, 0.068, 0.127, 0.234, 0.535),
    "Layering": (0.021, 0.055, 0.062, 0.253, 0.610),
    "Legwear": (0.061, 0.036, 0.097, 0.176, 0.630),
    "Lounge": (0.033, 0.036, 0.113, 0.232, 0.586),
    "Outerwear": (0.043, 0.067, 0.088, 0.253, 0.549),
    "Pants": (0.030, 0.059, 0.113, 0.210, 0.588),
    "Shorts": (0.028, 0.054, 0.129, 0.211, 0.577),
    "Skirts": (0.036, 0.054, 0.114, 0.220, 0.576),
    "Sleep": (0.044, 0.066, 0.075, 0.193, 0.623),
    "Sweaters": (0.034, 0.074, 0.137, 0.188, 0.567),
    "Swim": (0.029, 0.080, 0.120, 0.209, 0.563),
    "Trend": (0.092, 0.092, 0.160, 0.218, 0.437),
}
_RECOMMEND_BY_RATING = (0.019, 0.060, 0.414, 0.967, 0.998)  # P(Recommended IND = 1 | rating)
_NO_TEXT_BY_RATING = (0.025, 0.010, 0.017, 0.033, 0.045)  # P(Review Text missing | rating)
_NO_TITLE_WITH_TEXT = 0.131  # P(Title missing | Review Text present)
_NO_TITLE_WITHOUT_TEXT = 0.999
# distinct Clothing IDs per class (the real file has 1,206 IDs, 0..1205)
_IDS_PER_CLASS = {
    "Blouses": 41, "Casual bottoms": 2, "Chemises": 1, "Dresses": 64, "Fine gauge": 34,
    "Intimates": 108, "Jackets": 33, "Jeans": 25, "Knits": 46, "Layering": 50, "Legwear": 50,
    "Lounge": 220, "Outerwear": 26, "Pants": 50, "Shorts": 86, "Skirts": 35, "Sleep": 92,
    "Sweaters": 38, "Swim": 161, "Trend": 38,
}  # fmt: skip
_N_CLOTHING_IDS = 1206
# quantiles at 0, 5, ..., 100 %
_AGE_QUANTILES = (
    18, 25, 28, 31, 33, 34, 36, 37, 39, 39, 41, 43, 45, 47, 49, 52, 54, 57, 61, 65, 99,
)  # fmt: skip
_WORD_QUANTILES = (
    2, 16, 22, 27, 31, 36, 40, 45, 49, 54, 59, 64, 69, 75, 82, 88, 93, 96, 98, 101, 115,
)  # fmt: skip
# P(Positive Feedback Count = 0..15); the rest is a tail above 15 (max 122)
_FEEDBACK_PMF = (
    0.4759, 0.1721, 0.0934, 0.0610, 0.0393, 0.0287, 0.0224, 0.0159,
    0.0136, 0.0111, 0.0096, 0.0076, 0.0062, 0.0043, 0.0052, 0.0040,
)  # fmt: skip
_MAX_TEXT_CHARS = 500  # the real texts were cut at about 500 characters
_NEWLINE_SHARE = 0.09  # share of texts with a line break; about 2/3 of those are CRLF

# ---- phrase banks: written for this project ------------------------------------------------

_NOUNS: dict[str, tuple[str, ...]] = {
    "Dresses": ("dress", "maxi dress", "midi dress", "shift dress", "slip dress", "sundress"),
    "Knits": ("top", "tee", "tank", "knit top", "t-shirt", "henley"),
    "Blouses": ("blouse", "shirt", "button-down", "tunic", "peasant top"),
    "Sweaters": ("sweater", "cardigan", "pullover", "turtleneck"),
    "Pants": ("pants", "trousers", "wide-leg pants", "cropped pants", "joggers"),
    "Jeans": ("jeans", "skinny jeans", "boyfriend jeans", "denim", "flares"),
    "Fine gauge": ("sweater", "fine gauge knit", "cardigan", "shell", "pullover"),
    "Skirts": ("skirt", "pencil skirt", "midi skirt", "mini skirt", "a-line skirt"),
    "Jackets": ("jacket", "blazer", "moto jacket", "denim jacket", "bomber"),
    "Lounge": ("hoodie", "lounge pants", "sweatshirt", "jumpsuit", "lounge set"),
    "Swim": ("swimsuit", "bikini", "one-piece", "cover-up", "bikini top"),
    "Outerwear": ("coat", "vest", "parka", "trench", "puffer"),
    "Shorts": ("shorts", "denim shorts", "linen shorts"),
    "Sleep": ("pajamas", "robe", "nightgown", "sleep shorts", "pj set"),
    "Legwear": ("leggings", "tights", "socks", "leg warmers"),
    "Intimates": ("bra", "bralette", "camisole", "slip", "undies"),
    "Layering": ("cami", "slip", "tank", "layering piece"),
    "Trend": ("top", "dress", "jumpsuit", "romper", "piece"),
    "Casual bottoms": ("pants", "shorts"),
    "Chemises": ("chemise", "slip"),
}
_GENERIC_NOUNS = ("top", "piece", "item", "dress", "sweater")
_FEATURES = (
    "fabric", "color", "fit", "cut", "length", "material", "neckline", "print", "pattern",
    "lining", "waist", "stitching", "detailing", "sleeves", "quality", "drape",
)  # fmt: skip
_COLOURS = (
    "navy", "black", "ivory", "red", "coral", "olive", "grey", "blue", "green", "white",
    "pink", "mustard", "burgundy", "teal", "cream", "motif", "crème", "rust", "lavender",
)  # fmt: skip
_FABRICS = ("cotton", "linen", "rayon", "silk", "knit", "wool", "denim", "chiffon", "jersey")
_SIZES = ("xs", "xxs", "s", "small", "m", "medium", "l", "large", "xl", "0", "2", "4", "6", "8",
          "10", "12", "14", "petite small", "petite xs", "regular medium", "p", "mp")  # fmt: skip
_OCCASIONS = ("work", "weddings", "summer", "the office", "date night", "travel", "the holidays",
              "brunch", "vacation", "everyday wear", "fall", "spring", "lounging")  # fmt: skip
_POS_ADJ = (
    "gorgeous", "soft", "flattering", "beautiful", "comfortable", "cute", "stunning", "lovely",
    "perfect", "elegant", "flowy", "amazing", "great", "fantastic", "pretty", "comfy",
    "versatile", "classic", "chic", "unique",
)  # fmt: skip
_NEG_ADJ = (
    "itchy", "boxy", "thin", "scratchy", "unflattering", "cheap", "sheer", "stiff", "shapeless",
    "frumpy", "awkward", "huge", "tight", "short", "strange", "see-through", "poorly made",
    "wrinkly", "tent-like", "odd",
)  # fmt: skip
_MILD_ADJ = ("fine", "okay", "ok", "decent", "nice enough", "a bit different", "interesting",
             "not bad", "average", "so-so")  # fmt: skip

_OPENINGS = (
    "I ordered this {noun} in {colour}.",
    "I bought this {noun} for {occasion}.",
    "I saw this {noun} in the store and tried it on.",
    "I was looking for a {noun} for {occasion}.",
    "This {noun} arrived yesterday.",
    "I ordered the {colour} and the {colour2}.",
    "Got this {noun} on sale.",
    "I have been eyeing this {noun} for a while.",
    "Ordered this online after reading the reviews.",
    "My sister recommended this {noun}.",
    "Tried this on at my local store.",
    "I purchased this {noun} in my usual size.",
)
_FIT = (
    "I'm {height} and {weight} lbs and ordered the {size}.",
    "I am {height}, {weight} lbs, {bust}, and the {size} fit.",
    "I'm {height}\" tall and usually wear a {size}.",
    "I ordered my usual size {size}.",
    "It runs true to size.",
    "It runs a bit small, so size up.",
    "It runs large, I would size down.",
    "I sized down to a {size}.",
    "The {size} fits but the {feature} is a little long.",
    "I'm usually a {size} in {brand} and the {size2} was right.",
    "I'm {height}\" and the length hits just above the knee.",
    "The {feature} is {mild} and the {feature2} is a bit long.",
    "The model is wearing a {size}, I think.",
    "I'm a {bust} and the top is fitted.",
    'It is a true "{size}".',
)
_DESCRIBE = (
    "The {fabric} is {mild} and a bit heavier than I expected.",
    "The color is {colour}, a little darker than online.",
    "It is {fabric} with a {feature} that is lined.",
    "There are small buttons on the back.",
    "It has pockets.",
    "It does need to be ironed.",
    "The {colour} is more muted than the picture.",
    "I washed it on cold and hung it dry.",
    "It is a {fabric} blend, {mild}.",
    "The straps are adjustable.",
    "I wore it with {shoes} and a {layer}.",
    "The waistband sits at the natural waist.",
    'The print is more "{colour}" than it looks on the site.',
)
_POSITIVE = (
    "I absolutely love this {noun}!",
    "The {feature} is {pos} and {pos2}.",
    "So {pos}!",
    "I get compliments every time I wear it.",
    "Worth every penny.",
    "I bought it in two colors.",
    "It fits like a glove.",
    "Perfect for {occasion}.",
    "This is my new favorite {noun}.",
    "The {fabric} is so {pos}, I want to live in it.",
    "It looks {pos} on.",
    "I was hesitant but I love it.",
    "Great quality for the price.",
    "Highly recommend!",
    "Very {pos} and {pos2}, a must have.",
    "It's {pos}, {pos2} and easy to wear.",
    "Such a {pos} {noun}, it washes well too.",
    "Love, love, love it!",
    "Definitely a keeper.",
    "Grab it before it sells out.",
)
_NEGATIVE = (
    "The {feature} is {neg} and {neg2}.",
    "It looked nothing like the picture.",
    "The fabric felt {neg} and {neg2}.",
    "Sadly this is going back.",
    "Very disappointed.",
    "It was way too {neg} on me.",
    "I wanted to love this {noun} but it was {neg}.",
    "Huge disappointment for the price.",
    "The quality is poor and it shrank after one wash.",
    "The {feature} was {neg}, which made it look {neg2}.",
    "I had such high hopes for this {noun}.",
    "Returned it the next day.",
    "Not worth the money at all.",
    "It is {neg} and the {feature2} is {neg2}.",
    "The seams came apart after one wear.",
    "Unfortunately it made me look {neg}.",
    "I would not recommend this {noun}.",
    "Save your money.",
    "It was {neg} in all the wrong places.",
    "Cheaply made, a real shame.",
)
_MIXED = (
    "I like the {feature} but the {feature2} is {neg}.",
    "It's {pos}, but not worth the full price.",
    "Nice {noun}, just not for me.",
    "It's {mild}.",
    "Not bad, not great.",
    "The {feature} is {pos} but it runs {runs}.",
    "I'm on the fence about it.",
    "I might keep it if it goes on sale.",
    "It's {mild}, I expected more for the price.",
    "The {colour} is {pos} but the {fabric} is {neg}.",
    "Love the {feature}, but the {feature2} is {neg2}.",
    "It's cute but a little {neg}.",
    "I will probably keep it, but I'm not sure.",
    "It's {mild} for {occasion}, nothing special.",
    "Wish the {feature} was {pos2}, then it would be perfect.",
    "I'm torn on this one.",
)
_CLOSINGS_POS = ("Highly recommend!", "Love it!", "Run, don't walk!", "Buy it!", "5 stars.",
                 "You won't regret it.", "So happy with it.")  # fmt: skip
_CLOSINGS_MIX = ("Might keep it, not sure yet.", "We'll see how it washes.", "Just ok.",
                 "Maybe in another color.", "Wait for a sale.")  # fmt: skip
_CLOSINGS_NEG = ("Going back.", "Returned.", "Pass on this one.", "Sending it back.",
                 "Disappointed.", "Not recommended.")  # fmt: skip
_SHORT = {
    0: ("Runs small.", "Poor quality.", "Not flattering.", "Cheap fabric, returned.", "Too short."),
    1: ("It's ok.", "Cute but runs large.", "Nice, but itchy.", "Just ok.", "Pretty color."),
    2: ("Love it!", "Beautiful {noun}.", "So comfy!", "Perfect fit.", "Gorgeous {noun}!"),
}
_TITLES = {
    0: ("Disappointed", "Not for me", "Runs small", "Poor quality", "Returned", "Cheap fabric",
        "Save your money", "Not as pictured", "Huge", "Sadly returning", "So sad", "Meh",
        "Unflattering {noun}", "Wanted to love it", "Itchy!"),
    1: ("Cute, but...", "Nice but runs large", "Pretty, but itchy", "Almost perfect",
        "Ok {noun}", "On the fence", "Not sure", "Cute {noun}, runs big", "Mixed feelings",
        "Nice color, odd fit", "Close, but no"),
    2: ("Love it!", "Beautiful {noun}", "Perfect {noun}", "So comfy", "Gorgeous!", "Great fit",
        "My new favorite", "Love, love, love", "Stunning", "Must have", "Great buy",
        "Cute and comfy", "Perfect for {occasion}", "Beautiful!", "Wonderful"),
}  # fmt: skip
# P(negative, mixed, positive sentence | rating); each review draws its own mix around these
_TONE_BY_RATING = (
    (0.72, 0.20, 0.08),
    (0.60, 0.30, 0.10),
    (0.20, 0.60, 0.20),
    (0.10, 0.30, 0.60),
    (0.05, 0.15, 0.80),
)
# Lower concentration = each review strays further from its rating's mix. With these values a
# TF-IDF + logistic regression on sentiment-balanced data scores about 0.70 (0.65 on the real
# reviews), so the models have something to learn but not everything.
_TONE_CONCENTRATION = 5.0
_JUDGEMENT_SHARE = 0.5  # share of sentences that judge (the rest describe fit and fabric)
_HEIGHTS = ("5'0", "5'1", "5'2", "5'3", "5'4", "5'5", "5'6", "5'7", "5'8", "5'9", "5'10")
_BUSTS = ("32a", "32b", "34b", "34c", "34d", "36c", "36dd", "38d", "30dd")
_BRANDS = ("most brands", "retailer brands", "pilcro", "ag", "paige", "tops")
_SHOES = ("sandals", "boots", "sneakers", "heels", "flats", "booties")
_LAYERS = ("denim jacket", "cardigan", "belt", "scarf", "blazer")
_RUNS = ("small", "large", "big", "long", "short")


class _Draw:
    """Uniform numbers from one ``default_rng`` stream, drawn in blocks (fast scalar picks)."""

    def __init__(self, rng: np.random.Generator, block: int = 65536) -> None:
        self.rng, self.block = rng, block
        self.buf = rng.random(block).tolist()
        self.i = 0

    def u(self) -> float:
        if self.i >= self.block:
            self.buf = self.rng.random(self.block).tolist()
            self.i = 0
        self.i += 1
        return self.buf[self.i - 1]

    def pick(self, bank: Sequence[str]) -> str:
        return bank[int(self.u() * len(bank))]

    def index(self, probs: Sequence[float]) -> int:
        x, acc = self.u(), 0.0
        for k, p in enumerate(probs):
            acc += p
            if x < acc:
                return k
        return len(probs) - 1


_SLOTS: dict[str, Sequence[str]] = {
    "colour": _COLOURS, "colour2": _COLOURS, "occasion": _OCCASIONS, "size": _SIZES,
    "size2": _SIZES, "feature": _FEATURES, "feature2": _FEATURES, "fabric": _FABRICS,
    "pos": _POS_ADJ, "pos2": _POS_ADJ, "neg": _NEG_ADJ, "neg2": _NEG_ADJ, "mild": _MILD_ADJ,
    "bust": _BUSTS, "brand": _BRANDS, "shoes": _SHOES, "layer": _LAYERS, "runs": _RUNS,
    "height": _HEIGHTS,
}  # fmt: skip
_SLOT = re.compile(r"\{(\w+)\}")


def _fill(d: _Draw, template: str, noun: str) -> str:
    def slot(m: re.Match[str]) -> str:
        key = m.group(1)
        if key == "noun":
            return noun
        if key == "weight":
            return str(100 + 5 * int(d.u() * 17))
        return d.pick(_SLOTS[key])

    return _SLOT.sub(slot, template)


def _review_text(d: _Draw, noun: str, tone: Sequence[float], n_words: int) -> str:
    banks = (_NEGATIVE, _MIXED, _POSITIVE)
    if n_words <= 6:
        return _fill(d, d.pick(_SHORT[d.index(tone)]), noun)
    sentences: list[str] = []
    words = 0
    if d.u() < 0.6:
        sentences.append(_fill(d, d.pick(_OPENINGS), noun))
        words += len(sentences[-1].split())
    while words < n_words:
        x = d.u()
        if x < _JUDGEMENT_SHARE:
            s = _fill(d, d.pick(banks[d.index(tone)]), noun)
        elif x < _JUDGEMENT_SHARE + 0.3:
            s = _fill(d, d.pick(_FIT), noun)
        else:
            s = _fill(d, d.pick(_DESCRIBE), noun)
        sentences.append(s)
        words += len(s.split())
    if n_words > 25 and d.u() < 0.45:
        closing = (_CLOSINGS_NEG, _CLOSINGS_MIX, _CLOSINGS_POS)[d.index(tone)]
        sentences.append(d.pick(closing))
    # the style of the real reviews: often lower case after the first sentence, double spaces
    lower = d.u() < 0.5
    sep = "  " if d.u() < 0.35 else " "
    parts = [sentences[0][0].upper() + sentences[0][1:]]
    for s in sentences[1:]:
        parts.append(s[0].lower() + s[1:] if lower else s)
    if len(parts) > 2 and d.u() < _NEWLINE_SHARE:
        k = 1 + int(d.u() * (len(parts) - 1))
        brk = "\r\n" if d.u() < 0.69 else "\n"
        if d.u() < 0.4:
            brk *= 2
        text = sep.join(parts[:k]) + brk + sep.join(parts[k:])
    else:
        text = sep.join(parts)
    tokens = text.split(" ")
    # trim to about the target length, then to the real texts' character limit
    if len(text.split()) > n_words + 6:
        tokens = tokens[: max(n_words, 3)]
    text = " ".join(tokens).rstrip()
    if len(text) > _MAX_TEXT_CHARS:
        text = text[:_MAX_TEXT_CHARS].rstrip()
    return text


def _quantile_sample(rng: np.random.Generator, quantiles: Sequence[float], n: int) -> np.ndarray:
    q = np.asarray(quantiles, dtype=float)
    levels = np.linspace(0.0, 1.0, len(q))
    return np.interp(rng.random(n), levels, q)


def _quota(counts: dict[str | None, int], n: int) -> list[str | None]:
    """Exactly proportional category counts for n rows (largest remainder)."""
    keys = list(counts)
    w = np.array([counts[k] for k in keys], dtype=float)
    exact = w / w.sum() * n
    base = np.floor(exact).astype(int)
    order = np.argsort(-(exact - base), kind="stable")
    base[order[: n - base.sum()]] += 1
    return [k for k, m in zip(keys, base, strict=True) for _ in range(m)]


def generate_synthetic(n_rows: int = KAGGLE_ROWS, seed: int = 42) -> pd.DataFrame:
    """Synthetic reviews with the real schema (the ten Kaggle columns) and realistic
    proportions: category shares, category -> department -> division, ratings per category,
    missing text and class rates, ages, feedback counts, review lengths.

    The review and title wording carries the rating with noise, so a bag-of-words model learns
    it, but not perfectly. Same ``seed`` -> same data. Not the course's data: a stand-in for
    running the labs offline.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    rng = np.random.default_rng(seed)
    classes = _quota(_CLASS_COUNTS, n_rows)
    perm = rng.permutation(n_rows)
    classes = [classes[i] for i in perm]
    d = _Draw(rng)

    # Clothing IDs: each class owns a pool of IDs; a few items get most of the reviews
    ids = rng.permutation(_N_CLOTHING_IDS)
    pools: dict[str, np.ndarray] = {}
    start = 0
    for cls, k in _IDS_PER_CLASS.items():
        pools[cls] = ids[start : start + k]
        start += k
    leftovers = ids[start:] if start < _N_CLOTHING_IDS else ids[:10]

    ages = np.rint(_quantile_sample(rng, _AGE_QUANTILES, n_rows)).astype(int)
    n_words = np.rint(_quantile_sample(rng, _WORD_QUANTILES, n_rows)).astype(int)

    out: dict[str, list[object]] = {c: [] for c in RAW_COLUMNS}
    feedback_tail = 1.0 - sum(_FEEDBACK_PMF)
    feedback_head = [p / (1.0 - feedback_tail) for p in _FEEDBACK_PMF]
    for i, cls in enumerate(classes):
        if cls is None:
            dept = div = None
            rating = 1 + d.index(_RATING_OVERALL)
            pool = leftovers
            noun = d.pick(_GENERIC_NOUNS)
        else:
            dept, divs = _CLASS_PLACE[cls]
            div = list(divs)[d.index(list(divs.values()))]
            rating = 1 + d.index(_RATING_BY_CLASS.get(cls, _RATING_OVERALL))
            pool = pools[cls]
            noun = d.pick(_NOUNS[cls])
        # popularity: item k of the pool is picked with weight ~ 1 / (k + 1)
        k = int(len(pool) ** d.u()) - 1
        clothing_id = int(pool[min(max(k, 0), len(pool) - 1)])
        recommended = int(d.u() < _RECOMMEND_BY_RATING[rating - 1])
        x = d.u()
        if x < 1.0 - feedback_tail:
            feedback = d.index(feedback_head)
        else:
            feedback = min(16 + int(-10.0 * math.log(1.0 - d.u())), 122)
        # this review's own mix of negative / mixed / positive remarks (Dirichlet around the
        # rating's mix): some 5-star reviews complain, some 1-star reviews praise
        base = _TONE_BY_RATING[rating - 1]
        g = [_gamma(d, _TONE_CONCENTRATION * b) for b in base]
        total = sum(g) or 1.0
        tone = [v / total for v in g]
        has_text = d.u() >= _NO_TEXT_BY_RATING[rating - 1]
        text = _review_text(d, noun, tone, int(n_words[i])) if has_text else None
        no_title = _NO_TITLE_WITH_TEXT if has_text else _NO_TITLE_WITHOUT_TEXT
        title = None if d.u() < no_title else _fill(d, d.pick(_TITLES[d.index(tone)]), noun)
        row = (clothing_id, int(ages[i]), title, text, rating, recommended, feedback, div, dept,
               cls)  # fmt: skip
        for col, value in zip(RAW_COLUMNS, row, strict=True):
            out[col].append(value)
    df = pd.DataFrame(
        {
            col: np.asarray(out[col], dtype="int64")
            if col in INT_COLUMNS
            else pd.Series([np.nan if v is None else v for v in out[col]], dtype=object)
            for col in RAW_COLUMNS
        }
    )
    return df


def _gamma(d: _Draw, shape: float) -> float:
    """A Gamma(shape, 1) draw from the uniform stream (Marsaglia-Tsang, with boosting for
    shape < 1); keeps every draw in one deterministic stream."""
    boost = 1.0
    if shape < 1.0:
        boost = d.u() ** (1.0 / shape)
        shape += 1.0
    dd = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * dd)
    while True:
        # a standard normal from two uniforms (Box-Muller)
        u1, u2 = d.u(), d.u()
        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
        v = (1.0 + c * z) ** 3
        if v > 0 and math.log(1.0 - d.u()) < 0.5 * z * z + dd - dd * v + dd * math.log(v):
            return dd * v * boost


def _synthetic_csv_bytes(n_rows: int, seed: int) -> bytes:
    df = generate_synthetic(n_rows=n_rows, seed=seed)
    return df.to_csv(index=True, lineterminator="\n").encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_synthetic(
    path: str | os.PathLike[str], n_rows: int = KAGGLE_ROWS, seed: int = 42
) -> Path:
    """Write :func:`generate_synthetic` reviews in the Kaggle form (leading unnamed index
    column; quoted commas, doubled quotes and some line breaks inside the text). Same seed ->
    identical bytes."""
    path = Path(path)
    _write_atomic(path, _synthetic_csv_bytes(n_rows, seed))
    return path


# --------------------------------------------------------------------------------------------
# obtain_raw
# --------------------------------------------------------------------------------------------


@dataclass
class RawSource:
    """Where the raw reviews came from: ``origin`` is "parameter", "local file", "download" or
    "synthetic"; ``verified`` says what was checked."""

    path: Path
    origin: Origin
    synthetic: bool
    sha256: str
    n_bytes: int
    verified: str
    reason: str = ""

    def describe(self) -> str:
        """One line: path, origin, size, checksum and what was verified."""
        return (
            f"raw data: {self.path} [{self.origin}] {self.n_bytes:,} bytes, "
            f"sha256 {self.sha256[:12]}...; {self.verified}"
        )

    def _banner_lines(self) -> list[str]:
        lines = [
            "SYNTHETIC DATA",
            "",
            "These reviews were generated by utils.datasets, not written by customers.",
            "Every count, chart, bias metric and model below comes from them:",
            "results are NOT the course's results.",
        ]
        if self.reason:
            lines += ["", *textwrap.wrap(f"Why: {self.reason}.", 76, break_long_words=False)]
        lines += [
            "",
            "To use the real data set, either:",
            f"  - place {RAW_FILENAME} in",
            f"      {self.path.parent}{os.sep}",
            '  - or set RAW_DATA = "<path, https:// or s3:// URL>" in the parameters cell',
            "  - or run once with network access: the labs then download the course's copy",
            f"      {PUBLIC_URI}",
        ]
        return lines

    def banner(self) -> str:
        """The multi-line warning shown when the data are synthetic ('' otherwise)."""
        if not self.synthetic:
            return ""
        lines = self._banner_lines()
        width = max(len(s) for s in lines)
        bar = "!" * (width + 6)
        return "\n".join([bar, bar, *(f"!! {s.ljust(width)} !!" for s in lines), bar, bar])

    def announce(self) -> str:
        """Print the one-line description and, for synthetic data, a loud banner (also as HTML
        inside a Jupyter kernel). Returns the printed text."""
        text = self.describe()
        if self.synthetic:
            text += "\n" + self.banner()
        print(text)
        if self.synthetic and _in_notebook():
            try:
                from IPython.display import HTML, display

                body = "<br>".join(html.escape(s) for s in self._banner_lines()[1:])
                display(
                    HTML(
                        '<div style="border:4px solid #c00;background:#fee;color:#900;'
                        'padding:10px;font-family:monospace;white-space:pre-wrap">'
                        '<div style="font-size:1.6em;font-weight:bold">'
                        f"&#9888; SYNTHETIC DATA &#9888;</div>{body}</div>"
                    )
                )
            except Exception:  # the HTML is a courtesy; the printed banner is the must
                pass
        return text

    def __str__(self) -> str:
        return self.describe()


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _offline() -> bool:
    return os.environ.get("LAB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _identify(sha: str, n_bytes: int) -> str:
    if sha == KAGGLE_SHA256:
        return "sha256 matches the Kaggle original"
    if n_bytes == COURSE_COPY_BYTES:
        return f"size matches the course's copy ({COURSE_COPY_BYTES:,} bytes)"
    return "not a known copy (neither the Kaggle original's sha256 nor the course copy's size)"


def _file_facts(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _fetch(uri: str, dest: Path) -> None:
    """Download ``uri`` (s3:// unsigned, or http(s)://) to ``dest``. Raises on any failure."""
    if uri.startswith("s3://"):
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket or not key:
            raise ValueError(f"not an s3://bucket/key URI: {uri}")
        config = Config(
            signature_version=UNSIGNED,
            connect_timeout=5,
            read_timeout=30,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        client = boto3.client("s3", config=config, region_name="us-east-1")
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        with dest.open("wb") as f:
            for chunk in iter(lambda: body.read(1 << 20), b""):
                f.write(chunk)
    elif uri.startswith(("https://", "http://")):
        import requests

        with requests.get(uri, timeout=(5, 30), stream=True) as resp:
            resp.raise_for_status()
            with dest.open("wb") as f:
                for chunk in resp.iter_content(1 << 20):
                    f.write(chunk)
    else:
        raise ValueError(f"cannot download {uri!r}: use an s3:// or https:// URL")


def _short(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else ""
    return f"{type(exc).__name__}: {first[:160]}" if first else type(exc).__name__


def _verify_course_copy(path: Path) -> str:
    """Checks a downloaded copy of the course file; returns what was verified or raises."""
    sha, n = _file_facts(path)
    if sha != KAGGLE_SHA256 and n != COURSE_COPY_BYTES:
        raise RawDataError(
            f"unexpected file: {n:,} bytes, sha256 {sha[:12]}... (expected {COURSE_COPY_BYTES:,} "
            f"bytes or sha256 {KAGGLE_SHA256[:12]}...)"
        )
    raw = read_raw(path)
    if len(raw.df) != KAGGLE_ROWS or raw.bad_rows:
        raise RawDataError(
            f"unexpected content: {len(raw.df):,} rows and {len(raw.bad_rows)} bad rows "
            f"(expected {KAGGLE_ROWS:,} rows, none bad)"
        )
    return f"{_identify(sha, n)}; read_raw parsed {KAGGLE_ROWS:,} rows x 10 columns ({raw.form})"


def obtain_raw(
    raw_data: str | None = None,
    *,
    data_dir: Path,
    n_rows: int = KAGGLE_ROWS,
    seed: int = 42,
    allow_download: bool | None = None,
) -> RawSource:
    """Find the raw reviews file, in this order:

    1. ``raw_data``: a local path, an https:// URL or an s3:// URL (fetched unsigned); a missing
       file or failed download raises ``RawDataError``. ``"synthetic"`` goes straight to 4;
       ``None`` or ``""`` means not given.
    2. ``data_dir/raw/womens_clothing_ecommerce_reviews.csv`` if present.
    3. A download of the course's public copy (``PUBLIC_URI``, over HTTPS), verified before it is
       saved as that file; skipped when ``allow_download`` is False or ``LAB_OFFLINE=1``; a
       failure prints one line and moves on.
    4. Synthetic reviews in ``data_dir/raw/synthetic_reviews_seed{seed}_n{n_rows}.csv``.

    AWS equivalent: the course's ``aws s3 cp s3://dlai-practical-data-science/data/raw/...``.
    Call ``.announce()`` on the result to tell the learner what they are working with.
    """
    data_dir = Path(data_dir)
    raw_dir = data_dir / "raw"
    reason = ""
    if raw_data is not None and not str(raw_data).strip():
        raw_data = None  # an empty RAW_DATA parameter means "not given"
    if raw_data is not None and str(raw_data).strip().lower() != "synthetic":
        spec = str(raw_data).strip()
        if spec.startswith(("s3://", "https://", "http://")):
            name = spec.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "raw_data_download.csv"
            dest = raw_dir / name
            raw_dir.mkdir(parents=True, exist_ok=True)
            tmp = raw_dir / f".{name}.{os.getpid()}.part"
            try:
                _fetch(spec, tmp)
                sha, n = _file_facts(tmp)
                if n == 0:
                    raise RawDataError("the downloaded file is empty")
                os.replace(tmp, dest)
            except Exception as exc:
                raise RawDataError(
                    f"RAW_DATA={spec!r}: download failed: {_short(exc)}. Check the URL and "
                    "your network, or download the file yourself and pass its local path."
                ) from exc
            finally:
                tmp.unlink(missing_ok=True)
            return RawSource(dest, "parameter", False, sha, n, f"downloaded from {spec}; "
                             f"{_identify(sha, n)}")  # fmt: skip
        path = Path(spec).expanduser()
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise RawDataError(
                f"RAW_DATA={spec!r}: {path.resolve()} {what}. Pass the path of the reviews CSV "
                f"(or leave RAW_DATA empty to use {raw_dir / RAW_FILENAME} or a download)."
            )
        sha, n = _file_facts(path)
        return RawSource(path, "parameter", False, sha, n, _identify(sha, n))

    local = raw_dir / RAW_FILENAME
    if raw_data is not None:
        reason = "synthetic data were requested (RAW_DATA='synthetic')"
    elif local.is_file():
        sha, n = _file_facts(local)
        return RawSource(local, "local file", False, sha, n, _identify(sha, n))
    elif allow_download is False or _offline():
        why = "allow_download=False" if allow_download is False else "LAB_OFFLINE=1"
        reason = f"no file at {local}, and the download was skipped ({why})"
    else:
        raw_dir.mkdir(parents=True, exist_ok=True)
        tmp = raw_dir / f".{RAW_FILENAME}.{os.getpid()}.part"
        try:
            _fetch(PUBLIC_URL, tmp)
        except Exception as exc:
            reason = f"no file at {local}, and the download failed (offline?)"
            print(
                f"download of {PUBLIC_URI} failed (offline?): {_short(exc)}; using synthetic data"
            )
        else:
            try:
                verified = _verify_course_copy(tmp)
                os.replace(tmp, local)
                sha, n = _file_facts(local)
                return RawSource(
                    local, "download", False, sha, n, f"downloaded from {PUBLIC_URI}; {verified}"
                )
            except Exception as exc:
                reason = f"no file at {local}, and the downloaded copy failed verification"
                print(
                    f"download of {PUBLIC_URI} failed verification: {_short(exc)}; "
                    "using synthetic data"
                )
        finally:
            tmp.unlink(missing_ok=True)

    path = raw_dir / f"synthetic_reviews_seed{seed}_n{n_rows}.csv"
    data = _synthetic_csv_bytes(n_rows, seed)
    if not (path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data):
        _write_atomic(path, data)
        verified = f"generated with seed={seed}, n_rows={n_rows}"
    else:
        verified = f"reused: same bytes as generate_synthetic(n_rows={n_rows}, seed={seed})"
    return RawSource(path, "synthetic", True, _sha256(data), len(data), verified, reason)


def _main(argv: Sequence[str] | None = None) -> int:
    """``python -m utils.datasets RAW_CSV``: read and transform a raw file, print the summary."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m utils.datasets RAW_CSV", file=sys.stderr)
        return 2
    raw = read_raw(args[0])
    print(raw)
    for line, reason in raw.bad_rows[:20]:
        print(f"  bad row at line {line}: {reason}")
    print(transform(raw).summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
