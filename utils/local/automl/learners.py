"""The learners of the local Autopilot and their hyperparameter search spaces.

AWS equivalent: the algorithms Autopilot's HPO mode tunes (linear learner, XGBoost, MLP) plus the
linear text models that serve sparse n-gram features well: a linear SVM, one-vs-rest logistic
regression, NB-SVM (logistic regression on naive-Bayes log-count-ratio scaled features, Wang &
Manning 2012) and multinomial naive Bayes.

Classification learners take class indices ``0..k-1`` and give ``predict_proba``; every learner
also gives ``raw(X)``, the scores used for stacking and calibration. Linear SVM scores become
probabilities through a softmax whose temperature is fitted on out-of-fold scores
(:meth:`Learner.calibrate`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax

SEARCH_SPACE_NOTE = "ranges follow Autopilot's where it documents them (XGBoost)"


class Learner:
    """Base class: a scikit-learn style estimator with ``raw`` scores and calibration."""

    kind = "classifier"
    name = "learner"
    temperature: float = 1.0

    def __init__(self, n_classes: int = 2, seed: int = 0, **params: Any) -> None:
        self.n_classes = n_classes
        self.seed = seed
        self.params = params

    # subclasses implement fit and raw
    def fit(self, X: sp.spmatrix, y: np.ndarray) -> Learner:  # pragma: no cover - abstract
        raise NotImplementedError

    def raw(self, X: sp.spmatrix) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities from raw scores (default: a tempered softmax over class scores)."""
        scores = _as_class_scores(raw, self.n_classes)
        return softmax(scores * self.temperature, axis=1)

    def calibrate(self, raw_oof: np.ndarray, y: np.ndarray) -> None:
        """Fit the softmax temperature that minimizes the log loss of out-of-fold scores."""
        if not getattr(self, "needs_calibration", False):
            return
        scores = _as_class_scores(raw_oof, self.n_classes)
        best_t, best = 1.0, np.inf
        for t in np.geomspace(0.1, 30, 40):
            p = softmax(scores * t, axis=1)
            loss = -np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)))
            if loss < best:
                best_t, best = float(t), loss
        self.temperature = best_t

    def predict_proba(self, X: sp.spmatrix) -> np.ndarray:
        return self.proba_from_raw(self.raw(X))

    def predict(self, X: sp.spmatrix) -> np.ndarray:
        if self.kind == "regressor":
            return self.raw(X).ravel()
        return self.predict_proba(X).argmax(axis=1)

    def describe(self) -> dict[str, Any]:
        return {"algorithm": self.name, "hyperparameters": dict(self.params)}


def _as_class_scores(raw: np.ndarray, n_classes: int) -> np.ndarray:
    raw = np.asarray(raw, dtype=float)
    if raw.ndim == 1 or raw.shape[1] == 1:
        d = raw.reshape(-1)
        return np.column_stack([np.zeros_like(d), d])
    return raw


def _select_columns(X: sp.spmatrix, max_features: int | None) -> np.ndarray | None:
    if not max_features or X.shape[1] <= max_features:
        return None
    df = np.bincount(sp.csr_matrix(X).indices, minlength=X.shape[1])
    return np.sort(np.argsort(-df, kind="stable")[:max_features])


class LinearSVM(Learner):
    """A linear SVM (liblinear, one-vs-rest); probabilities by a calibrated softmax."""

    name = "linear-svm"
    needs_calibration = True

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        from sklearn.svm import LinearSVC

        self.model_ = LinearSVC(
            C=self.params.get("C", 0.1), class_weight=self.params.get("class_weight"),
            random_state=self.seed, max_iter=5000,
        ).fit(X, y)  # fmt: skip
        return self

    def raw(self, X: Any) -> np.ndarray:
        return self.model_.decision_function(X)

    def coefficients(self) -> np.ndarray:
        return np.atleast_2d(self.model_.coef_)


