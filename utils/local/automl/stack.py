"""Cross-fitted linear text models whose scores become features: the text featurizer of ENSEMBLING.

AWS equivalent: none directly. Autopilot's ENSEMBLING mode hands text columns to AutoGluon,
whose default n-gram features serve review text poorly (0.651 holdout accuracy on the course's
data). Here each text column is first turned into a few dense, informative features: the
out-of-fold scores of linear models that are strong on n-grams (linear SVM, NB-SVM, naive
Bayes, an ordinal SVM, ridge, a negation-aware SVM) and a sentence-level model whose scores are
aggregated per review (first, last, min, max, mean). Sentiment-lexicon scores
(:mod:`utils.local.automl.lexicon`) join them. The tabular learners of AutoGluon then stack on
these scores and on the other columns.

Out-of-fold: a row's score always comes from a model that never saw that row, so the learners
downstream see scores as honest as the ones new data will get.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from utils.local.automl import lexicon
from utils.local.automl.learners import Learner, make_learner
from utils.local.automl.text import CountCache, Featurizer, NgramSpec, sentences

ALL = ("word", "char", "first", "last")


@dataclass(frozen=True)
class BaseSpec:
    """One base text model of the stack."""

    name: str
    learner: str
    blocks: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    needs_order: bool = False  # only for numerically ordered classes (e.g. -1, 0, 1)


CLASSIFICATION_BASES = (
    BaseSpec("svm", "linear-svm", ALL, {"C": 0.05}),
    BaseSpec("nb", "naive-bayes", ("word", "first", "last"), {"alpha": 0.3}),
    BaseSpec("ordinal", "ordinal-svm", ALL, {"C": 0.05}, needs_order=True),
    BaseSpec("svmneg", "linear-svm", ("negated", "char", "first", "last"), {"C": 0.1}),
    BaseSpec("sentence", "sentence", (), {"C": 0.05}),
    BaseSpec("ridge", "ridge", ALL, {"alpha": 2.0}, needs_order=True),
    BaseSpec("nblr", "nb-logistic", ALL, {"C": 3.0, "alpha": 1.0}),
)
REGRESSION_BASES = (
    BaseSpec("ridge", "ridge", ALL, {"alpha": 2.0}),
    BaseSpec("svr", "linear-svr", ALL, {"C": 0.1}),
    BaseSpec("sentence", "sentence", (), {"alpha": 2.0}),
    BaseSpec("ridgeneg", "ridge", ("negated", "char", "first", "last"), {"alpha": 2.0}),
)


def ordered_classes(classes: list[Any]) -> bool:
    """True if the labels are numbers (so "above class j" means something)."""
    try:
        values = [float(c) for c in classes]
    except (TypeError, ValueError):
        return False
    return (
        values == sorted(values)
        and len(values) > 2
        and not any(isinstance(c, bool) for c in classes)
    )


def text_stats(texts: list[Any]) -> np.ndarray:
    """Length, words, sentences, exclamation and question marks, upper-case share."""
    rows = []
    for t in texts:
        s = "" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t)
        letters = sum(ch.isalpha() for ch in s) or 1
        rows.append([len(s), len(s.split()), len(sentences(s)) if s else 0, s.count("!"),
                     s.count("?"), sum(ch.isupper() for ch in s) / letters])  # fmt: skip
    return np.asarray(rows, dtype=float)


STAT_NAMES = ("chars", "words", "sentences", "exclamations", "questions", "upper_share")


class SentenceModel:
    """A linear model on sentences (each labelled with its review's label), aggregated per review."""

    def __init__(self, problem_type: str, n_classes: int, seed: int, **params: Any) -> None:
        self.problem_type = problem_type
        self.n_classes = n_classes
        self.seed = seed
        self.params = params

    @staticmethod
    def explode(texts: list[Any]) -> tuple[list[str], np.ndarray, np.ndarray]:
        out, doc, position = [], [], []
        for i, t in enumerate(texts):
            s = "" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t)
            parts = sentences(s) if s else [""]
            out += parts
            doc += [i] * len(parts)
            position += list(range(len(parts)))
        return out, np.asarray(doc), np.asarray(position)

    def learner(self) -> Learner:
        if self.problem_type == "Regression":
            return make_learner("ridge", "Regression", 0, self.seed, **self.params)
        return make_learner("linear-svm", self.problem_type, self.n_classes, self.seed,
                            **self.params)  # fmt: skip

    @staticmethod
    def aggregate(scores: np.ndarray, doc: np.ndarray, n_docs: int) -> np.ndarray:
        scores = scores.reshape(len(doc), -1)
        frame = pd.DataFrame(scores)
        frame["doc"] = doc
        g = frame.groupby("doc", sort=True)
        parts = [g.mean(), g.max(), g.min(), g.first(), g.last()]
        agg = pd.concat(parts, axis=1).reindex(range(n_docs)).fillna(0.0)
        return agg.to_numpy(dtype=float)

    def names(self, column: str) -> list[str]:
        k = 1 if self.problem_type != "MulticlassClassification" else self.n_classes
        return [f"{column}:sentence:{stat}{j}" for stat in ("mean", "max", "min", "first", "last")
                for j in range(k)]  # fmt: skip

    def fit_full(self, cache: CountCache, keys: list[str], y_sent: np.ndarray) -> SentenceModel:
        rows = np.arange(cache.frame.shape[0])
        self.featurizer_ = cache.fitted(keys, rows, tabular=False)
        self.model_ = self.learner().fit(cache.matrix(keys, rows, tabular=False), y_sent)
        return self

    def transform(self, texts: list[Any]) -> np.ndarray:
        sents, doc, _ = self.explode(texts)
        X = self.featurizer_.transform(pd.DataFrame({"sentence": sents}))
        return self.aggregate(np.asarray(self.model_.raw(X)), doc, len(texts))


