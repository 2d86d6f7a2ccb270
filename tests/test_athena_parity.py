"""The course's six queries on the local Athena give what pandas computes on the same file.

The pandas side reads the file the way Athena's LazySimpleSerDe does (an independent, plain
Python reader below), so a file with quoted commas gives Athena's answer, not pandas.read_csv's.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.athena import (  # noqa: E402
    COLUMNS_TYPES,
    COURSE_QUERIES,
    DATABASE,
    TABLE,
    pandas_query,
    synthetic_reviews,
)
from utils.local.athena import LocalAthena  # noqa: E402
from utils.local.catalog import LocalCatalog  # noqa: E402
from utils.local.lake import LocalLake  # noqa: E402

ORDER_KEYS = {  # how each query orders its rows: (columns, ascending)
    "count_by_sentiment": (["sentiment"], [True]),
    "count_by_category": (["count_product_category"], [False]),
    "avg_sentiment_by_category": (["avg_sentiment"], [False]),
    "reviews_per_category": (["count_reviews"], [False]),
    "count_by_category_and_sentiment": (
        ["product_category", "sentiment", "count_reviews"],
        [True, False, True],
    ),
}


def lazy_simple_read(path: Path, skip: int = 1) -> pd.DataFrame:
    """Read a CSV as Athena's LazySimpleSerDe does: split on ',', no quotes, bad ints NULL."""
    text = path.read_bytes().decode("utf-8")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = []
    for line in lines[skip:]:
        fields = line.split(",")
        fields += [None] * (3 - len(fields))
        sentiment = fields[0]
        try:
            value = int(sentiment) if sentiment and sentiment.lstrip("+-").isdigit() else None
        except ValueError:
            value = None
        rows.append((value, fields[1], fields[2]))
    frame = pd.DataFrame(rows, columns=list(COLUMNS_TYPES))
    frame["sentiment"] = frame["sentiment"].astype("Int64")
    return frame


