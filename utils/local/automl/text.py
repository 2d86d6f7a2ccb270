"""Text and tabular featurizers: word and character n-gram TF-IDF, sentence sections, negation.

AWS equivalent: the data processing pipelines Autopilot generates ("data-processor-models"):
TF-IDF over words and characters for text columns, imputation and scaling for numbers, one-hot
encoding for categories.

For speed during cross-validation, each n-gram block is counted **once** over the whole input
(:class:`CountCache`); a fold then keeps the n-grams that occur often enough in its *training*
rows and weights them with the training rows' IDF, so no fold learns anything from its
validation rows. The fitted, deployable form of a block is :class:`FittedNgrams`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TOKEN = re.compile(r"[\w']+|[.,!?;:]")
_NEGATORS = frozenset(
    "not no never nor nothing cannot cant dont didnt doesnt isnt wasnt wont arent werent "
    "couldnt wouldnt shouldnt hardly barely".split()
)
_CLAUSE_END = frozenset(".,!?;:")


def sentences(text: str) -> list[str]:
    """Split a review into sentences (on ., ! and ? followed by white space)."""
    parts = [p for p in _SENTENCE.split(str(text).strip()) if p]
    return parts or [str(text)]


def mark_negation(text: str) -> str:
    """Prefix ``NOT_`` to the words after a negation, up to the end of the clause."""
    out: list[str] = []
    negated = False
    for token in _TOKEN.findall(str(text).lower()):
        if token in _CLAUSE_END:
            negated = False
            out.append(token)
            continue
        out.append("NOT_" + token if negated else token)
        bare = token.replace("'", "")
        if bare in _NEGATORS or bare.endswith("nt") and token.endswith("n't"):
            negated = True
    return " ".join(out)


def section(texts: Iterable[Any], which: str) -> list[str]:
    """The part of each text a block reads: all, first or last sentence, or negation-marked."""
    values = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]
    if which == "all":
        return values
    if which == "first":
        return [sentences(t)[0] for t in values]
    if which == "last":
        return [sentences(t)[-1] for t in values]
    if which == "negated":
        return [mark_negation(t) for t in values]
    raise ValueError(f"unknown text section {which!r}")


@dataclass(frozen=True)
class NgramSpec:
    """One n-gram block of one text column."""

    column: str
    name: str  # word | char | first | last | negated
    analyzer: str = "word"
    ngram_range: tuple[int, int] = (1, 2)
    section: str = "all"
    min_df: int = 2
    max_features: int | None = None
    weight: float = 1.0

    @property
    def key(self) -> str:
        return f"{self.column}:{self.name}"

    def vectorizer(self, vocabulary: Sequence[str] | None = None) -> CountVectorizer:
        pattern = r"[\w']+|[!?]" if self.analyzer == "word" else None
        kwargs: dict[str, Any] = dict(
            analyzer=self.analyzer, ngram_range=tuple(self.ngram_range), lowercase=True,
            dtype=np.float32,
        )  # fmt: skip
        if pattern:
            kwargs["token_pattern"] = pattern
        if vocabulary is None:
            kwargs["min_df"] = self.min_df
        else:
            kwargs["vocabulary"] = {t: i for i, t in enumerate(vocabulary)}
        return CountVectorizer(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ngram_range"] = list(self.ngram_range)
        return out


def text_blocks(column: str, rows: int) -> list[NgramSpec]:
    """The n-gram blocks for one text column (smaller for very large inputs)."""
    big = rows > 200_000
    return [
        NgramSpec(column, "word", "word", (1, 3), "all", 2, 200_000 if big else None, 1.0),
        NgramSpec(column, "char", "char_wb", (2, 5), "all", 3, 100_000 if big else 300_000, 1.0),
        NgramSpec(column, "first", "word", (1, 2), "first", 2, None, 0.5),
        NgramSpec(column, "last", "word", (1, 2), "last", 2, None, 0.7),
        NgramSpec(column, "negated", "word", (1, 2), "negated", 2, None, 1.0),
    ]


def tfidf(counts: sp.csr_matrix, idf: np.ndarray, weight: float = 1.0) -> sp.csr_matrix:
    """Sublinear TF times IDF, rows scaled to unit length, times the block's weight."""
    out = counts.astype(np.float32, copy=True).tocsr()
    np.log1p(out.data, out=out.data)
    out = out @ sp.diags(idf.astype(np.float32))
    out = normalize(out, copy=False)
    if weight != 1.0:
        out.data *= np.float32(weight)
    return out.tocsr()


