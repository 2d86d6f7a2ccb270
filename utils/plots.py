"""The course's figures of the review data, drawn with seaborn from Athena query results.

Each ``plot_*`` function takes the DataFrame an Athena query returned (the column names are the
aliases of the course's SQL), and returns a titled, labelled matplotlib ``Figure``. The figures
are not registered with pyplot, so a notebook shows one by ending a cell with it and nothing is
left open between calls. :func:`save_figure` writes one as PNG to ``s3://<bucket>/images/``.

AWS equivalent: the course draws the same charts with seaborn / pandas in the notebook and
uploads them with ``sagemaker_session.upload_data``; here ``lab.wr.s3.upload`` on both backends.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from math import inf
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from utils.keys import IMAGES_PREFIX

DEFAULT_DPI = 300  # as the course saves its figures

# sentiment value -> name shown in legends and tick labels (from the data, never by position)
SENTIMENT_NAMES: dict[int, str] = {-1: "negative", 0: "neutral", 1: "positive"}
SENTIMENT_COLORS: dict[int, str] = {-1: "#d62728", 0: "#7f7f7f", 1: "#2ca02c"}
WORD_PERCENTILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


# -- helpers -------------------------------------------------------------------------------------
def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what}: expected a DataFrame (an Athena query result), got {type(df)}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}: the query result has no column(s) {missing}; it has {list(df.columns)}. "
            f"Alias the SQL columns as {list(columns)}."
        )
    if df.empty:
        raise ValueError(f"{what}: the query result is empty (no rows to plot)")


def _figure(size: tuple[float, float]) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots()


def sentiment_label(value: Any) -> str:
    """``1`` -> ``'positive (1)'``; an unknown value is shown as itself. AWS equivalent: none."""
    try:
        key = int(value)
    except (TypeError, ValueError):
        return str(value)
    name = SENTIMENT_NAMES.get(key)
    return f"{name} ({key})" if name else str(key)


def _color(value: Any) -> str | None:
    try:
        return SENTIMENT_COLORS.get(int(value))
    except (TypeError, ValueError):
        return None


# -- figures -------------------------------------------------------------------------------------
def plot_count_by_sentiment(df: pd.DataFrame) -> Figure:
    """Bar chart of reviews per sentiment, from ``sentiment, count_sentiment``.

    AWS equivalent: the course's ``sns.barplot(x='sentiment', y='count_sentiment')`` over
    ``wr.athena.read_sql_query`` output.
    """
    _require_columns(df, ["sentiment", "count_sentiment"], "plot_count_by_sentiment")
    data = df[["sentiment", "count_sentiment"]].copy()
    data["sentiment"] = data["sentiment"].astype(int)
    data = data.sort_values("sentiment")
    data["label"] = [sentiment_label(v) for v in data["sentiment"]]
    data["count_sentiment"] = data["count_sentiment"].astype(float)
    fig, ax = _figure((6, 4))
    palette = {sentiment_label(v): _color(v) or "#1f77b4" for v in data["sentiment"]}
    sns.barplot(data=data, x="label", y="count_sentiment", hue="label", palette=palette,
                legend=False, ax=ax)  # fmt: skip
    for container in ax.containers:
        ax.bar_label(container, fmt="{:,.0f}")
    ax.set_title("Total count of reviews by sentiment")
    ax.set_xlabel("Sentiment")
    ax.set_ylabel("Number of reviews")
    return fig


def plot_avg_sentiment_per_category(df: pd.DataFrame) -> Figure:
    """Horizontal bars of the average sentiment per product category (query order kept).

    AWS equivalent: the course's ``sns.barplot(y='product_category', x='avg_sentiment')``.
    """
    _require_columns(df, ["product_category", "avg_sentiment"], "plot_avg_sentiment_per_category")
    data = df[["product_category", "avg_sentiment"]].astype({"avg_sentiment": float})
    fig, ax = _figure((8, max(3.0, 0.35 * len(data) + 1)))
    sns.barplot(data=data, y="product_category", x="avg_sentiment", color="#1f77b4", ax=ax)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title("Average sentiment by product category")
    ax.set_xlabel("Average sentiment (-1 negative … 1 positive)")
    ax.set_ylabel("Product category")
    return fig


def plot_reviews_per_category(df: pd.DataFrame) -> Figure:
    """Horizontal bars of the number of reviews per product category (query order kept).

    AWS equivalent: the course's ``sns.barplot(y='product_category', x='count_reviews')``.
    """
    _require_columns(df, ["product_category", "count_reviews"], "plot_reviews_per_category")
    data = df[["product_category", "count_reviews"]].astype({"count_reviews": float})
    fig, ax = _figure((8, max(3.0, 0.35 * len(data) + 1)))
    sns.barplot(data=data, y="product_category", x="count_reviews", color="#1f77b4", ax=ax)
    ax.set_title("Number of reviews per product category")
    ax.set_xlabel("Number of reviews")
    ax.set_ylabel("Product category")
    return fig


def sentiment_share(df: pd.DataFrame) -> pd.DataFrame:
    """Percent of each sentiment per category, from ``product_category, sentiment, count_reviews``.

    One row per category (query order kept), one column per sentiment value found in the data
    (ascending), rows summing to 100. AWS equivalent: the course's pandas ``pivot`` of the
    Athena result.
    """
    _require_columns(df, ["product_category", "sentiment", "count_reviews"], "sentiment_share")
    data = df[["product_category", "sentiment", "count_reviews"]].copy()
    data["sentiment"] = data["sentiment"].astype(int)
    data["count_reviews"] = data["count_reviews"].astype(float)
    if data.duplicated(["product_category", "sentiment"]).any():
        raise ValueError(
            "sentiment_share: more than one row per (product_category, sentiment); "
            "GROUP BY product_category, sentiment in the SQL"
        )
    order = list(dict.fromkeys(data["product_category"]))
    counts = data.pivot(index="product_category", columns="sentiment", values="count_reviews")
    counts = counts.reindex(index=order, columns=sorted(counts.columns)).fillna(0.0)
    share = counts.div(counts.sum(axis=1), axis=0) * 100.0
    share.columns.name = "sentiment"
    return share


def plot_sentiment_share_per_category(df: pd.DataFrame) -> Figure:
    """Stacked horizontal bars: the sentiment breakdown (percent) of each product category.

    The legend is built from the pivoted columns' own sentiment values, so a colour can never be
    labelled with another sentiment (one copy of the course's notebook did that). AWS
    equivalent: the course's ``df.plot(kind='barh', stacked=True)`` over the Athena result.
    """
    share = sentiment_share(df)
    fig, ax = _figure((9, max(3.0, 0.35 * len(share) + 1.5)))
    left = pd.Series(0.0, index=share.index)
    positions = range(len(share))
    for value in share.columns:
        ax.barh(list(positions), share[value].to_numpy(), left=left.to_numpy(),
                color=_color(value), label=sentiment_label(value), edgecolor="white")  # fmt: skip
        left = left + share[value]
    ax.set_yticks(list(positions), labels=[str(c) for c in share.index])
    ax.invert_yaxis()  # first category of the query on top, as seaborn draws the others
    ax.set_xlim(0, 100)
    ax.set_title("Sentiment breakdown per product category")
    ax.set_xlabel("Share of the category's reviews (%)")
    ax.set_ylabel("Product category")
    ax.legend(title="Sentiment", loc="lower left", bbox_to_anchor=(1.0, 0.0), frameon=False)
    return fig


def word_count_summary(
    df: pd.DataFrame, percentiles: Iterable[float] = WORD_PERCENTILES
) -> pd.Series:
    """``num_words.describe(percentiles=...)`` as the course prints it (10th … 100th).

    AWS equivalent: pandas ``describe`` on ``CARDINALITY(SPLIT(review_body, ' '))`` from Athena.
    """
    _require_columns(df, ["num_words"], "word_count_summary")
    return df["num_words"].astype(float).describe(percentiles=list(percentiles))


def _nice_limit(value: float) -> float:
    """A round axis end just past ``value``: 115 -> 120, 1,480 -> 1,600, 8 -> 10."""
    unit = 10 ** max(1, math.floor(math.log10(max(value, 1))) - 1)
    return float(unit * math.ceil(value * 1.02 / unit))


def plot_words_per_review(
    df: pd.DataFrame,
    bins: int = 100,
    value_range: tuple[float, float] | None = None,
    percentiles: Iterable[float] = (0.1, 0.5, 0.9),
) -> Figure:
    """Histogram of words per review (``num_words``) with the mean and percentiles marked.

    The axis ends just past the longest review (``value_range`` sets it), bins hold whole word
    counts, and each marked line is labelled at the top on the side away from its neighbour, so
    a mean and a median one word apart stay readable. AWS equivalent: the course's
    ``df['num_words'].plot.hist(bins=100, range=[0, 256])`` with ``axvline`` at the mean.
    """
    _require_columns(df, ["num_words"], "plot_words_per_review")
    words = df["num_words"].astype(float)
    low, high = value_range if value_range is not None else (0.0, _nice_limit(words.max()))
    width = max(1.0, math.ceil((high - low) / bins))
    fig, ax = _figure((9, 4.5))
    edges = [low + i * width - 0.5 for i in range(int((high - low) / width) + 2)]
    sns.histplot(x=words, bins=edges, color="#9ecae1", edgecolor="white", ax=ax)
    marks = [(float(words.mean()), f"mean {words.mean():.1f}", "#d62728", "-", 2.0)]
    styles = ["--", ":", "-."]
    for i, q in enumerate(percentiles):
        value = float(words.quantile(q))
        label = f"{q * 100:.0f}th percentile {value:.0f}" + (" (median)" if q == 0.5 else "")
        marks.append((value, label, "black", styles[i % len(styles)], 1.2))
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top * 1.18)  # room for the labels above the bars
    ordered = sorted(marks, key=lambda m: m[0])
    for value, label, color, style, line in marks:
        ax.axvline(value, color=color, linestyle=style, linewidth=line, label=label)
    for rank, (value, label, color, _, _) in enumerate(ordered):
        left_gap = value - ordered[rank - 1][0] if rank else math.inf
        right_gap = ordered[rank + 1][0] - value if rank + 1 < len(ordered) else math.inf
        right = right_gap >= left_gap  # write on the roomier side
        height = top * (1.13 if rank % 2 == 0 else 1.04)
        ax.annotate(label, (value, height), xytext=(4 if right else -4, 0),
                    textcoords="offset points", ha="left" if right else "right", va="center",
                    fontsize="small", color=color)  # fmt: skip
    ax.set_xlim(low - 0.5, high)
    ax.set_title("Distribution of the number of words per review")
    ax.set_xlabel(f"Words per review (longest: {words.max():.0f})")
    ax.set_ylabel("Number of reviews")
    return fig


def plot_sentiment_by_category(df: pd.DataFrame, title: str | None = None) -> Figure:
    """Count plot of reviews per sentiment, one bar per product category (hue).

    AWS equivalent: the course's ``sns.countplot(data=df, x='sentiment', hue='product_category')``
    on the data Clarify analyses.
    """
    _require_columns(df, ["sentiment", "product_category"], "plot_sentiment_by_category")
    data = df[["sentiment", "product_category"]].copy()
    data["sentiment"] = data["sentiment"].astype(int)
    order = sorted(data["sentiment"].unique())
    hue_order = sorted(data["product_category"].astype(str).unique())
    data["product_category"] = data["product_category"].astype(str)
    fig, ax = _figure((11, 5))
    sns.countplot(data=data, x="sentiment", hue="product_category", order=order,
                  hue_order=hue_order, ax=ax)  # fmt: skip
    ax.set_xticks(range(len(order)), labels=[sentiment_label(v) for v in order])
    ax.set_title(title or "Reviews per sentiment and product category")
    ax.set_xlabel("Sentiment")
    ax.set_ylabel("Number of reviews")
    ax.legend(title="Product category", loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False, fontsize="small")  # fmt: skip
    return fig


# Clarify's pre-training bias metrics, as the figures explain their abbreviations
BIAS_METRIC_NAMES: dict[str, str] = {
    "CI": "class imbalance", "DPL": "difference in proportions of labels",
    "KL": "Kullback-Leibler divergence", "JS": "Jensen-Shannon divergence",
    "LP": "L2 norm of the label distributions", "TVD": "total variation distance",
    "KS": "Kolmogorov-Smirnov distance", "CDDL": "conditional demographic disparity in labels",
}  # fmt: skip


def axis_name(name: Any) -> str:
    """``product_category`` -> ``Product category``: a column name as an axis label."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def plot_bias_heatmaps(
    matrices: dict[str, pd.DataFrame], title: str = "Pre-training bias per product category"
) -> Figure:
    """Heatmaps of bias metrics side by side (e.g. unbalanced vs balanced), one per matrix.

    Each matrix has one row per facet value and one column per metric (see
    ``utils.bias.metrics_matrix``). Colours run from -1 to 1 around 0 (no bias); every cell is
    annotated with its value, and a line under the maps spells out each metric's abbreviation.
    AWS equivalent: the bias charts of the Clarify report in Studio.
    """
    if not matrices:
        raise ValueError("plot_bias_heatmaps: give at least one metrics matrix")
    rows = max(len(m) for m in matrices.values())
    fig = Figure(
        figsize=(5.5 * len(matrices) + 1.5, max(3.0, 0.4 * rows + 1.5) + 0.6), layout="constrained"
    )
    axes = fig.subplots(1, len(matrices), squeeze=False)[0]
    for i, (ax, (name, matrix)) in enumerate(zip(axes, matrices.items(), strict=True)):
        if matrix.empty:
            raise ValueError(f"plot_bias_heatmaps: the matrix {name!r} is empty")
        values = matrix.astype(float)
        labels = values.map(lambda v: "" if v != v else ("∞" if v == inf else f"{v:.2f}"))
        labels = labels.where(values != -inf, "-∞")
        sns.heatmap(values.clip(-2, 2), ax=ax, cmap="RdBu_r", vmin=-1, vmax=1, center=0,
                    annot=labels.to_numpy(), fmt="", annot_kws={"fontsize": 7}, linewidths=0.5,
                    cbar=i == len(matrices) - 1, yticklabels=i == 0)  # fmt: skip
        ax.tick_params(axis="y", rotation=0)
        ax.set_title(str(name))
        ax.set_xlabel("Metric")
        ax.set_ylabel(axis_name(matrix.index.name or "facet value") if i == 0 else "")
    fig.suptitle(title)
    shown = list(dict.fromkeys(c for m in matrices.values() for c in m.columns))
    legend = [f"{c}: {BIAS_METRIC_NAMES[c]}" for c in shown if c in BIAS_METRIC_NAMES]
    if legend:
        half = (len(legend) + 1) // 2
        lines = ["   ".join(legend[:half]), "   ".join(legend[half:])]
        note = "\n".join(line for line in lines if line) + "\n0 means no bias; colours from -1 to 1"
        fig.supxlabel(note, fontsize="small", color="#444444")
    return fig