class Logistic(Learner):
    """Logistic regression, one-vs-rest with liblinear (fast on sparse n-grams)."""

    name = "logistic-regression"

    def _transform(self, X: Any, k: int) -> Any:
        return X

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        from sklearn.linear_model import LogisticRegression

        C = self.params.get("C", 1.0)
        cw = self.params.get("class_weight")
        self.models_ = []
        targets = [1] if self.n_classes == 2 else range(self.n_classes)
        self.ratios_ = []
        for k in targets:
            yb = (y == k).astype(int)
            self.ratios_.append(self._ratio(X, yb))
            Xk = self._transform(X, len(self.ratios_) - 1)
            model = LogisticRegression(C=C, solver="liblinear", class_weight=cw, max_iter=500)
            self.models_.append(model.fit(Xk, yb))
        return self

    def _ratio(self, X: Any, yb: np.ndarray) -> np.ndarray | None:
        return None

    def raw(self, X: Any) -> np.ndarray:
        cols = [m.decision_function(self._transform(X, i)) for i, m in enumerate(self.models_)]
        return np.column_stack(cols) if len(cols) > 1 else cols[0]

    def proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        if self.n_classes == 2:
            p1 = expit(np.asarray(raw).reshape(-1))
            return np.column_stack([1 - p1, p1])
        p = expit(raw)
        return p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)

    def coefficients(self) -> np.ndarray:
        rows = []
        for i, m in enumerate(self.models_):
            coef = m.coef_.ravel()
            if self.ratios_[i] is not None:
                coef = coef * self.ratios_[i]
            rows.append(coef)
        return np.vstack(rows)


class NBLogistic(Logistic):
    """NB-SVM: logistic regression on features scaled by naive-Bayes log-count ratios."""

    name = "nb-logistic"

    def _ratio(self, X: Any, yb: np.ndarray) -> np.ndarray | None:
        alpha = self.params.get("alpha", 1.0)
        p = np.asarray(X[yb == 1].sum(axis=0)).ravel() + alpha
        q = np.asarray(X[yb == 0].sum(axis=0)).ravel() + alpha
        return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)

    def _transform(self, X: Any, k: int) -> Any:
        return sp.csr_matrix(X).multiply(self.ratios_[k]).tocsr()


class NaiveBayes(Learner):
    """Multinomial naive Bayes on (non-negative) TF-IDF features."""

    name = "naive-bayes"

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        from sklearn.naive_bayes import MultinomialNB

        self.model_ = MultinomialNB(alpha=self.params.get("alpha", 0.3)).fit(abs(X), y)
        return self

    def raw(self, X: Any) -> np.ndarray:
        log_p = self.model_.predict_log_proba(abs(X))
        return log_p - log_p.mean(axis=1, keepdims=True)

    def proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        return softmax(raw, axis=1)

    def coefficients(self) -> np.ndarray:
        return self.model_.feature_log_prob_


class XGBoost(Learner):
    """XGBoost (hist) on the most frequent n-grams; Autopilot's main HPO algorithm."""

    name = "xgboost"

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        import xgboost as xgb

        p = self.params
        self.cols_ = _select_columns(X, p.get("max_features", 20000))
        Xs = X if self.cols_ is None else X[:, self.cols_]
        common = dict(
            n_estimators=int(p.get("num_round", 200)), max_depth=int(p.get("max_depth", 6)),
            learning_rate=p.get("eta", 0.1), gamma=p.get("gamma", 0.0),
            min_child_weight=p.get("min_child_weight", 1.0), subsample=p.get("subsample", 1.0),
            colsample_bytree=p.get("colsample_bytree", 1.0), reg_lambda=p.get("lambda", 1.0),
            reg_alpha=p.get("alpha", 0.0), tree_method="hist", n_jobs=2,
            random_state=self.seed, verbosity=0,
        )  # fmt: skip
        if self.kind == "regressor":
            self.model_ = xgb.XGBRegressor(**common).fit(Xs, y)
        else:
            self.model_ = xgb.XGBClassifier(**common).fit(Xs, y)
        return self

    def _x(self, X: Any) -> Any:
        return X if self.cols_ is None else X[:, self.cols_]

    def raw(self, X: Any) -> np.ndarray:
        if self.kind == "regressor":
            return self.model_.predict(self._x(X))
        return np.log(np.clip(self.model_.predict_proba(self._x(X)), 1e-9, 1))

    def proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        return softmax(raw, axis=1)