def select_terms(
    counts: sp.csr_matrix, rows: np.ndarray, min_df: int, max_features: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Columns whose document frequency in ``rows`` is at least ``min_df``, and their IDF."""
    sub = counts[rows]
    df = np.bincount(sub.indices, minlength=counts.shape[1])
    keep = np.flatnonzero(df >= min_df)
    if max_features is not None and len(keep) > max_features:
        order = np.argsort(-df[keep], kind="stable")[:max_features]
        keep = np.sort(keep[order])
    n = sub.shape[0]
    idf = np.log((1 + n) / (1 + df[keep])) + 1.0
    return keep, idf


class FittedNgrams:
    """A fitted n-gram TF-IDF block: turns raw texts into its features (deployable)."""

    def __init__(self, spec: NgramSpec, terms: list[str], idf: np.ndarray) -> None:
        self.spec = spec
        self.terms = terms
        self.idf = np.asarray(idf, dtype=np.float32)
        self._vectorizer: CountVectorizer | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_vectorizer"] = None
        state.pop("_fingerprint", None)
        return state

    @property
    def fingerprint(self) -> tuple[str, int]:
        """Equal for two blocks that transform every text the same way (same spec, terms, idf)."""
        if getattr(self, "_fingerprint", None) is None:
            digest = hashlib.sha1(repr((self.spec, self.terms)).encode())
            digest.update(self.idf.tobytes())
            self._fingerprint = (self.spec.key, int(digest.hexdigest()[:15], 16))
        return self._fingerprint

    def transform(self, texts: Iterable[Any]) -> sp.csr_matrix:
        if self._vectorizer is None:
            self._vectorizer = self.spec.vectorizer(self.terms)
        if not self.terms:
            return sp.csr_matrix((len(list(texts)), 0), dtype=np.float32)
        counts = self._vectorizer.transform(section(texts, self.spec.section))
        return tfidf(counts, self.idf, self.spec.weight)

    @property
    def feature_names(self) -> list[str]:
        return [f"{self.spec.key}:{t}" for t in self.terms]


class TabularFeaturizer:
    """Numbers (median-imputed, robust-scaled, plus a missing flag) and one-hot categories."""

    def __init__(self, numeric: list[str], categorical: list[str], max_levels: int = 50) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.max_levels = max_levels

    def fit(self, frame: pd.DataFrame) -> TabularFeaturizer:
        self.medians_, self.scales_ = {}, {}
        for col in self.numeric:
            values = pd.to_numeric(frame[col], errors="coerce")
            med = float(values.median()) if values.notna().any() else 0.0
            q1, q3 = (values.quantile([0.25, 0.75]).tolist() if values.notna().any()
                      else (0.0, 1.0))  # fmt: skip
            self.medians_[col] = med
            self.scales_[col] = float(q3 - q1) or float(values.std() or 1.0) or 1.0
        self.levels_ = {}
        for col in self.categorical:
            counts = frame[col].astype(str).value_counts()
            self.levels_[col] = counts[counts >= 2].index[: self.max_levels].tolist()
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        blocks = []
        for col in self.numeric:
            values = pd.to_numeric(frame[col], errors="coerce")
            missing = values.isna().to_numpy(dtype=np.float32)
            scaled = ((values.fillna(self.medians_[col]) - self.medians_[col])
                      / self.scales_[col]).clip(-10, 10).to_numpy(dtype=np.float32)  # fmt: skip
            blocks.append(sp.csr_matrix(np.column_stack([scaled, missing])))
        for col in self.categorical:
            levels = self.levels_[col]
            index = {v: i for i, v in enumerate(levels)}
            codes = frame[col].astype(str).map(index)
            rows = np.flatnonzero(codes.notna().to_numpy())
            cols = codes.dropna().to_numpy(dtype=int)
            blocks.append(sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                                        shape=(len(frame), max(1, len(levels)))))  # fmt: skip
        if not blocks:
            return sp.csr_matrix((len(frame), 0), dtype=np.float32)
        return sp.hstack(blocks).tocsr()

    @property
    def feature_names(self) -> list[str]:
        names = []
        for col in self.numeric:
            names += [col, f"{col}:missing"]
        for col in self.categorical:
            names += [f"{col}={v}" for v in self.levels_[col]] or [f"{col}=?"]
        return names


class Featurizer:
    """The fitted data processor of a candidate: n-gram blocks plus the tabular columns."""

    def __init__(self, blocks: list[FittedNgrams], tabular: TabularFeaturizer | None) -> None:
        self.blocks = blocks
        self.tabular = tabular

    def transform(self, frame: pd.DataFrame, shared: dict[Any, sp.csr_matrix] | None = None
                  ) -> sp.csr_matrix:  # fmt: skip
        """The features of ``frame``'s rows. ``shared``, a dict kept for one batch of rows, lets
        featurizers with equal blocks (the bases of a stack) compute each block once."""
        parts = []
        for b in self.blocks:
            if shared is None:
                parts.append(b.transform(frame[b.spec.column].tolist()))
                continue
            if b.fingerprint not in shared:
                shared[b.fingerprint] = b.transform(frame[b.spec.column].tolist())
            parts.append(shared[b.fingerprint])
        if self.tabular is not None:
            parts.append(self.tabular.transform(frame))
        return sp.hstack(parts).tocsr() if parts else sp.csr_matrix((len(frame), 0))

    @property
    def feature_names(self) -> list[str]:
        names = [n for b in self.blocks for n in b.feature_names]
        if self.tabular is not None:
            names += self.tabular.feature_names
        return names

    @property
    def columns(self) -> list[str]:
        cols = [b.spec.column for b in self.blocks]
        if self.tabular is not None:
            cols += self.tabular.numeric + self.tabular.categorical
        return list(dict.fromkeys(cols))


class CountCache:
    """Every n-gram block of the input counted once; folds select and weight from it."""

    def __init__(self, frame: pd.DataFrame, column_types: dict[str, str]) -> None:
        self.frame = frame
        self.column_types = column_types
        self.specs: dict[str, NgramSpec] = {}
        self.counts: dict[str, sp.csr_matrix] = {}
        self.vocab: dict[str, np.ndarray] = {}
        self._fold_cache: dict[tuple[str, bytes], tuple[sp.csr_matrix, np.ndarray]] = {}
        self.numeric = [c for c, t in column_types.items() if t == "numeric"]
        self.categorical = [c for c, t in column_types.items() if t == "categorical"]

    @property
    def text_columns(self) -> list[str]:
        return [c for c, t in self.column_types.items() if t == "text"]

    def add(self, spec: NgramSpec) -> None:
        """Count one block over all rows (the expensive, label-free part)."""
        vectorizer = spec.vectorizer()
        texts = section(self.frame[spec.column].tolist(), spec.section)
        try:
            counts = vectorizer.fit_transform(texts)
            vocab = vectorizer.get_feature_names_out()
        except ValueError:  # empty vocabulary
            counts = sp.csr_matrix((len(texts), 0), dtype=np.float32)
            vocab = np.array([], dtype=object)
        self.specs[spec.key] = spec
        self.counts[spec.key] = counts.tocsr()
        self.vocab[spec.key] = vocab

    def block(self, key: str, train: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """All rows' TF-IDF features for ``key`` as fitted on the ``train`` rows."""
        tag = (key, hashlib.blake2b(np.asarray(train).tobytes(), digest_size=16).digest())
        hit = self._fold_cache.get(tag)
        if hit is not None:
            return hit
        spec = self.specs[key]
        keep, idf = select_terms(self.counts[key], train, spec.min_df, spec.max_features)
        matrix = tfidf(self.counts[key][:, keep], idf, spec.weight)
        self._fold_cache[tag] = (matrix, keep)
        return matrix, keep

    def matrix(self, keys: Sequence[str], train: np.ndarray, tabular: bool = True) -> sp.csr_matrix:
        """The features of ``keys`` (plus tabular columns) for all rows, fitted on ``train``."""
        parts = [self.block(k, train)[0] for k in keys]
        if tabular and (self.numeric or self.categorical):
            tab = TabularFeaturizer(self.numeric, self.categorical)
            tab.fit(self.frame.iloc[train])
            parts.append(tab.transform(self.frame))
        if not parts:
            return sp.csr_matrix((len(self.frame), 0), dtype=np.float32)
        return sp.hstack(parts).tocsr()

    def fitted(self, keys: Sequence[str], train: np.ndarray, tabular: bool = True) -> Featurizer:
        """The deployable featurizer of ``keys`` fitted on ``train`` (usually all rows)."""
        blocks = []
        for key in keys:
            spec = self.specs[key]
            keep, idf = select_terms(self.counts[key], train, spec.min_df, spec.max_features)
            blocks.append(FittedNgrams(spec, self.vocab[key][keep].tolist(), idf))
        tab = None
        if tabular and (self.numeric or self.categorical):
            tab = TabularFeaturizer(self.numeric, self.categorical).fit(self.frame.iloc[train])
        return Featurizer(blocks, tab)

    def clear_folds(self) -> None:
        self._fold_cache.clear()
