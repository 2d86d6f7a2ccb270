"""BlazingText's course helpers: tokenizing, labels, the split, the channel files, the metrics
frame, scoring and the comparison with Autopilot.

The training job, the container and the endpoint run on the SDK's own classes and are tested in
tests/test_local_training.py.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from utils import blazingtext as bt
from utils import keys


# -- tokenizing and labels -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I'm not a fan of this product!",
         ["I", "'m", "not", "a", "fan", "of", "this", "product", "!"]),
        ("i don't like it. it's too small", ["i", "do", "n't", "like", "it", ".", "it", "'s",
                                             "too", "small"]),
        ("I can't... really: 100% cotton (not silk); $50 & more?",
         ["I", "ca", "n't", "...", "really", ":", "100", "%", "cotton", "(", "not", "silk", ")",
          ";", "$", "50", "&", "more", "?"]),
        ("we'll see -- they've gone", ["we", "'ll", "see", "--", "they", "'ve", "gone"]),
        ("cannot wait, gonna buy", ["can", "not", "wait", ",", "gon", "na", "buy"]),
        ("", []),
    ],
)  # fmt: skip
def test_word_tokenize_follows_nltk(text, tokens):
    assert bt.word_tokenize(text) == tokens


def test_tokenize_is_the_course_preparation():
    # the course's expected output for its example data frame
    assert bt.tokenize("I do like this product!") == "i do like this product !"
    assert bt.tokenize("I don't like this product!") == "i do n't like this product !"
    assert bt.tokenize('Great, "soft"\nfabric') == "great soft fabric"
    assert bt.tokenize(float("nan")) == "nan"  # str(review), as the course


@pytest.mark.parametrize("value", [-1, 0, 1, "-1", "positive"])
def test_labels_round_trip(value):
    label = bt.to_label(value)
    assert label == f"__label__{value}"
    assert bt.to_label(label) == label  # an existing prefix is kept once
    assert bt.from_label(label) == (int(value) if str(value).lstrip("-").isdigit() else value)


@pytest.mark.parametrize("bad", ["1", "label_1", None])
def test_from_label_refuses_what_is_not_a_label(bad):
    with pytest.raises(ValueError, match="not a BlazingText label"):
        bt.from_label(bad)


@pytest.mark.parametrize("bad", ["__label__", "very good", ""])
def test_to_label_needs_a_value_without_spaces(bad):
    with pytest.raises(ValueError, match="without white space"):
        bt.to_label(bad)


def test_prepare_data_matches_the_course_and_leaves_the_input_alone():
    df = pd.DataFrame({"sentiment": [-1, 0, 1],
                       "review_body": ["I do like this product!", "this product is ok",
                                       "I don't like this product!"]})  # fmt: skip
    out = bt.prepare_data(df)
    assert out.to_dict("list") == {
        "sentiment": ["__label__-1", "__label__0", "__label__1"],
        "review_body": ["i do like this product !", "this product is ok",
                        "i do n't like this product !"],
    }  # fmt: skip
    assert df["sentiment"].tolist() == [-1, 0, 1]
    with pytest.raises(bt.ChannelDataError, match="review_body"):
        bt.prepare_data(df.rename(columns={"review_body": "text"}))


# -- data ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    """Balanced synthetic reviews, sorted by sentiment as 04_detect_bias writes them."""
    from utils import bias, datasets

    df = datasets.transform(datasets.generate_synthetic(1500, seed=5)).df
    return bias.balance(df, by=["sentiment"], seed=5)


def test_split_is_stratified_seeded_and_shuffled(reviews):
    prepared = bt.prepare_data(reviews)
    train, validation = bt.split_data(prepared, 0.1, seed=7)
    assert len(train) + len(validation) == len(prepared)
    assert len(validation) == pytest.approx(0.1 * len(prepared), abs=3)
    shares = validation["sentiment"].value_counts()
    assert shares.max() - shares.min() <= 1  # stratified: a third each
    again, _ = bt.split_data(prepared, 0.1, seed=7)
    pd.testing.assert_frame_equal(train, again)
    # the input is sorted by label; the training rows are not
    runs = (train["sentiment"] != train["sentiment"].shift()).sum()
    assert runs > len(train) / 3


def test_split_errors_are_clear(reviews):
    prepared = bt.prepare_data(reviews)
    with pytest.raises(ValueError, match="validation_fraction=1.5"):
        bt.split_data(prepared, 1.5)
    lonely = pd.concat([prepared.head(10), prepared.tail(1).assign(sentiment="__label__9")])
    with pytest.raises(bt.ChannelDataError, match="at least 2 rows per class"):
        bt.split_data(lonely)


def test_channels_round_trip_through_the_lake(local_lab, reviews, tmp_path):
    prepared = bt.prepare_data(reviews.head(30))
    sess = local_lab.session
    path = tmp_path / "sentiment-validation.txt"
    path.write_text(bt.channel_lines(prepared.tail(10)), encoding="utf-8")
    uri = sess.upload_data(path=str(path), bucket=sess.default_bucket(),
                           key_prefix=f"{keys.BLAZINGTEXT_DATA_PREFIX}validation")  # fmt: skip
    assert uri == local_lab.s3_uri("blazingtext/data/validation/sentiment-validation.txt")
    first = path.read_text().splitlines()[0]
    assert first == f"{prepared['sentiment'][20]} {prepared['review_body'][20]}"
    assert '"' not in path.read_text()  # no quotes (the course's to_csv(sep=' ') had them)
    for where in (uri, local_lab.s3_uri("blazingtext/data/validation/")):  # a file or a prefix
        back = bt.read_channel(local_lab, where)
        assert back["label"].tolist() == prepared.tail(10)["sentiment"].tolist()
        assert back["text"].tolist() == prepared.tail(10)["review_body"].tolist()
    with pytest.raises(bt.ChannelDataError, match="row 0.*no '__label__' prefix"):
        bt.channel_lines(reviews.head(3))
    with pytest.raises(bt.ChannelDataError, match=r"no objects under .*nothing/.*sess.upload_data"):
        bt.read_channel(local_lab, local_lab.s3_uri("blazingtext/nothing/"))


# -- the training job's metrics ------------------------------------------------------------------
def test_metric_values_reads_the_analytics_frame():
    frame = pd.DataFrame({"timestamp": [60.0, 0.0, 0.0],
                          "metric_name": ["train:accuracy", "train:accuracy",
                                          "validation:accuracy"],
                          "value": [0.7, 0.5, 0.6]})  # fmt: skip
    assert bt.metric_values(frame) == {"train:accuracy": 0.7, "validation:accuracy": 0.6}
    with pytest.warns(UserWarning, match=r"no value for \['validation:accuracy'\].*force_refresh"):
        values = bt.metric_values(frame.head(2))
    assert values["train:accuracy"] == 0.7 and math.isnan(values["validation:accuracy"])
    with pytest.raises(ValueError, match=r"\['metric_name'\] missing"):
        bt.metric_values(frame.rename(columns={"metric_name": "name"}))


# -- comparing with Autopilot --------------------------------------------------------------------
class _FakePredictor:
    """Answers like a BlazingText endpoint: positive when the review says 'love'."""

    serializer = deserializer = None

    def predict(self, data):
        return [{"label": ["__label__1" if "love" in t else "__label__-1"], "prob": [0.9]}
                for t in data["instances"]]  # fmt: skip


def test_comparison_without_autopilot_says_what_to_run(local_lab):
    validation = bt.prepare_data(pd.DataFrame({"sentiment": [1, -1, 1],
                                               "review_body": ["I love it", "no", "meh"]}))  # fmt: skip
    assert bt.autopilot_holdout(local_lab) is None
    result = bt.compare_with_autopilot(local_lab, _FakePredictor(), validation, None)
    assert result.table["model"].tolist() == ["BlazingText"]
    assert result.table["accuracy"][0] == pytest.approx(2 / 3)
    assert "run 05_autopilot and 06_deploy_predict" in result.message


def test_comparison_on_autopilots_holdout(local_lab):
    holdout = pd.DataFrame({"sentiment": [1, -1, 0, 1],
                            "review_body": ["love it", "hate it", "fine", "love, love"]})  # fmt: skip
    local_lab.wr.s3.to_csv(holdout, local_lab.s3_uri("data/balanced/holdout.csv"), index=False)
    df = pd.concat([holdout, pd.DataFrame({"sentiment": [0], "review_body": ["other"]})])
    assert bt.exclude_reviews(df, bt.autopilot_holdout(local_lab))["review_body"].tolist() == [
        "other"
    ]
    with pytest.warns(UserWarning, match="only 0 of the 4 held-out reviews"):
        bt.exclude_reviews(df.tail(1), holdout)
    # 05 ran, 06 not yet: BlazingText alone, on the holdout
    result = bt.compare_with_autopilot(
        local_lab, _FakePredictor(), None, bt.autopilot_holdout(local_lab)
    )
    assert len(result.table) == 1 and "06_deploy_predict has not scored" in result.message
    # 06's batch predictions: predicted_label first, as the endpoint answers text/csv
    out = b"1,0.9\n-1,0.8\n1,0.6\n0,0.5\n"
    local_lab.wr.s3.upload(local_file=io.BytesIO(out), path=local_lab.s3_uri(
        "models/batch-predictions/automl-ep/holdout.csv.out"))  # fmt: skip
    result = bt.compare_with_autopilot(
        local_lab, _FakePredictor(), None, bt.autopilot_holdout(local_lab)
    )
    table = result.table.set_index("model")
    assert table.loc["Autopilot best candidate", "accuracy"] == pytest.approx(0.5)
    assert table.loc["BlazingText", "accuracy"] == pytest.approx(0.75)
    assert (table["reviews"] == 4).all() and "held out" in result.message
    assert result.rows.columns.tolist() == ["sentiment", "review_body", "blazingtext", "autopilot"]


def test_predict_sentiments_asks_in_batches_and_restores_the_serializers():
    predictor = _FakePredictor()
    sent = []
    ask = predictor.predict
    predictor.predict = lambda data: sent.append(list(data["instances"])) or ask(data)
    scored = bt.predict_sentiments(predictor, ["I LOVE it", "no", "love, love", "meh"],
                                   batch_size=3)  # fmt: skip
    assert [len(batch) for batch in sent] == [3, 1]
    assert sent[0][0] == "i love it"  # tokenized as the training data
    assert scored.columns.tolist() == ["review", "predicted_label", "probability", "sentiment"]
    assert scored["sentiment"].tolist() == [1, -1, 1, -1]
    assert predictor.serializer is None and predictor.deserializer is None
    with pytest.raises(ValueError, match="batch_size=0"):
        bt.predict_sentiments(predictor, ["x"], batch_size=0)


def test_model_ready_names_what_is_missing(local_lab):
    assert bt.model_ready(local_lab).startswith(
        f"no BlazingText model under {local_lab.s3_uri('blazingtext/output/')}")  # fmt: skip
    local_lab.wr.s3.upload(local_file=io.BytesIO(b"model"), path=local_lab.s3_uri(
        "blazingtext/output/job/output/model.tar.gz"))  # fmt: skip
    assert bt.model_ready(local_lab) is None
