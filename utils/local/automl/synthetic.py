"""Small synthetic review sets whose words carry the label, with noise (for tests and demos).

Not the course's data: a few hundred short reviews that a text model learns in seconds, so the
local Autopilot's lifecycle can be exercised quickly and offline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_WORDS = {
    -1: "awful cheap ripped returned disappointing itchy terrible worst unflattering scratchy",
    0: "okay average fine decent mixed alright ordinary acceptable so-so passable",
    1: "love perfect gorgeous flattering beautiful comfortable great stunning favorite soft",
}
_FILLER = ("the dress top fabric color fit size length material shirt skirt was is very a bit "
           "and but with for this it my").split()  # fmt: skip


def make_reviews(n: int = 300, seed: int = 0, noise: float = 0.25, classes: int = 3,
                 extra_columns: bool = False) -> pd.DataFrame:  # fmt: skip
    """``n`` reviews with columns ``sentiment`` and ``review_body`` (and, with
    ``extra_columns``, a numeric ``age`` and a categorical ``product_category``).

    Each review draws a few words of its class and some filler; with probability ``noise`` a
    word comes from another class. ``classes=2`` gives labels -1 and 1 only.
    """
    rng = np.random.default_rng(seed)
    labels = [-1, 0, 1] if classes == 3 else [-1, 1]
    y = np.array([labels[i % len(labels)] for i in range(n)])
    rng.shuffle(y)
    vocab = {k: v.split() for k, v in _WORDS.items()}
    texts = []
    for label in y:
        words = []
        for _ in range(rng.integers(3, 6)):
            source = label if rng.random() > noise else labels[rng.integers(len(labels))]
            words.append(vocab[source][rng.integers(len(vocab[source]))])
        words += [_FILLER[i] for i in rng.integers(len(_FILLER), size=rng.integers(4, 9))]
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ".")
    frame = pd.DataFrame({"sentiment": y, "review_body": texts})
    if extra_columns:
        frame["age"] = rng.integers(18, 80, size=n)
        frame["product_category"] = rng.choice(["Dresses", "Knits", "Blouses"], size=n)
    return frame
