"""BlazingText in supervised mode (the course's fourth lab): the course's helpers.

AWS equivalent: none of these is an AWS call. ``07_blazingtext`` trains, deploys and predicts
with the sagemaker SDK's own classes on ``lab.session`` (``sagemaker.estimator.Estimator`` with
the BlazingText image, ``fit``, ``training_job_analytics``, ``deploy``, ``predict``) and uploads
the channels with ``sess.upload_data``; the local backend runs the same calls
(:mod:`utils.local.sagemaker`, with fastText as BlazingText's engine,
:mod:`utils.local.blazingtext`). What stays here is what the course does in pandas and Python:

- Data: :func:`word_tokenize` and :func:`tokenize` (the course's nltk ``word_tokenize``
  preparation, done by a regex tokenizer that follows nltk's Treebank rules closely),
  :func:`to_label` / :func:`from_label` (``-1`` <-> ``__label__-1``), :func:`prepare_data`,
  :func:`split_data` (stratified, seeded, training rows shuffled), :func:`channel_lines` (the
  text of a channel file: one ``__label__<value> <tokens>`` line per review) and
  :func:`read_channel` (an uploaded channel read back).
- Metrics: :func:`metric_values` turns ``estimator.training_job_analytics.dataframe()`` into
  ``{"train:accuracy": ..., "validation:accuracy": ...}``.
- Scoring: :func:`predict_sentiments` (a BlazingText endpoint asked in batches) and
  :func:`compare_with_autopilot` (this model and the Autopilot candidate of ``05_autopilot`` /
  ``06_deploy_predict`` on the same reviews); :data:`SAMPLE_REVIEWS`, the course's three reviews.
- :func:`model_ready`: the prerequisite check for what ``07_blazingtext`` leaves.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from utils import keys
from utils.errors import LabError
from utils.local.blazingtext import LABEL_PREFIX, ChannelDataError
from utils.local.blazingtext import parse_line as _parse_line

__all__ = [
    "LABEL_PREFIX",
    "METRICS",
    "SAMPLE_REVIEWS",
    "ChannelDataError",
    "Comparison",
    "autopilot_holdout",
    "autopilot_predictions",
    "channel_lines",
    "compare_with_autopilot",
    "exclude_reviews",
    "from_label",
    "metric_values",
    "model_ready",
    "predict_sentiments",
    "prepare_data",
    "read_channel",
    "split_data",
    "to_label",
    "tokenize",
    "word_tokenize",
]

METRICS = ("train:accuracy", "validation:accuracy")  # what BlazingText's supervised mode emits
SAMPLE_REVIEWS = ("This product is great!", "OK, but not great", "This is not the right product.")


# -- tokenizing --------------------------------------------------------------------------------
# The course tokenizes with nltk.word_tokenize: punkt sentence splitting, then the Treebank word
# tokenizer on each sentence. nltk and its punkt model are not installed here; these rules follow
# the Treebank tokenizer's (contractions, punctuation, the sentence-final period) and split
# sentences after '.', '!' or '?' followed by white space (punkt also knows abbreviations).
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_STARTING = (
    (re.compile(r'^"'), "``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r'([ (\[{<])("|\'{2})'), r"\1 `` "),
    (re.compile(r"(?i)(')(?!re|ve|ll|m|t|s|d|n)(\w)\b"), r"\1 \2"),
)
_PUNCTUATION = (
    (re.compile(r"([^.])(\.)([\]\)}>\"']*)\s*$"), r"\1 \2 \3 "),  # the sentence's last period
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}"), r" \g<0> "),
    (re.compile(r"[;@#$%&*]"), r" \g<0> "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[\]\[(){}<>]"), r" \g<0> "),
    (re.compile(r"--"), r" -- "),
)
_ENDING = (
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"(\S)('')"), r"\1 \2 "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
    (re.compile(r"(?i)\b(can)(not)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(gon|wan)(na)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(got)(ta)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(gim|lem)(me)\b"), r" \1 \2 "),
)


def word_tokenize(text: str) -> list[str]:
    """Split a text into words and punctuation, as ``nltk.word_tokenize`` does (approximately).

    ``"I'm not a fan of this product!"`` -> ``['I', "'m", 'not', 'a', 'fan', 'of', 'this',
    'product', '!']``; ``"don't"`` -> ``['do', "n't"]``. AWS equivalent: none (the course runs
    nltk in the notebook); nltk also knows abbreviations such as "e.g." that end no sentence.
    """
    tokens: list[str] = []
    for sentence in _SENTENCES.split(str(text).strip()):
        for pattern, replacement in _STARTING + _PUNCTUATION:
            sentence = pattern.sub(replacement, sentence)
        sentence = f" {sentence} "
        for pattern, replacement in _ENDING:
            sentence = pattern.sub(replacement, sentence)
        tokens += sentence.split()
    return tokens


def tokenize(review: Any) -> str:
    """The course's ``tokenize``: drop commas and double quotes, lowercase, tokenize, join.

    ``"I don't like this product!"`` -> ``"i do n't like this product !"``. Use it for the
    training files and for the reviews sent to the endpoint (the course forgot the lowercasing
    when predicting, so its model saw "This" where it had learned "this").
    """
    text = str(review).replace(",", "").replace('"', "").lower()
    return " ".join(word_tokenize(text))


# -- labels and data ---------------------------------------------------------------------------
def to_label(sentiment: Any) -> str:
    """``-1`` -> ``'__label__-1'`` (an existing prefix is kept once), as the course's prepare_data."""
    value = str(sentiment).strip()
    value = value.removeprefix(LABEL_PREFIX)
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"label {sentiment!r}: a label needs a value without white space")
    return LABEL_PREFIX + value


