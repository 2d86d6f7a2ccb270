"""The objective metrics Autopilot reports, computed with scikit-learn.

AWS equivalent: ``FinalAutoMLJobObjectiveMetric`` and ``CandidateProperties.CandidateMetrics``.
Classification metrics take class-index targets and an ``(n, k)`` probability matrix;
regression metrics take real targets and predictions.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from utils.local.automl.constants import CANDIDATE_METRICS, MINIMIZE


def direction(metric: str) -> str:
    """``Minimize`` for error metrics (MSE, MAE, RMSE, LogLoss), else ``Maximize``."""
    return "Minimize" if metric in MINIMIZE else "Maximize"


def better(metric: str, a: float, b: float | None) -> bool:
    """True if value ``a`` beats ``b`` for ``metric`` (anything beats None)."""
    if b is None or not np.isfinite(b):
        return bool(np.isfinite(a))
    return a < b if direction(metric) == "Minimize" else a > b


def score(metric: str, y: np.ndarray, out: np.ndarray, n_classes: int = 0) -> float:
    """One metric. ``out`` is probabilities (classification) or predictions (regression)."""
    if metric in ("MSE", "RMSE", "MAE", "R2"):
        pred = np.asarray(out, dtype=float).ravel()
        if metric == "MSE":
            return float(skm.mean_squared_error(y, pred))
        if metric == "RMSE":
            return float(np.sqrt(skm.mean_squared_error(y, pred)))
        if metric == "MAE":
            return float(skm.mean_absolute_error(y, pred))
        return float(skm.r2_score(y, pred))
    proba = np.asarray(out, dtype=float)
    k = n_classes or proba.shape[1]
    pred = proba.argmax(axis=1)
    labels = list(range(k))
    if metric == "Accuracy":
        return float(skm.accuracy_score(y, pred))
    if metric == "BalancedAccuracy":
        return float(skm.balanced_accuracy_score(y, pred))
    if metric == "F1":
        return float(skm.f1_score(y, pred, pos_label=1, zero_division=0))
    if metric == "Precision":
        return float(skm.precision_score(y, pred, pos_label=1, zero_division=0))
    if metric == "Recall":
        return float(skm.recall_score(y, pred, pos_label=1, zero_division=0))
    if metric == "F1macro":
        return float(skm.f1_score(y, pred, average="macro", labels=labels, zero_division=0))
    if metric == "PrecisionMacro":
        return float(skm.precision_score(y, pred, average="macro", labels=labels, zero_division=0))
    if metric == "RecallMacro":
        return float(skm.recall_score(y, pred, average="macro", labels=labels, zero_division=0))
    if metric == "AUC":
        if len(np.unique(y)) < 2:
            return float("nan")
        return float(skm.roc_auc_score(y, proba[:, 1]))
    if metric == "LogLoss":
        clipped = np.clip(proba, 1e-15, 1)
        clipped = clipped / clipped.sum(axis=1, keepdims=True)
        return float(skm.log_loss(y, clipped, labels=labels))
    raise ValueError(f"unknown metric {metric!r}")


def all_scores(problem_type: str, y: np.ndarray, out: np.ndarray, n_classes: int = 0) -> dict:
    """Every metric Autopilot reports for a candidate of ``problem_type``."""
    return {m: score(m, y, out, n_classes) for m in CANDIDATE_METRICS[problem_type]}