class StackFeaturizer:
    """Deployable: raw rows -> the stack's features (base scores, text stats, other columns)."""

    def __init__(self, text_columns: list[str], passthrough: list[str]) -> None:
        self.text_columns = text_columns
        self.passthrough = passthrough
        self.bases: list[tuple[str, str, Featurizer, Any, list[str]]] = []  # col, name, feat, model
        self.lexicon_columns: list[str] = []  # text columns that get sentiment-lexicon scores

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, np.ndarray] = {}
        for col in self.text_columns:
            stats = text_stats(frame[col].tolist())
            for j, stat in enumerate(STAT_NAMES):
                out[f"{col}:{stat}"] = stats[:, j]
        for col in getattr(self, "lexicon_columns", []):
            out.update(_lexicon(frame[col].tolist(), col))
        shared: dict[Any, Any] = {}  # the bases' featurizers share blocks: each computed once
        for col, name, featurizer, model, names in self.bases:
            if name == "sentence":
                values = model.transform(frame[col].tolist())
            else:
                values = np.asarray(model.raw(featurizer.transform(frame, shared)), dtype=float)
            values = values.reshape(len(frame), -1)
            for j, n in enumerate(names):
                out[n] = values[:, j]
        result = pd.DataFrame(out, index=frame.index)
        for col in self.passthrough:
            result[col] = frame[col].to_numpy()
        return result

    @property
    def base_names(self) -> list[str]:
        return [f"{c}:{n}" for c, n, *_ in self.bases]