def from_label(label: str) -> int | str:
    """``'__label__-1'`` -> ``-1`` (an int when the value is one, else the text)."""
    if not isinstance(label, str) or not label.startswith(LABEL_PREFIX):
        raise ValueError(f"{label!r} is not a BlazingText label: expected '{LABEL_PREFIX}<value>'")
    value = label[len(LABEL_PREFIX) :]
    try:
        return int(value)
    except ValueError:
        return value


def _need_columns(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ChannelDataError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ChannelDataError(
            f"{where}: no column(s) {missing}; the columns are {list(map(str, df.columns))}"
        )


def prepare_data(
    df: pd.DataFrame, label: str = "sentiment", text: str = "review_body"
) -> pd.DataFrame:
    """The course's ``prepare_data``: ``__label__`` prefixes and tokenized reviews (a new frame).

    Returns the columns ``sentiment`` and ``review_body`` (the input is not modified). AWS
    equivalent: the same pandas code in the course's notebook.
    """
    _need_columns(df, [label, text], "prepare_data")
    return pd.DataFrame(
        {"sentiment": df[label].map(to_label), "review_body": df[text].map(tokenize)}
    ).reset_index(drop=True)


def split_data(
    df: pd.DataFrame,
    validation_fraction: float = 0.10,
    seed: int = 42,
    label: str = "sentiment",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified train / validation split, seeded; the training rows come out shuffled.

    The course's ``train_test_split(df, test_size=0.10, stratify=df['sentiment'])``, with a seed.
    The balanced file is ordered by sentiment, and fastText learns from the lines in file order:
    trained on sorted lines it learns almost nothing, so the training rows are shuffled again
    explicitly (``train_test_split`` also permutes them).
    """
    from sklearn.model_selection import train_test_split

    _need_columns(df, [label], "split_data")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction={validation_fraction!r}: expected between 0 and 1")
    counts = df[label].value_counts()
    small = counts[counts < 2]
    if len(small):
        raise ChannelDataError(
            f"split_data: a stratified split needs at least 2 rows per class; "
            f"{dict(small)} have fewer"
        )
    train, validation = train_test_split(
        df, test_size=validation_fraction, stratify=df[label], random_state=seed, shuffle=True
    )
    train = train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return train, validation.reset_index(drop=True)


def channel_lines(df: pd.DataFrame, label: str = "sentiment", text: str = "review_body") -> str:
    """The rows as BlazingText's supervised format: ``__label__<value> <tokens>`` per line.

    The course wrote them with ``to_csv(sep=' ')``, which wraps each review in double quotes
    (pandas quotes fields holding the separator), so the quotes became part of the first and last
    word; here each line is the label, a space and the tokens.
    """
    _need_columns(df, [label, text], "channel_lines")
    out = io.StringIO()
    for i, (lab, words) in enumerate(zip(df[label], df[text], strict=True)):
        if not isinstance(lab, str) or not lab.startswith(LABEL_PREFIX):
            raise ChannelDataError(
                f"row {i}: the label {lab!r} has no '{LABEL_PREFIX}' prefix (use to_label)"
            )
        out.write(f"{lab} {' '.join(str(words).split())}\n")
    return out.getvalue()


def read_channel(lab: Any, uri: str) -> pd.DataFrame:
    """Every line of the objects under ``uri`` as a frame with ``label`` and ``text`` columns."""
    lines = _channel_text(lab, uri, "channel").splitlines()
    rows = [_parse_line(line, uri, i + 1) for i, line in enumerate(lines) if line.strip()]
    return pd.DataFrame(
        [(" ".join(labels), words) for labels, words in rows], columns=["label", "text"]
    )


def _channel_text(lab: Any, uri: str, channel: str) -> str:
    objects = [u for u in lab.wr.s3.list_objects(uri) if not u.endswith("/")]
    if not objects:
        raise ChannelDataError(
            f"channel {channel!r}: no objects under {uri}; upload the data first (sess.upload_data)"
        )
    parts = []
    for obj in objects:
        buffer = io.BytesIO()
        lab.wr.s3.download(path=obj, local_file=buffer)
        try:
            text = buffer.getvalue().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelDataError(
                f"channel {channel!r}: {obj} is not UTF-8 text (byte {exc.start})"
            ) from None
        parts.append(text if text.endswith("\n") or not text else text + "\n")
    return "".join(parts)


# -- the training job's metrics ----------------------------------------------------------------
def metric_values(frame: pd.DataFrame, names: Sequence[str] = METRICS) -> dict[str, float]:
    """``{"train:accuracy": ..., "validation:accuracy": ...}`` from the analytics frame.

    ``frame`` is ``estimator.training_job_analytics.dataframe()`` (columns ``timestamp``,
    ``metric_name``, ``value``: CloudWatch's ``/aws/sagemaker/TrainingJobs`` metrics); each
    metric's last value. A metric the frame lacks is NaN, with a warning (on AWS CloudWatch can
    take a minute after the job to hold them: call ``dataframe(force_refresh=True)`` again).
    AWS equivalent: none (pandas on the SDK's frame).
    """
    missing_columns = {"timestamp", "metric_name", "value"} - set(frame.columns)
    if missing_columns:
        raise ValueError(
            f"expected training_job_analytics.dataframe()'s columns timestamp, metric_name, "
            f"value; {sorted(missing_columns)} missing (got {list(map(str, frame.columns))})"
        )
    last = frame.sort_values("timestamp").groupby("metric_name")["value"].last()
    values = {name: float(last[name]) if name in last else math.nan for name in names}
    absent = [name for name, value in values.items() if math.isnan(value)]
    if absent:
        warnings.warn(
            f"no value for {absent} in the training job's metrics: the job has not reported "
            "them (yet); on AWS, CloudWatch may need a minute: "
            "estimator.training_job_analytics.dataframe(force_refresh=True)",
            UserWarning,
            stacklevel=2,
        )
    return values


def predict_sentiments(
    predictor: Any, reviews: Iterable[Any], batch_size: int = 500, tokenized: bool = False
) -> pd.DataFrame:
    """Ask a BlazingText endpoint about reviews, in batches; one row per review.

    Columns: ``review``, ``predicted_label`` (``__label__1``), ``probability`` and
    ``sentiment`` (``1``). The reviews are tokenized first unless ``tokenized``. AWS
    equivalent: ``predictor.predict({"instances": [...]})`` with ``JSONSerializer`` /
    ``JSONDeserializer``, as in the course.
    """
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import JSONSerializer

    texts = [str(r) for r in reviews]
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: expected at least 1")
    saved = predictor.serializer, predictor.deserializer
    predictor.serializer, predictor.deserializer = JSONSerializer(), JSONDeserializer()
    rows = []
    try:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            sent = batch if tokenized else [tokenize(t) for t in batch]
            answer = predictor.predict({"instances": sent})
            if len(answer) != len(batch):
                raise LabError(f"sent {len(batch)} reviews, got {len(answer)} answers")
            for text, item in zip(batch, answer, strict=True):
                label = item["label"][0]
                rows.append((text, label, float(item["prob"][0]), from_label(label)))
    finally:
        predictor.serializer, predictor.deserializer = saved
    return pd.DataFrame(rows, columns=["review", "predicted_label", "probability", "sentiment"])


# -- comparing with Autopilot ----------------------------------------------------------------
@dataclass
class Comparison:
    """The comparison table and a sentence on what it could (not) compare."""

    table: pd.DataFrame
    message: str
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return f"Comparison({len(self.table)} models: {self.message})"


def autopilot_holdout(lab: Any) -> pd.DataFrame | None:
    """The reviews ``05_autopilot`` held out from its job (``data/balanced/holdout.csv``), or None.

    AWS equivalent: ``wr.s3.read_csv('s3://<bucket>/data/balanced/holdout.csv')``.
    """
    uri = lab.s3_uri(keys.HOLDOUT_KEY)
    if not lab.wr.s3.does_object_exist(uri):
        return None
    frame = lab.wr.s3.read_csv(uri)
    _need_columns(frame, ["sentiment", "review_body"], uri)
    return frame


def exclude_reviews(df: pd.DataFrame, holdout: pd.DataFrame | None) -> pd.DataFrame:
    """``df`` without the reviews in ``holdout`` (matched on the review text), index reset."""
    if holdout is None or len(holdout) == 0:
        return df.reset_index(drop=True)
    _need_columns(df, ["review_body"], "exclude_reviews")
    held = set(holdout["review_body"].astype(str))
    found = held & set(df["review_body"].astype(str))
    if len(found) < 0.9 * len(held):
        warnings.warn(
            f"only {len(found)} of the {len(held)} held-out reviews are in the data: the holdout "
            "does not come from this balanced file (re-run 05_autopilot after 04_detect_bias), so "
            "the comparison may score BlazingText on reviews it trained on",
            UserWarning,
            stacklevel=2,
        )
    return df[~df["review_body"].astype(str).isin(held)].reset_index(drop=True)


def _newest_batch_output(lab: Any, name: str) -> str | None:
    """The newest ``<prefix>/<endpoint>/<name>.out`` under the batch predictions prefix."""
    bucket = lab.bucket
    pages = (
        lab.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=bucket, Prefix=keys.BATCH_PREDICTIONS_PREFIX)
    )
    found = [obj for page in pages for obj in page.get("Contents", [])
             if obj["Key"].endswith(f"/{name}.out")]  # fmt: skip
    if not found:
        return None
    newest = max(found, key=lambda obj: (obj["LastModified"], obj["Key"]))
    return f"s3://{bucket}/{newest['Key']}"


def autopilot_predictions(lab: Any, holdout: pd.DataFrame) -> tuple[list[str] | None, str]:
    """The Autopilot endpoint's predicted labels for the holdout rows, from ``06_deploy_predict``.

    06 scores ``data/balanced/holdout.csv`` through its endpoint and writes the answers to
    ``s3://<bucket>/models/batch-predictions/<endpoint>/holdout.csv.out`` (one CSV line per
    review, as a batch transform job). Returns ``(labels, where)`` or ``(None, why not)``.
    """
    uri = _newest_batch_output(lab, keys.HOLDOUT_KEY.rsplit("/", 1)[-1])
    if uri is None:
        return None, (
            "06_deploy_predict has not scored the holdout yet (no holdout.csv.out under "
            f"{lab.s3_uri(keys.BATCH_PREDICTIONS_PREFIX)})"
        )
    buffer = io.BytesIO()
    lab.wr.s3.download(path=uri, local_file=buffer)
    rows = [r for r in csv.reader(io.StringIO(buffer.getvalue().decode("utf-8"))) if r]
    if len(rows) != len(holdout):
        return None, (
            f"{uri} has {len(rows)} answers for the {len(holdout)} holdout reviews: re-run "
            "06_deploy_predict after 05_autopilot"
        )
    known = {str(v) for v in holdout["sentiment"].unique()}
    width = min(len(r) for r in rows)
    for column in range(width):
        values = [r[column] for r in rows]
        if all(v in known for v in values):
            return values, uri
    return None, f"{uri}: no column of predicted labels (values in {sorted(known)}) found"


def _scores(name: str, truth: Sequence[Any], predicted: Sequence[Any], rows: str) -> dict:
    from utils.endpoints import evaluate

    result = evaluate(truth, predicted)
    return {"model": name, "evaluated_on": rows, "reviews": len(truth),
            "accuracy": result.accuracy, "f1_macro": result.f1_macro}  # fmt: skip


def compare_with_autopilot(
    lab: Any,
    predictor: Any,
    validation: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    name: str = "BlazingText",
) -> Comparison:
    """BlazingText and the Autopilot candidate, side by side, on the same reviews.

    When ``05_autopilot`` held out reviews (and this notebook kept them out of BlazingText's
    data), both models are scored on them: BlazingText through ``predictor``, Autopilot from
    ``06_deploy_predict``'s answers. Otherwise only BlazingText's row (on ``validation``: raw
    reviews, or :func:`prepare_data`'s output) is filled in, and ``message`` says which
    notebook to run. Columns: model, evaluated_on, reviews, accuracy, f1_macro; ``rows`` holds
    each review with the true and the predicted sentiments.
    """
    columns = ["model", "evaluated_on", "reviews", "accuracy", "f1_macro"]
    if holdout is None:
        rows = validation
        where = "BlazingText's validation split"
        message = (
            "no Autopilot holdout (data/balanced/holdout.csv): run 05_autopilot and "
            "06_deploy_predict, then this notebook again, to compare on the same reviews"
        )
    else:
        rows = holdout
        where = "Autopilot's holdout (05)"
        message = ""
    _need_columns(rows, ["sentiment", "review_body"], where)
    labels = rows["sentiment"].astype(str)
    prepared = bool(labels.str.startswith(LABEL_PREFIX).all())  # prepare_data's output
    truth = [str(from_label(v)) for v in labels] if prepared else labels.tolist()
    answers = predict_sentiments(predictor, rows["review_body"].tolist(), tokenized=prepared)
    scored = pd.DataFrame({"sentiment": truth, "review_body": rows["review_body"].tolist()})
    scored["blazingtext"] = answers["sentiment"].astype(str)
    table = [_scores(name, truth, scored["blazingtext"].tolist(), where)]
    if holdout is not None:
        predicted, source = autopilot_predictions(lab, holdout)
        if predicted is None:
            message = f"Autopilot not compared: {source}"
        else:
            scored["autopilot"] = predicted
            table.append(_scores("Autopilot best candidate", truth, predicted, where))
            message = f"both models on the {len(truth)} reviews 05_autopilot held out ({source})"
    return Comparison(pd.DataFrame(table, columns=columns), message, scored)


def model_ready(lab: Any) -> str | None:
    """A prerequisite check for what ``07_blazingtext`` leaves: a BlazingText ``model.tar.gz``.

    AWS equivalent: ``wr.s3.list_objects('s3://<bucket>/blazingtext/output/', suffix=
    'model.tar.gz')``. Returns None when there is one, else what is missing.
    """
    prefix = lab.s3_uri(keys.BLAZINGTEXT_OUTPUT_PREFIX + "/")
    if not lab.wr.s3.list_objects(prefix, suffix="model.tar.gz"):
        return f"no BlazingText model under {prefix} (backend {lab.backend!r})"
    return None
