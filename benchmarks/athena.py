"""Benchmark: the course's six Athena queries on the local Athena against the same work in pandas.

Run ``python -m benchmarks.athena`` (``--rows N`` for the large size, ``--skip-large`` to run the
course size only). Two sizes, in one run:

- course size: 22,626 reviews (the real data from ``../shared/data`` when present, transformed
  with ``utils.datasets``; otherwise a synthetic frame of the same shape);
- large: ``--rows`` synthetic reviews (10 million by default), written once as a CSV into a
  temporary lab home.

For each query it reports the median time of the local Athena (``wr.athena.read_sql_query`` on
the ``local`` backend, CSV already parsed: "warm") and of pandas on a DataFrame already in memory,
and their ratio (pandas / local: above 1 means the local Athena is faster). It also reports the
"cold" costs: the local Athena's first query (which parses the CSV files as Athena's
LazySimpleSerDe does) and ``pandas.read_csv``. Athena itself took about 3 s per query in the
course. The last line printed is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from utils.local.athena import LocalAthena
from utils.local.catalog import LocalCatalog
from utils.local.lake import LocalLake

DATABASE = "dsoaws_deep_learning"
TABLE = "reviews"
COURSE_ROWS = 22626
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_FILE = REAL_DATA / "womens_clothing_ecommerce_reviews_kaggle.csv"
COLUMNS_TYPES = {"sentiment": "int", "review_body": "string", "product_category": "string"}

# The course's six queries (Week 1, step 3), as the labs write them.
COURSE_QUERIES: dict[str, str] = {
    "count_by_sentiment": (
        "SELECT sentiment, COUNT(sentiment) AS count_sentiment FROM reviews "
        "GROUP BY sentiment ORDER BY sentiment"
    ),
    "count_by_category": (
        "SELECT product_category, COUNT(product_category) AS count_product_category "
        "FROM reviews GROUP BY product_category ORDER BY count_product_category DESC"
    ),
    "avg_sentiment_by_category": (
        "SELECT product_category, AVG(sentiment) AS avg_sentiment FROM reviews "
        "GROUP BY product_category ORDER BY avg_sentiment DESC"
    ),
    "reviews_per_category": (
        "SELECT product_category, COUNT(*) AS count_reviews FROM reviews "
        "GROUP BY product_category ORDER BY count_reviews DESC"
    ),
    "count_by_category_and_sentiment": (
        "SELECT product_category, sentiment, COUNT(*) AS count_reviews FROM reviews "
        "GROUP BY product_category, sentiment "
        "ORDER BY product_category ASC, sentiment DESC, count_reviews"
    ),
    "words_per_review": ("SELECT CARDINALITY(SPLIT(review_body, ' ')) AS num_words FROM reviews"),
}


def _count(df: pd.DataFrame, key: list[str], value: str | None, name: str) -> pd.DataFrame:
    grouped = df.groupby(key, dropna=False, sort=False)
    counts = grouped[value].count() if value else grouped.size()
    return counts.reset_index(name=name)


def pandas_query(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """The same computation as ``COURSE_QUERIES[name]``, in pandas (NULL groups kept, as SQL)."""
    if name == "count_by_sentiment":
        out = _count(df, ["sentiment"], "sentiment", "count_sentiment")
        return out.sort_values("sentiment", na_position="last", kind="stable")
    if name == "count_by_category":
        out = _count(df, ["product_category"], "product_category", "count_product_category")
        return out.sort_values("count_product_category", ascending=False, kind="stable")
    if name == "avg_sentiment_by_category":
        out = df.groupby("product_category", dropna=False, sort=False)["sentiment"].mean()
        out = out.reset_index(name="avg_sentiment")
        return out.sort_values("avg_sentiment", ascending=False, na_position="last", kind="stable")
    if name == "reviews_per_category":
        out = _count(df, ["product_category"], None, "count_reviews")
        return out.sort_values("count_reviews", ascending=False, kind="stable")
    if name == "count_by_category_and_sentiment":
        out = _count(df, ["product_category", "sentiment"], None, "count_reviews")
        return out.sort_values(
            ["product_category", "sentiment", "count_reviews"],
            ascending=[True, False, True],
            na_position="last",
            kind="stable",
        )
    if name == "words_per_review":
        # the same as CARDINALITY(SPLIT(x, ' ')): one more than the number of spaces
        return (df["review_body"].str.count(" ") + 1).to_frame("num_words")
    raise KeyError(name)


# -- data --------------------------------------------------------------------------------------
_WORDS = (
    "love this dress top fit fits fabric color size small large true runs perfect soft "
    "comfortable cute beautiful flattering quality material wear ordered returned petite "
    "length waist great nice pretty little bit too short long tight loose sweater jeans shirt "
    "wash looks feel really very just would would not could sleeves back front the and a i "
    "it is was but so in on with for my of to"
).split()
_CATEGORIES = {
    "Dresses": 0.27, "Knits": 0.21, "Blouses": 0.13, "Sweaters": 0.06, "Pants": 0.06,
    "Jeans": 0.05, "Fine gauge": 0.05, "Skirts": 0.04, "Jackets": 0.03, "Lounge": 0.03,
    "Swim": 0.015, "Outerwear": 0.014, "Shorts": 0.013, "Sleep": 0.01, "Legwear": 0.007,
    "Intimates": 0.007, "Layering": 0.006, "Trend": 0.005,
}  # fmt: skip


def synthetic_reviews(
    n_rows: int, seed: int = 0, max_words: int = 115, pool: int = 50_000
) -> pd.DataFrame:
    """A seeded frame shaped like the transformed reviews (sentiment, review_body, category).

    Bodies are drawn from a pool of ``pool`` generated texts (1 to ``max_words`` words, no
    commas or quotes), so millions of rows are made in seconds.
    """
    rng = np.random.default_rng(seed)
    vocab = np.array(_WORDS)
    lengths = rng.integers(1, max_words + 1, size=min(pool, n_rows))
    words = vocab[rng.integers(0, len(vocab), size=int(lengths.sum()))]
    bodies = np.array(
        [" ".join(chunk) for chunk in np.split(words, np.cumsum(lengths)[:-1])], dtype=object
    )
    cats = np.array(list(_CATEGORIES), dtype=object)
    weights = np.array(list(_CATEGORIES.values()))
    return pd.DataFrame(
        {
            "sentiment": rng.choice(
                np.array([-1, 0, 1], dtype=np.int8), size=n_rows, p=[0.105, 0.125, 0.77]
            ),
            "review_body": bodies[rng.integers(0, len(bodies), size=n_rows)],
            "product_category": cats[rng.choice(len(cats), size=n_rows, p=weights / weights.sum())],
        }
    )


def course_frame() -> tuple[pd.DataFrame, str]:
    """The course-size frame: the real transformed reviews when present, else synthetic."""
    if REAL_FILE.is_file():
        try:
            from utils import datasets

            frame = datasets.transform(datasets.read_raw(REAL_FILE)).df
            return frame[list(COLUMNS_TYPES)].reset_index(drop=True), f"real data ({REAL_FILE})"
        except (ImportError, AttributeError) as exc:
            print(f"(real data present but utils.datasets is not usable: {exc})", file=sys.stderr)
    return synthetic_reviews(COURSE_ROWS, seed=1), f"synthetic, {COURSE_ROWS:,} rows"


def write_csv(frame: pd.DataFrame, path: Path) -> int:
    """Write the reviews as the course does (header, no index); return the file size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(frame) > 1_000_000:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.Table.from_pandas(frame, preserve_index=False)
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    else:
        frame.to_csv(path, index=False)
    return path.stat().st_size