class MLP(Learner):
    """A one-hidden-layer perceptron (scikit-learn) on the most frequent features."""

    name = "mlp"

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        p = self.params
        self.cols_ = _select_columns(X, p.get("max_features", 30000))
        cls = MLPRegressor if self.kind == "regressor" else MLPClassifier
        self.model_ = cls(
            hidden_layer_sizes=(int(p.get("hidden", 64)),), alpha=p.get("alpha", 1e-3),
            learning_rate_init=p.get("learning_rate", 1e-3), max_iter=int(p.get("epochs", 8)),
            batch_size=128, random_state=self.seed,
        )  # fmt: skip
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(X if self.cols_ is None else X[:, self.cols_], y)
        return self

    def raw(self, X: Any) -> np.ndarray:
        Xs = X if self.cols_ is None else X[:, self.cols_]
        if self.kind == "regressor":
            return self.model_.predict(Xs)
        return np.log(np.clip(self.model_.predict_proba(Xs), 1e-9, 1))

    def proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        return softmax(raw, axis=1)


class OrdinalSVM(Learner):
    """k-1 linear SVMs for "label above class j" (classes in numeric order); stacking only."""

    name = "ordinal-svm"

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        from sklearn.svm import LinearSVC

        self.models_ = [
            LinearSVC(C=self.params.get("C", 0.05), random_state=self.seed, max_iter=5000).fit(
                X, (y > j).astype(int)
            )
            for j in range(self.n_classes - 1)
        ]
        return self

    def raw(self, X: Any) -> np.ndarray:
        return np.column_stack([m.decision_function(X) for m in self.models_])


class RidgeScore(Learner):
    """Ridge regression: the class index as a score (ordinal classes), or the regression target."""

    name = "ridge"

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        from sklearn.linear_model import Ridge

        self.model_ = Ridge(alpha=self.params.get("alpha", 2.0)).fit(X, y.astype(float))
        return self

    def raw(self, X: Any) -> np.ndarray:
        return self.model_.predict(X)

    def coefficients(self) -> np.ndarray:
        return np.atleast_2d(self.model_.coef_)


class LinearSVR(Learner):
    """A linear support-vector regressor (liblinear)."""

    name = "linear-svr"
    kind = "regressor"

    def fit(self, X: Any, y: np.ndarray) -> Learner:
        from sklearn.svm import LinearSVR as _SVR

        self.model_ = _SVR(C=self.params.get("C", 0.1), random_state=self.seed, max_iter=5000,
                           epsilon=self.params.get("epsilon", 0.0)).fit(X, y)  # fmt: skip
        return self

    def raw(self, X: Any) -> np.ndarray:
        return self.model_.predict(X)


CLASSIFIERS: dict[str, type[Learner]] = {
    "linear-svm": LinearSVM,
    "logistic-regression": Logistic,
    "nb-logistic": NBLogistic,
    "naive-bayes": NaiveBayes,
    "xgboost": XGBoost,
    "mlp": MLP,
}
# scores for the stack of ENSEMBLING mode, not classifiers on their own
STACK_ONLY: dict[str, type[Learner]] = {"ordinal-svm": OrdinalSVM, "ridge": RidgeScore}
REGRESSORS: dict[str, type[Learner]] = {
    "ridge": RidgeScore,
    "linear-svr": LinearSVR,
    "xgboost": XGBoost,
    "mlp": MLP,
}