def plotted_values(fig: Figure) -> list[float]:
    """The lengths of the bars drawn on a figure's first axes, in drawing order.

    For checks that a figure shows its query's numbers. AWS equivalent: none.
    """
    ax = fig.axes[0]
    values: list[float] = []
    for container in ax.containers:
        for patch in container.patches:
            if ax.name == "rectilinear" and getattr(container, "orientation", None) == "horizontal":
                values.append(float(patch.get_width()))
            else:
                values.append(float(patch.get_height()))
    return values


# -- saving --------------------------------------------------------------------------------------
def image_uri(lab: Any, name: str) -> str:
    """``s3://<bucket>/images/<name>.png`` for a figure name such as ``count_by_sentiment``.

    AWS equivalent: the course's upload target, ``s3://<bucket>/images/``.
    """
    stem = name[:-4] if name.lower().endswith(".png") else name
    if not _NAME_RE.match(stem) or ".." in stem:
        raise ValueError(
            f"figure name {name!r}: use letters, digits, '_', '-' or '.' (no folders), "
            "e.g. 'count_by_sentiment'"
        )
    return lab.s3_uri(f"{IMAGES_PREFIX}{stem}.png")


def figure_png(fig: Figure, dpi: int = DEFAULT_DPI) -> bytes:
    """The figure rendered as PNG bytes at ``dpi``. AWS equivalent: ``plt.savefig(dpi=300)``."""
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    if not isinstance(dpi, int | float) or dpi <= 0:
        raise ValueError(f"dpi={dpi!r}: expected a positive number (the course uses 300)")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def save_figure(lab: Any, fig: Figure, name: str, dpi: int = DEFAULT_DPI) -> str:
    """Save ``fig`` as PNG to ``s3://<bucket>/images/<name>.png``; returns the URI.

    AWS equivalent: ``plt.savefig(..., dpi=300)`` then ``sess.upload_data`` / ``wr.s3.upload``;
    here the PNG goes straight from memory through ``lab.wr.s3.upload`` on both backends.
    Saving again under the same name replaces the object.
    """
    uri = image_uri(lab, name)
    lab.wr.s3.upload(local_file=io.BytesIO(figure_png(fig, dpi)), path=uri)
    return uri
