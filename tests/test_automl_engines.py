"""The local Autopilot's parts, in-process: featurizers, learners, validation, problem types,
metrics, the bounded runner, the text stack, the candidate model."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from utils.local.automl import learners as L
from utils.local.automl import lexicon, metrics
from utils.local.automl.bounded import run_bounded
from utils.local.automl.data import column_type, infer_problem_type
from utils.local.automl.model import CandidateModel
from utils.local.automl.stack import build_stack
from utils.local.automl.synthetic import make_reviews
from utils.local.automl.text import CountCache, mark_negation, sentences, text_blocks
from utils.local.automl.validation import make_folds


@pytest.fixture(scope="module")
def reviews():
    frame = make_reviews(240, seed=7)
    y = frame["sentiment"].map({-1: 0, 0: 1, 1: 2}).to_numpy()
    cache = CountCache(frame[["review_body"]], {"review_body": "text"})
    for spec in text_blocks("review_body", len(frame)):
        cache.add(spec)
    return frame, y, cache


def test_fold_features_learn_only_from_training_rows():
    frame = pd.DataFrame({"t": ["alpha beta", "alpha beta", "alpha gamma", "zeta zeta", "zeta q"]})
    cache = CountCache(frame, {"t": "text"})
    cache.add(text_blocks("t", 5)[0])  # word 1-3 grams, min_df 2
    train = np.array([0, 1, 2])
    matrix, keep = cache.block("t:word", train)
    terms = set(cache.vocab["t:word"][keep])
    assert terms == {"alpha", "beta", "alpha beta"}  # "zeta" occurs twice, but only in rows 3-4
    assert matrix.shape == (5, 3) and matrix[3].nnz == 0


def test_deployed_featurizer_reproduces_the_training_features(reviews):
    frame, _, cache = reviews
    keys = list(cache.specs)
    rows = np.arange(len(frame))
    fitted = cache.fitted(keys, rows)
    deployed = fitted.transform(frame[["review_body"]]).toarray()
    trained = cache.matrix(keys, rows).toarray()
    np.testing.assert_allclose(deployed, trained, atol=1e-5)
    assert len(fitted.feature_names) == deployed.shape[1]


def test_text_helpers():
    assert sentences("Great fit. Too long! Returned it?") == ["Great fit.", "Too long!",
                                                              "Returned it?"]  # fmt: skip
    assert mark_negation("I did not like the color, but love it") == (
        "i did not NOT_like NOT_the NOT_color , but love it"
    )


@pytest.mark.parametrize(
    "values, expected",
    [
        ([-1, 0, 1] * 20, "MulticlassClassification"),
        ([0, 1] * 20, "BinaryClassification"),
        (["yes", "no"] * 20, "BinaryClassification"),
        (["a", "b", "c"] * 20, "MulticlassClassification"),
        (list(np.linspace(0, 1, 60)), "Regression"),
        (list(range(300)), "Regression"),
    ],
)
def test_problem_type_is_inferred_as_autopilot_does(values, expected):
    assert infer_problem_type(pd.Series(values)) == expected


def test_column_types():
    assert column_type(pd.Series([f"review number {i} with words" for i in range(10)])) == "text"
    assert column_type(pd.Series(["Dresses", "Knits"] * 5)) == "categorical"
    assert column_type(pd.Series([1.5, 2.0] * 5)) == "numeric"


def test_validation_is_cv_on_small_data_and_holdout_on_large(monkeypatch):
    y = np.array([0, 1, 2] * 100)
    folds, how = make_folds(y, True, seed=0)
    assert len(folds) == 5 and how.startswith("5-fold")
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(300))
    folds, how = make_folds(y, True, seed=0, validation_fraction=0.25)
    assert len(folds) == 1 and len(folds[0][1]) == 75 and "holdout" in how
    from utils.local.automl import validation

    monkeypatch.setattr(validation, "CV_MAX_ROWS", 100)
    assert len(make_folds(y, True, seed=0)[0]) == 1  # more rows than the CV limit -> holdout


def test_metrics_and_directions():
    y = np.array([0, 1, 2, 2])
    proba = np.eye(3)[[0, 1, 2, 1]]
    assert metrics.score("Accuracy", y, proba) == 0.75
    assert metrics.direction("LogLoss") == "Minimize" and metrics.direction("F1") == "Maximize"
    assert metrics.better("MSE", 1.0, 2.0) and not metrics.better("Accuracy", 0.5, 0.6)
    assert set(metrics.all_scores("MulticlassClassification", y, proba)) >= {"Accuracy",
                                                                             "F1macro"}  # fmt: skip
    assert metrics.score("R2", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 1.0


@pytest.mark.parametrize("name", sorted(L.CLASSIFIERS))
def test_each_classifier_learns_the_synthetic_words(reviews, name):
    frame, y, cache = reviews
    keys = ["review_body:word", "review_body:char"]
    train, valid = np.arange(180), np.arange(180, 240)
    X = cache.matrix(keys, train)
    params = dict(L.DEFAULTS[name])
    if name == "xgboost":
        params.update(num_round=40, max_depth=3)
    learner = L.make_learner(name, "MulticlassClassification", 3, 0, **params).fit(
        X[train], y[train]
    )
    learner.calibrate(learner.raw(X[train]), y[train])
    proba = learner.predict_proba(X[valid])
    assert proba.shape == (60, 3) and np.allclose(proba.sum(axis=1), 1)
    assert metrics.score("Accuracy", y[valid], proba) > 0.55


def test_bounded_run_outcomes():
    assert run_bounded(lambda: 41 + 1, 30).value == 42
    slow = run_bounded(lambda: time.sleep(30), 0.5)
    assert slow.status == "timeout" and slow.seconds < 10
    error = run_bounded(lambda: 1 / 0, 30)
    assert error.status == "error" and "ZeroDivisionError" in error.error
    crashed = run_bounded(lambda: os._exit(3), 30)
    assert crashed.status == "crashed" and "code 3" in crashed.error
    stopped = run_bounded(lambda: time.sleep(30), 30, should_stop=lambda: True)
    assert stopped.status == "stopped"


def test_text_stack_gives_out_of_fold_features_and_a_matching_featurizer(reviews):
    frame, y, cache = reviews
    folds, _ = make_folds(y, True, seed=0)
    features, featurizer, log = build_stack(cache, y, folds, "MulticlassClassification",
                                            [-1, 0, 1], 0, time.monotonic() + 300)  # fmt: skip
    assert len(features) == len(frame) and not features.isna().any().any()
    assert {"review_body:svm:0", "review_body:ordinal:1", "review_body:chars",
            "review_body:lexicon:compound"} <= set(features)  # fmt: skip
    assert all("seconds" in entry for entry in log)
    new = featurizer.transform(frame[["review_body"]].head(5))
    assert list(new.columns) == list(features.columns)
    # out-of-fold: a base model's scores on its training rows would be near-perfect
    oof_acc = np.mean(features.filter(like=":svm:").to_numpy().argmax(axis=1) == y)
    fit_acc = np.mean(featurizer.transform(frame[["review_body"]]).filter(like=":svm:")
                      .to_numpy().argmax(axis=1) == y)  # fmt: skip
    assert oof_acc < fit_acc


def test_lexicon_scores_read_sentiment_negation_and_sentences():
    texts = ["I love this dress, it is gorgeous!", "Not good. The fabric ripped and I hated it.",
             "Lovely color. But it did not fit at all and I returned it.", "", None]  # fmt: skip
    values = pd.DataFrame(lexicon.features(texts), columns=lexicon.NAMES)
    assert values.shape == (5, len(lexicon.NAMES))
    assert values.compound[0] > 0.5 > -0.5 > values.compound[1]
    mixed = values.iloc[2]  # a positive first sentence, a negative last one
    assert mixed.sentence_first > 0 > mixed.sentence_last and mixed.negative_sentences == 0.5
    assert (values.iloc[3:] == 0).all().all()  # empty and missing texts score zero


def test_stack_leaves_the_lexicon_out_above_its_row_limit(reviews, monkeypatch):
    frame, y, cache = reviews
    monkeypatch.setattr(lexicon, "MAX_ROWS", len(frame) - 1)
    folds, _ = make_folds(y, True, seed=0)
    features, featurizer, log = build_stack(cache, y, folds, "MulticlassClassification",
                                            [-1, 0, 1], 0, time.monotonic() - 1)  # fmt: skip
    assert not any(":lexicon:" in c for c in features) and featurizer.lexicon_columns == []
    assert {"base": "review_body:lexicon", "skipped": f"more than {len(frame) - 1} rows"} in log


def test_stack_respects_its_deadline(reviews):
    frame, y, cache = reviews
    folds, _ = make_folds(y, True, seed=0)
    _, featurizer, log = build_stack(cache, y, folds, "MulticlassClassification", [-1, 0, 1], 0,
                                     time.monotonic() - 1)  # fmt: skip
    assert len(featurizer.bases) == 1  # the first model always runs; the rest are skipped
    assert sum("skipped" in e for e in log) >= 3


def test_candidate_model_reads_texts_frames_dicts_and_csv(reviews):
    frame, y, cache = reviews
    keys = ["review_body:word"]
    rows = np.arange(len(frame))
    learner = L.make_learner("linear-svm", "MulticlassClassification", 3, 0, C=0.1)
    learner.fit(cache.matrix(keys, rows), y)
    model = CandidateModel(cache.fitted(keys, rows), learner, "MulticlassClassification",
                           [-1, 0, 1], ["review_body"], "sentiment")  # fmt: skip
    texts = ["love perfect gorgeous dress", "awful, ripped, returned"]
    expected = list(model.predict(texts))
    assert expected == [1, -1]
    assert (
        list(model.predict(pd.DataFrame({"review_body": texts, "sentiment": [0, 0]}))) == expected
    )
    assert list(model.predict([{"review_body": t} for t in texts])) == expected
    csv_body = "love perfect gorgeous dress\nawful, ripped, returned\n"  # commas left in
    assert list(model.predict(model.frame_from_csv(csv_body))) == expected
    from utils.local.automl import CandidateModelError

    with pytest.raises(CandidateModelError, match="review_body"):
        model.predict(pd.DataFrame({"text": texts}))
