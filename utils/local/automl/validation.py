"""How candidates are validated: k-fold cross-validation on small data, a holdout on large.

AWS equivalent: Autopilot's validation. HPO mode cross-validates (5 folds) when the data has
at most 50,000 rows and holds out a validation split otherwise (``DataSplitConfig``'s
``ValidationFraction``, 0.2 by default); ENSEMBLING mode bags with k folds.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from utils.local.automl.constants import CV_FOLDS, CV_MAX_ROWS, DEFAULT_VALIDATION_FRACTION

Folds = list[tuple[np.ndarray, np.ndarray]]


def make_folds(
    y: np.ndarray,
    classification: bool,
    seed: int,
    validation_fraction: float | None = None,
    force_cv: bool = False,
) -> tuple[Folds, str]:
    """The folds and a description (``"5-fold cross-validation"`` or ``"holdout 20%"``)."""
    n = len(y)
    if force_cv or (validation_fraction is None and n <= CV_MAX_ROWS):
        k = CV_FOLDS
        if classification:
            k = int(max(2, min(CV_FOLDS, np.bincount(y).min())))
            splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
            folds = [(np.sort(a), np.sort(b)) for a, b in splitter.split(np.zeros(n), y)]
        else:
            splitter = KFold(k, shuffle=True, random_state=seed)
            folds = [(np.sort(a), np.sort(b)) for a, b in splitter.split(np.zeros(n))]
        return folds, f"{k}-fold cross-validation"
    fraction = validation_fraction or DEFAULT_VALIDATION_FRACTION
    rows = np.arange(n)
    train, valid = train_test_split(
        rows, test_size=fraction, random_state=seed, stratify=y if classification else None
    )
    return [(np.sort(train), np.sort(valid))], f"holdout validation ({fraction:.0%} of rows)"