def build_stack(
    cache: CountCache,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    problem_type: str,
    classes: list[Any],
    seed: int,
    deadline: float,
    progress: Callable[[str], None] = lambda msg: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[pd.DataFrame, StackFeaturizer, list[dict[str, Any]]]:
    """Out-of-fold stack features for every row, the deployable featurizer, and a timing log.

    Bases run in order of usefulness; a base that would not finish before ``deadline`` (judged
    by the previous bases' timings) is skipped, so the features are ready in time.
    """
    n = len(y)
    k = len(classes)
    ordered = ordered_classes(classes)
    text_cols = cache.text_columns
    passthrough = [c for c in cache.column_types if cache.column_types[c] != "text"]
    featurizer = StackFeaturizer(text_cols, passthrough)
    features: dict[str, np.ndarray] = {}
    log: list[dict[str, Any]] = []
    for col in text_cols:
        stats = text_stats(cache.frame[col].tolist())
        for j, stat in enumerate(STAT_NAMES):
            features[f"{col}:{stat}"] = stats[:, j]
        if n <= lexicon.MAX_ROWS:
            started = time.monotonic()
            features.update(_lexicon(cache.frame[col].tolist(), col))
            featurizer.lexicon_columns.append(col)
            took = time.monotonic() - started
            log.append({"base": f"{col}:lexicon", "learner": "vader-lexicon",
                        "features": list(lexicon.NAMES), "seconds": round(took, 2)})  # fmt: skip
            progress(f"sentiment lexicon scores for {col} ready ({took:.1f} s)")
        else:
            log.append({"base": f"{col}:lexicon", "skipped": f"more than {lexicon.MAX_ROWS} rows"})
    bases = REGRESSION_BASES if problem_type == "Regression" else CLASSIFICATION_BASES
    per_unit = None  # seconds per base-fit seen so far (one fit = one fold or the full refit)
    for col in text_cols:
        for base in bases:
            if base.needs_order and problem_type != "Regression" and not ordered:
                continue
            if should_stop():
                return _finish(features, cache, featurizer, passthrough, log)
            remaining = deadline - time.monotonic()
            estimate = (per_unit or 0.0) * (len(folds) + 1) * (3.0 if base.name == "sentence"
                                                                else 1.0)  # fmt: skip
            if featurizer.bases and remaining < estimate:
                log.append({"base": f"{col}:{base.name}", "skipped": "time budget"})
                progress(f"skipped base model {col}:{base.name} (time budget)")
                continue
            started = time.monotonic()
            if base.name == "sentence":
                values, model, fitted, names = _sentence_base(cache, col, y, folds, problem_type,
                                                              k, seed, base)  # fmt: skip
            else:
                values, model, fitted, names = _linear_base(cache, col, y, folds, problem_type,
                                                            k, seed, base)  # fmt: skip
            took = time.monotonic() - started
            unit = took / (len(folds) + 1) / (3.0 if base.name == "sentence" else 1.0)
            per_unit = unit if per_unit is None else max(per_unit * 0.5 + unit * 0.5, unit)
            for j, name in enumerate(names):
                features[name] = values[:, j]
            featurizer.bases.append((col, base.name, fitted, model, names))
            log.append({"base": f"{col}:{base.name}", "learner": base.learner,
                        "params": base.params, "blocks": list(base.blocks),
                        "seconds": round(took, 2)})  # fmt: skip
            progress(f"text model {col}:{base.name} ready ({took:.1f} s)")
    return _finish(features, cache, featurizer, passthrough, log)


def _lexicon(texts: list[Any], column: str) -> dict[str, np.ndarray]:
    values = lexicon.features(texts)
    return {name: values[:, j] for j, name in enumerate(lexicon.column_names(column))}


def _finish(features, cache, featurizer, passthrough, log):
    frame = pd.DataFrame(features)
    for col in passthrough:
        frame[col] = cache.frame[col].to_numpy()
    return frame, featurizer, log


def _keys(cache: CountCache, col: str, blocks: tuple[str, ...]) -> list[str]:
    return [f"{col}:{b}" for b in blocks if f"{col}:{b}" in cache.specs]


def _linear_base(cache, col, y, folds, problem_type, k, seed, base):
    keys = _keys(cache, col, base.blocks)
    oof = None
    for train, valid in folds:
        X = cache.matrix(keys, train, tabular=False)
        model = make_learner(base.learner, problem_type, k, seed, **base.params)
        model.fit(X[train], y[train])
        raw = np.asarray(model.raw(X[valid]), dtype=float).reshape(len(valid), -1)
        if oof is None:
            oof = np.zeros((len(y), raw.shape[1]))
        oof[valid] = raw
    everything = np.arange(len(y))
    fitted = cache.fitted(keys, everything, tabular=False)
    model = make_learner(base.learner, problem_type, k, seed, **base.params)
    model.fit(cache.matrix(keys, everything, tabular=False), y)
    names = [f"{col}:{base.name}:{j}" for j in range(oof.shape[1])]
    return oof, model, fitted, names


def _sentence_base(cache, col, y, folds, problem_type, k, seed, base):
    sents, doc, _ = SentenceModel.explode(cache.frame[col].tolist())
    scache = CountCache(pd.DataFrame({"sentence": sents}), {"sentence": "text"})
    specs = [NgramSpec("sentence", "word", "word", (1, 2), "all", 2),
             NgramSpec("sentence", "char", "char_wb", (2, 5), "all", 3, 200_000)]  # fmt: skip
    for spec in specs:
        scache.add(spec)
    keys = [s.key for s in specs]
    y_sent = y[doc]
    model = SentenceModel(problem_type, k, seed, **base.params)
    width = len(model.names(col))
    oof = np.zeros((len(y), width))
    for train, valid in folds:
        in_train = np.isin(doc, train)
        srows = np.flatnonzero(in_train)
        X = scache.matrix(keys, srows, tabular=False)
        learner = model.learner().fit(X[srows], y_sent[srows])
        vrows = np.flatnonzero(~in_train & np.isin(doc, valid))
        scores = np.asarray(learner.raw(X[vrows]), dtype=float)
        agg = SentenceModel.aggregate(scores, doc[vrows], len(y))
        oof[valid] = agg[valid]
    model.fit_full(scache, keys, y_sent)
    return oof, model, None, model.names(col)


def stack_matrix(frame: pd.DataFrame, passthrough: list[str]) -> np.ndarray:
    """The numeric stack features as a dense matrix (categorical passthrough left out)."""
    cols = [c for c in frame.columns if c not in passthrough]
    return frame[cols].to_numpy(dtype=float)


def sparse_or_dense(X: Any) -> Any:  # pragma: no cover - helper for callers
    return X.toarray() if sp.issparse(X) else X