def make_learner(name: str, problem_type: str, n_classes: int, seed: int, **params: Any) -> Learner:
    """Instantiate learner ``name`` for ``problem_type`` with hyperparameters ``params``."""
    table = REGRESSORS if problem_type == "Regression" else {**CLASSIFIERS, **STACK_ONLY}
    if name not in table:
        raise ValueError(f"unknown learner {name!r} for {problem_type}; known: {sorted(table)}")
    learner = table[name](n_classes=n_classes, seed=seed, **params)
    if problem_type == "Regression":
        learner.kind = "regressor"
    return learner


def suggest(trial: Any, name: str) -> dict[str, Any]:
    """Sample hyperparameters for learner ``name`` from an Optuna trial."""
    if name in ("linear-svm", "linear-svr"):
        out = {"C": trial.suggest_float(f"{name}:C", 0.01, 3.0, log=True)}
        if name == "linear-svm":
            out["class_weight"] = trial.suggest_categorical(
                f"{name}:class_weight", [None, "balanced"]
            )
        return out
    if name in ("logistic-regression", "nb-logistic"):
        out = {"C": trial.suggest_float(f"{name}:C", 0.1, 30.0, log=True)}
        out["class_weight"] = trial.suggest_categorical(f"{name}:class_weight", [None, "balanced"])
        if name == "nb-logistic":
            out["alpha"] = trial.suggest_float(f"{name}:alpha", 0.1, 2.0, log=True)
        return out
    if name == "naive-bayes":
        return {"alpha": trial.suggest_float(f"{name}:alpha", 0.01, 1.0, log=True)}
    if name == "ridge":
        return {"alpha": trial.suggest_float(f"{name}:alpha", 0.1, 30.0, log=True)}
    if name == "xgboost":
        return {
            "num_round": trial.suggest_int(f"{name}:num_round", 64, 512, log=True),
            "max_depth": trial.suggest_int(f"{name}:max_depth", 2, 8),
            "eta": trial.suggest_float(f"{name}:eta", 1e-3, 1.0, log=True),
            "gamma": trial.suggest_float(f"{name}:gamma", 1e-6, 64, log=True),
            "min_child_weight": trial.suggest_float(f"{name}:min_child_weight", 1e-6, 32, log=True),
            "subsample": trial.suggest_float(f"{name}:subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float(f"{name}:colsample_bytree", 0.3, 1.0),
            "lambda": trial.suggest_float(f"{name}:lambda", 1e-6, 2.0, log=True),
            "alpha": trial.suggest_float(f"{name}:xgb_alpha", 1e-6, 2.0, log=True),
            "max_features": 20000,
        }
    if name == "mlp":
        return {
            "hidden": trial.suggest_categorical(f"{name}:hidden", [32, 64, 128]),
            "alpha": trial.suggest_float(f"{name}:mlp_alpha", 1e-5, 1e-1, log=True),
            "learning_rate": trial.suggest_float(f"{name}:learning_rate", 3e-4, 3e-3, log=True),
            "epochs": trial.suggest_int(f"{name}:epochs", 3, 12),
            "max_features": 30000,
        }
    raise ValueError(f"no search space for {name!r}")


# good first guesses, tried before the optimizer takes over (as Autopilot seeds its search)
DEFAULTS: dict[str, dict[str, Any]] = {
    "linear-svm": {"C": 0.05, "class_weight": None},
    "nb-logistic": {"C": 3.0, "alpha": 1.0, "class_weight": None},
    "logistic-regression": {"C": 3.0, "class_weight": None},
    "naive-bayes": {"alpha": 0.3},
    "xgboost": {
        "num_round": 200,
        "max_depth": 6,
        "eta": 0.1,
        "gamma": 1e-6,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "lambda": 1.0,
        "alpha": 1e-6,
        "max_features": 20000,
    },  # fmt: skip
    "mlp": {
        "hidden": 64,
        "alpha": 1e-3,
        "learning_rate": 1e-3,
        "epochs": 6,
        "max_features": 30000,
    },  # fmt: skip
    "ridge": {"alpha": 2.0},
    "linear-svr": {"C": 0.1},
}
