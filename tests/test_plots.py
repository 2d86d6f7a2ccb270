"""utils.plots: each figure shows the numbers of its query result, titled and labelled; PNGs land
in the lake (and in S3 on moto) as valid images; plotted numbers equal SQL on the same data."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from utils import plots

COUNTS = pd.DataFrame({"sentiment": [-1, 0, 1], "count_sentiment": [300, 340, 2200]})
AVG = pd.DataFrame({"product_category": ["Swim", "Dresses", "Trend"],
                    "avg_sentiment": [0.84, 0.71, 0.52]})  # fmt: skip
PER_CATEGORY = pd.DataFrame({"product_category": ["Dresses", "Knits", "Trend"],
                             "count_reviews": [781, 588, 15]})  # fmt: skip
# ordered as the course's SQL: category ascending, sentiment descending
BY_CATEGORY_AND_SENTIMENT = pd.DataFrame({
    "product_category": ["Blouses", "Blouses", "Blouses", "Layering", "Layering"],
    "sentiment": [1, 0, -1, 1, -1],
    "count_reviews": [276, 62, 48, 15, 5],
})  # fmt: skip


def _labels(fig: Figure) -> tuple[str, str, str]:
    ax = fig.axes[0]
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


@pytest.mark.parametrize(
    "make",
    [
        lambda: plots.plot_count_by_sentiment(COUNTS),
        lambda: plots.plot_avg_sentiment_per_category(AVG),
        lambda: plots.plot_reviews_per_category(PER_CATEGORY),
        lambda: plots.plot_sentiment_share_per_category(BY_CATEGORY_AND_SENTIMENT),
        lambda: plots.plot_words_per_review(pd.DataFrame({"num_words": [3, 10, 50, 100]})),
        lambda: plots.plot_sentiment_by_category(BY_CATEGORY_AND_SENTIMENT),
    ],
    ids=["count", "avg", "per_category", "share", "words", "countplot"],
)
def test_every_figure_is_titled_and_labelled(make):
    fig = make()
    assert isinstance(fig, Figure)
    assert all(_labels(fig)), f"missing title or axis label: {_labels(fig)}"


def test_bars_show_the_query_numbers_in_order():
    assert plots.plotted_values(plots.plot_count_by_sentiment(COUNTS)) == [300, 340, 2200]
    fig = plots.plot_avg_sentiment_per_category(AVG)
    assert plots.plotted_values(fig) == pytest.approx([0.84, 0.71, 0.52])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Swim", "Dresses", "Trend"]
    assert plots.plotted_values(plots.plot_reviews_per_category(PER_CATEGORY)) == [781, 588, 15]


def test_count_by_sentiment_labels_each_bar_with_its_own_value():
    shuffled = COUNTS.iloc[[2, 0, 1]]  # the query's order must not matter
    fig = plots.plot_count_by_sentiment(shuffled)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["negative (-1)", "neutral (0)", "positive (1)"]
    assert plots.plotted_values(fig) == [300, 340, 2200]


def test_sentiment_share_pivots_by_value_and_sums_to_100():
    share = plots.sentiment_share(BY_CATEGORY_AND_SENTIMENT)
    assert list(share.columns) == [-1, 0, 1]  # by value, whatever the SQL's order
    assert list(share.index) == ["Blouses", "Layering"]
    assert share.loc["Blouses", 1] == pytest.approx(100 * 276 / 386)
    assert share.loc["Layering", 0] == 0.0  # a missing combination is 0 %, not dropped
    assert np.allclose(share.sum(axis=1), 100.0)


def test_stacked_chart_legend_matches_the_colour_of_each_sentiment():
    fig = plots.plot_sentiment_share_per_category(BY_CATEGORY_AND_SENTIMENT)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["negative (-1)", "neutral (0)", "positive (1)"]
    share = plots.sentiment_share(BY_CATEGORY_AND_SENTIMENT)
    for container, value in zip(ax.containers, share.columns, strict=True):
        assert container.get_label() == plots.sentiment_label(value)
        widths = [p.get_width() for p in container.patches]
        assert widths == pytest.approx(list(share[value]))


def test_words_histogram_marks_mean_and_percentiles():
    words = pd.DataFrame({"num_words": np.arange(1, 201)})
    fig = plots.plot_words_per_review(words)
    lines = {line.get_label(): line.get_xdata()[0] for line in fig.axes[0].get_lines()}
    assert lines["mean 100.5"] == pytest.approx(100.5)
    assert any(label.startswith("50th percentile") for label in lines)
    summary = plots.word_count_summary(words)
    assert summary["50%"] == pytest.approx(100.5) and summary["100%"] == 200
    assert "10%" in summary and "90%" in summary


def test_words_histogram_ends_past_the_longest_review_and_labels_close_lines_apart():
    words = pd.DataFrame({"num_words": [3, 40, 59, 59, 60, 61, 62, 115]})
    fig = plots.plot_words_per_review(words)
    ax = fig.axes[0]
    assert 115 < ax.get_xlim()[1] <= 125  # not the course's fixed 256
    assert "longest: 115" in ax.get_xlabel()
    labels = {t.get_text(): t for t in ax.texts}
    mean, median = labels["mean 57.4"], labels["50th percentile 60 (median)"]
    # the mean and the median lie close: their labels go to opposite sides, at other heights
    assert {mean.get_horizontalalignment(), median.get_horizontalalignment()} == {"left", "right"}
    assert mean.xyann != median.xyann or mean.xy[1] != median.xy[1]
    assert plots.plot_words_per_review(words, value_range=(0, 256)).axes[0].get_xlim()[1] == 256


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: plots.plot_count_by_sentiment(AVG), "count_sentiment"),
        (lambda: plots.plot_reviews_per_category(COUNTS.iloc[0:0]), "no column"),
        (lambda: plots.plot_count_by_sentiment(COUNTS.iloc[0:0]), "empty"),
        (lambda: plots.sentiment_share(pd.concat([BY_CATEGORY_AND_SENTIMENT] * 2)), "GROUP BY"),
        (lambda: plots.plot_words_per_review([1, 2, 3]), "DataFrame"),
    ],
)
def test_wrong_query_results_fail_clearly(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_save_figure_writes_a_valid_png_under_images(any_lab):
    any_lab.ensure_bucket()
    fig = plots.plot_count_by_sentiment(COUNTS)
    uri = plots.save_figure(any_lab, fig, "count_by_sentiment", dpi=40)
    assert uri == f"s3://{any_lab.bucket}/images/count_by_sentiment.png"
    assert any_lab.wr.s3.list_objects(any_lab.s3_uri("images/")) == [uri]
    buffer = io.BytesIO()
    any_lab.wr.s3.download(path=uri, local_file=buffer)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        image.verify()
        assert image.format == "PNG"
    # saving again replaces the object: still one file
    plots.save_figure(any_lab, fig, "count_by_sentiment.png", dpi=40)
    assert any_lab.wr.s3.list_objects(any_lab.s3_uri("images/")) == [uri]


def test_dpi_sets_the_resolution():
    fig = plots.plot_count_by_sentiment(COUNTS)
    small = Image.open(io.BytesIO(plots.figure_png(fig, dpi=30)))
    large = Image.open(io.BytesIO(plots.figure_png(fig, dpi=60)))
    assert large.size[0] == pytest.approx(2 * small.size[0], abs=4)
    with pytest.raises(ValueError, match="dpi"):
        plots.figure_png(fig, dpi=0)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "images/x"])
def test_figure_names_cannot_escape_images(local_lab, name):
    with pytest.raises(ValueError, match="figure name"):
        plots.image_uri(local_lab, name)


def test_plotted_numbers_equal_sql_on_the_same_data(local_lab):
    """The figures drawn from local Athena results show what SQL says, and what pandas says."""
    pytest.importorskip("utils.local.athena", reason="utils/local/athena.py (Athena issue) missing")
    from utils import datasets

    df = datasets.transform(datasets.generate_synthetic(1500, seed=7)).df
    wr = local_lab.wr
    wr.s3.to_csv(df, local_lab.s3_uri("data/transformed/reviews.csv"), index=False)
    wr.catalog.create_database(name=local_lab.database, exist_ok=True)
    wr.catalog.create_csv_table(database=local_lab.database, table="reviews",
                                path=local_lab.s3_uri("data/transformed/"),
                                columns_types={"sentiment": "int", "review_body": "string",
                                               "product_category": "string"},
                                mode="overwrite", skip_header_line_count=1, sep=",")  # fmt: skip

    def sql(statement: str) -> pd.DataFrame:
        return wr.athena.read_sql_query(sql=statement, database=local_lab.database)

    counts = sql("SELECT sentiment, COUNT(sentiment) AS count_sentiment FROM reviews "
                 "GROUP BY sentiment ORDER BY sentiment")  # fmt: skip
    expected = df["sentiment"].value_counts().sort_index()
    assert plots.plotted_values(plots.plot_count_by_sentiment(counts)) == list(expected)

    avg = sql("SELECT product_category, AVG(sentiment) AS avg_sentiment FROM reviews "
              "GROUP BY product_category ORDER BY avg_sentiment DESC")  # fmt: skip
    by_pandas = df.groupby("product_category")["sentiment"].mean()
    fig = plots.plot_avg_sentiment_per_category(avg)
    assert plots.plotted_values(fig) == pytest.approx(list(by_pandas[avg["product_category"]]))

    per_cat_sent = sql("SELECT product_category, sentiment, COUNT(*) AS count_reviews FROM reviews "
                       "GROUP BY product_category, sentiment "
                       "ORDER BY product_category ASC, sentiment DESC")  # fmt: skip
    crosstab = pd.crosstab(df["product_category"], df["sentiment"], normalize="index") * 100
    share = plots.sentiment_share(per_cat_sent)
    pd.testing.assert_frame_equal(share, crosstab.loc[share.index], check_names=False,
                                  check_dtype=False)  # fmt: skip

    words = sql("SELECT CARDINALITY(SPLIT(review_body, ' ')) AS num_words FROM reviews")
    by_python = df["review_body"].map(lambda text: len(text.split(" ")))
    assert sorted(words["num_words"]) == sorted(by_python)


def test_bias_heatmaps_side_by_side_annotate_every_value():
    matrix = pd.DataFrame({"CI": [0.5, float("inf")], "KL": [0.0, -0.25]}, index=["a", "b"])
    matrix.index.name = "product_category"
    fig = plots.plot_bias_heatmaps({"unbalanced": matrix, "balanced": matrix * 0})
    heatmaps = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in heatmaps] == ["unbalanced", "balanced"]
    assert [t.get_text() for t in heatmaps[0].texts] == ["0.50", "0.00", "∞", "-0.25"]
    assert heatmaps[0].get_ylabel() == "Product category"  # not the column's raw name
    note = fig._supxlabel.get_text()  # every abbreviation shown is spelled out under the maps
    assert "CI: class imbalance" in note and "KL: Kullback-Leibler divergence" in note
    assert "DPL" not in note and "0 means no bias" in note
    assert fig.get_suptitle()
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_bias_heatmaps({})
