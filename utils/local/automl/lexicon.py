"""Sentiment-lexicon features for text columns: VADER scores of the review and of its sentences.

AWS equivalent: none. Autopilot featurizes text with n-gram TF-IDF only. The local engine adds
VADER (Hutto & Gilbert 2014, the ``vaderSentiment`` package), a hand-curated lexicon with rules
for negation, intensifiers, "but" and punctuation: knowledge from outside the training data,
which n-gram models learnt from a few thousand reviews lack (on the course's balanced data it
adds about half a point of accuracy to the ENSEMBLING stack, see ``benchmarks/autopilot.py``).

The features are label-free (no fitting), so they need no out-of-fold treatment: per text,
the compound, positive, negative and neutral scores of the whole text, then the compound score
of its sentences (lowest, highest, first, last, mean) and the share of negative sentences.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from utils.local.automl.text import section, sentences

NAMES = ("compound", "positive", "negative", "neutral", "sentence_min", "sentence_max",
         "sentence_first", "sentence_last", "sentence_mean", "negative_sentences")  # fmt: skip
MAX_ROWS = 200_000  # above this the stack leaves the lexicon out (about 1 ms per review)
NEGATIVE = -0.05  # VADER's documented threshold for a negative compound score

_ANALYZER: Any = None


def analyzer() -> Any:
    global _ANALYZER
    if _ANALYZER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def features(texts: Iterable[Any]) -> np.ndarray:
    """One row of :data:`NAMES` per text (all zeros for an empty text)."""
    sia = analyzer()
    rows = []
    for text in section(texts, "all"):  # missing values read as empty texts
        if not text.strip():
            rows.append([0.0] * len(NAMES))
            continue
        whole = sia.polarity_scores(text)
        parts = [sia.polarity_scores(s)["compound"] for s in sentences(text)]
        rows.append([whole["compound"], whole["pos"], whole["neg"], whole["neu"], min(parts),
                     max(parts), parts[0], parts[-1], float(np.mean(parts)),
                     sum(p < NEGATIVE for p in parts) / len(parts)])  # fmt: skip
    return np.asarray(rows, dtype=float).reshape(-1, len(NAMES))


def column_names(column: str) -> list[str]:
    return [f"{column}:lexicon:{n}" for n in NAMES]