def local_lab(home: Path, frame_or_text: pd.DataFrame | str) -> tuple[LocalAthena, Path]:
    lake = LocalLake(home)
    prefix = "s3://lab-bucket/data/transformed/"
    path = lake.path_for(prefix + "reviews.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frame_or_text, str):
        path.write_text(frame_or_text, encoding="utf-8")
    else:
        frame_or_text.to_csv(path, index=False)
    catalog = LocalCatalog(home, lake)
    catalog.create_database(name=DATABASE, exist_ok=True)
    catalog.create_csv_table(
        database=DATABASE, table=TABLE, path=prefix, columns_types=COLUMNS_TYPES,
        mode="overwrite", skip_header_line_count=1, sep=",",
    )  # fmt: skip
    return LocalAthena(home, lake, catalog), path


def _normal(frame: pd.DataFrame) -> list[tuple]:
    """Rows as plain Python values (NULL -> None, floats rounded), sorted."""
    out = []
    for row in frame.itertuples(index=False):
        values = []
        for v in row:
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                values.append(None)
            elif isinstance(v, float | np.floating):
                values.append(round(float(v), 9))
            elif isinstance(v, np.integer):
                values.append(int(v))
            else:
                values.append(v)
        out.append(tuple(values))
    return sorted(out, key=lambda r: tuple((x is None, str(type(x)), x or 0) for x in r))


def _check_order(name: str, frame: pd.DataFrame) -> None:
    if name not in ORDER_KEYS:
        return
    cols, ascending = ORDER_KEYS[name]
    keys = [tuple(r) for r in frame[cols].itertuples(index=False)]

    def key(row: tuple) -> tuple:
        out = []
        for value, asc in zip(row, ascending, strict=True):
            missing = value is None or (not isinstance(value, str) and pd.isna(value))
            if isinstance(value, str):
                out.append(
                    (missing, value if asc else "".join(chr(0x10FFFF - ord(c)) for c in value))
                )
            else:
                out.append((missing, 0 if missing else (value if asc else -value)))
        return tuple(out)

    assert keys == sorted(keys, key=key), f"{name}: rows are not in ORDER BY order"


def compare_all(athena: LocalAthena, expected_frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    results = {}
    for name, sql in COURSE_QUERIES.items():
        local = athena.read_sql_query(sql, database=DATABASE)
        expected = pandas_query(name, expected_frame)
        assert list(local.columns) == list(expected.columns), name
        assert _normal(local) == _normal(expected), name
        _check_order(name, local)
        results[name] = local
    return results


def test_synthetic_reviews_match_pandas(tmp_path):
    frame = synthetic_reviews(3000, seed=7, pool=500)
    athena, path = local_lab(tmp_path / "home", frame)
    assert (frame["review_body"].str.contains(",")).sum() == 0
    pd.testing.assert_frame_equal(
        lazy_simple_read(path), pd.read_csv(path).astype({"sentiment": "Int64"})
    )  # on a file without quotes, Athena's reader and pandas agree
    results = compare_all(athena, pd.read_csv(path))
    dtypes = {n: {c: str(t) for c, t in f.dtypes.items()} for n, f in results.items()}
    assert dtypes["count_by_sentiment"] == {"sentiment": "Int32", "count_sentiment": "Int64"}
    assert dtypes["avg_sentiment_by_category"]["avg_sentiment"] == "float64"
    assert dtypes["words_per_review"] == {"num_words": "Int64"}
    words = results["words_per_review"]["num_words"].astype(float)
    described = words.describe(percentiles=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    expected = (pd.read_csv(path)["review_body"].str.split(" ").str.len()).describe(
        percentiles=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    )
    assert np.allclose(described.values, expected.values)


def test_quoted_commas_split_as_on_athena(tmp_path):
    frame = synthetic_reviews(400, seed=3, pool=100)
    rng = np.random.default_rng(0)
    with_comma = rng.random(len(frame)) < 0.2
    frame.loc[with_comma, "review_body"] = frame.loc[with_comma, "review_body"].str.replace(
        " ", ", ", n=1
    )
    athena, path = local_lab(tmp_path / "home", frame)
    assert '"' in path.read_text()  # pandas quoted the fields with commas
    as_athena = lazy_simple_read(path)
    compare_all(athena, as_athena)
    # ... which is not what pandas.read_csv sees: categories hold fragments of review text
    local = athena.read_sql_query(COURSE_QUERIES["reviews_per_category"], database=DATABASE)
    categories = set(local["product_category"].dropna())
    assert len(categories) > frame["product_category"].nunique()
    assert any(c.endswith('"') for c in categories)


def test_messy_file_matches_the_lazy_simple_reader(tmp_path):
    text = (
        "sentiment,review_body,product_category\n"
        '1,"Great, fits",Dresses\n0,plain,Knits,extra\n1,missing\nx,bad int,Tops\n\n'
        "-1,fine,Dresses\r\n1,again,Knits\n"
    )
    athena, path = local_lab(tmp_path / "home", text)
    compare_all(athena, lazy_simple_read(path))


@pytest.mark.realdata
def test_real_data_matches_pandas(tmp_path, real_data_path):
    datasets = pytest.importorskip("utils.datasets")
    if not hasattr(datasets, "transform") or not hasattr(datasets, "read_raw"):
        pytest.skip("utils.datasets has no transform/read_raw yet")
    frame = datasets.transform(datasets.read_raw(real_data_path)).df[list(COLUMNS_TYPES)]
    athena, path = local_lab(tmp_path / "home", frame)
    results = compare_all(athena, lazy_simple_read(path))
    counts = results["count_by_sentiment"].set_index("sentiment")["count_sentiment"].to_dict()
    assert counts == {-1: 2370, 0: 2823, 1: 17433}
    assert results["reviews_per_category"]["count_reviews"].sum() == 22626
    assert math.isclose(
        results["words_per_review"]["num_words"].mean(),
        (frame["review_body"].str.count(" ") + 1).mean(),
    )