def setup_lab(home: Path, frame: pd.DataFrame) -> tuple[LocalAthena, Path, int]:
    """A lab home with the reviews CSV under data/transformed/ and the reviews table."""
    lake = LocalLake(home)
    prefix = "s3://bench-bucket/data/transformed/"
    csv_path = lake.path_for(prefix + "reviews.csv")
    size = write_csv(frame, csv_path)
    catalog = LocalCatalog(home, lake)
    catalog.create_database(name=DATABASE, exist_ok=True)
    catalog.create_csv_table(
        database=DATABASE, table=TABLE, path=prefix, columns_types=COLUMNS_TYPES,
        mode="overwrite", skip_header_line_count=1, sep=",",
    )  # fmt: skip
    return LocalAthena(home, lake, catalog), csv_path, size


# -- timing ------------------------------------------------------------------------------------
def _time(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _median(fn: Callable[[], object], repeats: int, budget_s: float) -> tuple[float, int]:
    """Median milliseconds of up to ``repeats`` runs, stopping early after ``budget_s``."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats:
        times.append(_time(fn))
        if time.perf_counter() - start > budget_s:
            break
    return statistics.median(times), len(times)


def run_size(
    label: str, frame: pd.DataFrame, source: str, repeats: int, budget_s: float
) -> dict[str, object]:
    """Time the six queries at one size; print a table; return the numbers."""
    with tempfile.TemporaryDirectory(prefix="bench-athena-") as tmp:
        t0 = time.perf_counter()
        n_rows = len(frame)
        athena, csv_path, size = setup_lab(Path(tmp), frame)
        write_s = time.perf_counter() - t0
        del frame
        gc.collect()
        first = next(iter(COURSE_QUERIES.values()))
        cold_local = _time(lambda: athena.read_sql_query(first, database=DATABASE))
        load_pandas = _time(lambda: pd.read_csv(csv_path))
        df = pd.read_csv(csv_path)
        results: dict[str, dict[str, float]] = {}
        print(f"\n{label}: {len(df):,} rows, {size / 1e6:,.1f} MB CSV ({source}); "
              f"CSV written in {write_s:.1f} s")  # fmt: skip
        print(f"  cold: local Athena first query (parses the CSV) {cold_local:,.0f} ms; "
              f"pandas.read_csv {load_pandas:,.0f} ms")  # fmt: skip
        print(f"  {'query':<34}{'local ms':>11}{'pandas ms':>11}{'pandas/local':>14}{'runs':>6}")
        for name, sql in COURSE_QUERIES.items():
            local_ms, local_n = _median(
                lambda sql=sql: athena.read_sql_query(sql, database=DATABASE), repeats, budget_s
            )
            pandas_ms, pandas_n = _median(
                lambda name=name, df=df: pandas_query(name, df), repeats, budget_s
            )
            ratio = pandas_ms / local_ms if local_ms else float("inf")
            results[name] = {
                "local_ms": round(local_ms, 2),
                "pandas_ms": round(pandas_ms, 2),
                "ratio_pandas_over_local": round(ratio, 2),
                "runs_local": local_n,
                "runs_pandas": pandas_n,
            }
            print(f"  {name:<34}{local_ms:>11,.1f}{pandas_ms:>11,.1f}{ratio:>14.2f}"
                  f"{min(local_n, pandas_n):>6}")  # fmt: skip
        del df
        gc.collect()
    return {
        "rows": n_rows,
        "csv_mb": round(size / 1e6, 1),
        "source": source,
        "cold_local_first_query_ms": round(cold_local, 1),
        "cold_pandas_read_csv_ms": round(load_pandas, 1),
        "queries": results,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; print a table per size and a final JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the large size")
    parser.add_argument("--repeats", type=int, default=7, help="runs per query (median)")
    parser.add_argument("--max-words", type=int, default=30,
                        help="longest synthetic review at the large size (words)")  # fmt: skip
    parser.add_argument("--skip-large", action="store_true", help="course size only")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report: dict[str, object] = {
        "benchmark": "athena",
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m": load,
            "python": platform.python_version(),
        },  # fmt: skip
        "sizes": {},
    }
    frame, source = course_frame()
    sizes: dict[str, object] = {}
    sizes["course"] = run_size("course size", frame, source, args.repeats, budget_s=10)
    if not args.skip_large:
        t0 = time.perf_counter()
        big = synthetic_reviews(args.rows, seed=2, max_words=args.max_words)
        print(f"\n(generated {args.rows:,} synthetic rows in {time.perf_counter() - t0:.1f} s)")
        sizes["large"] = run_size(
            f"{args.rows:,} rows", big, f"synthetic, up to {args.max_words} words per review",
            repeats=min(args.repeats, 3), budget_s=20,
        )  # fmt: skip
    for size in sizes.values():
        queries: dict[str, dict[str, float]] = size["queries"]  # type: ignore[index,assignment]
        size["median_local_ms"] = round(
            statistics.median(q["local_ms"] for q in queries.values()), 2
        )  # type: ignore[index]
        size["slowest_local_ms"] = max(q["local_ms"] for q in queries.values())  # type: ignore[index]
        size["min_ratio_pandas_over_local"] = min(
            q["ratio_pandas_over_local"] for q in queries.values()
        )  # type: ignore[index]
    report["sizes"] = sizes
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
