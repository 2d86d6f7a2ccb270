"""A candidate's deployable model: raw rows in, labels and probabilities out.

AWS equivalent: the candidate's inference pipeline (``InferenceContainers``: the feature
transform, the model, the inverse label transform) behind an endpoint. Here it is one Python
object, saved as ``model.joblib`` inside the candidate's ``model.tar.gz`` in the lake, which
:func:`load_candidate_model` loads back; the deploy notebook serves it over HTTP.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from utils.errors import LabError
from utils.local.automl.constants import INFERENCE_KEYS


class CandidateModelError(LabError, ValueError):
    """Rows given to a candidate model do not match the columns it was trained on."""


class CandidateModel:
    """Featurizer + estimator + label mapping; ``predict`` and ``predict_proba`` on raw rows."""

    def __init__(
        self,
        featurizer: Any,
        estimator: Any,
        problem_type: str,
        classes: list[Any],
        features: list[str],
        target: str,
        name: str = "",
    ) -> None:
        self.featurizer = featurizer
        self.estimator = estimator
        self.problem_type = problem_type
        self.classes_ = list(classes)
        self.features = list(features)
        self.target = target
        self.name = name
        self.base_dir: Path | None = None

    def bind(self, base_dir: Path) -> CandidateModel:
        """Tell estimators that keep files (AutoGluon) where the unpacked model lives."""
        self.base_dir = Path(base_dir)
        if hasattr(self.estimator, "bind"):
            self.estimator.bind(self.base_dir)
        return self

    # -- input ---------------------------------------------------------------------------------
    def frame(self, data: Any) -> pd.DataFrame:
        """Rows as a DataFrame of the training features.

        Accepts a DataFrame (extra columns such as the target are ignored), one text or a list
        of texts (for a model with one feature column), a list of dicts, or CSV text without a
        header (columns in the training order, the target left out), as an endpoint receives.
        """
        if isinstance(data, pd.DataFrame):
            missing = [c for c in self.features if c not in data.columns]
            if missing:
                raise CandidateModelError(
                    f"the rows lack column(s) {missing}; the model was trained on {self.features}"
                )
            return data[self.features].reset_index(drop=True)
        if isinstance(data, str):
            data = [data]
        if isinstance(data, pd.Series):
            data = data.tolist()
        rows = list(data)
        if rows and all(isinstance(r, dict) for r in rows):
            return self.frame(pd.DataFrame(rows))
        if len(self.features) == 1 and all(isinstance(r, str) or r is None for r in rows):
            return pd.DataFrame({self.features[0]: rows})
        if rows and all(isinstance(r, list | tuple) for r in rows):
            widths = {len(r) for r in rows}
            if widths != {len(self.features)}:
                raise CandidateModelError(
                    f"each row needs {len(self.features)} values ({self.features}), got {widths}"
                )
            return pd.DataFrame([list(r) for r in rows], columns=self.features)
        raise CandidateModelError(
            f"cannot read rows of type {type(rows[0]).__name__ if rows else 'empty'}: pass a "
            f"DataFrame with columns {self.features}, a list of texts, or a list of dicts"
        )

    def frame_from_csv(self, body: str) -> pd.DataFrame:
        """CSV lines without a header (an endpoint's ``text/csv`` body) as feature rows."""
        rows = [r for r in csv.reader(io.StringIO(body)) if r]
        if len(self.features) == 1:
            rows = [[",".join(r)] for r in rows]  # an unquoted comma inside a review's text
        return self.frame([tuple(r) for r in rows])

    # -- prediction ----------------------------------------------------------------------------
    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, shape ``(rows, classes)``, columns in ``classes_`` order."""
        if self.problem_type == "Regression":
            raise CandidateModelError("predict_proba: a regression model predicts numbers")
        frame = self.frame(data)
        return np.asarray(self.estimator.predict_proba(self.featurizer.transform(frame)))

    def predict(self, data: Any) -> np.ndarray:
        """Predicted labels (classification, in the training labels' type) or numbers."""
        frame = self.frame(data)
        X = self.featurizer.transform(frame)
        if self.problem_type == "Regression":
            return np.asarray(self.estimator.predict(X), dtype=float).ravel()
        proba = np.asarray(self.estimator.predict_proba(X))
        return np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]

    def invoke(self, data: Any, keys: Sequence[str] = ("predicted_label",)) -> list[dict]:
        """What Autopilot's inference containers answer per row, for the given response keys."""
        unknown = [k for k in keys if k not in INFERENCE_KEYS]
        if unknown:
            raise CandidateModelError(f"unknown inference response keys {unknown}; "
                                      f"supported: {list(INFERENCE_KEYS)}")  # fmt: skip
        frame = self.frame(data)
        if self.problem_type == "Regression":
            return [{"predicted_label": float(v)} for v in self.predict(frame)]
        proba = self.predict_proba(frame)
        labels = [_plain(c) for c in self.classes_]
        out = []
        for row in proba:
            i = int(row.argmax())
            full = {"predicted_label": labels[i], "probability": float(row[i]),
                    "probabilities": [float(p) for p in row], "labels": labels}  # fmt: skip
            out.append({k: full[k] for k in keys})
        return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class StackedEstimator:
    """Averages members' scores through a meta-learner (the HPO mode's ensemble candidate)."""

    def __init__(self, members: list[CandidateModel], meta: Any, scaler: Any,
                 lexicon_columns: list[str] | None = None) -> None:  # fmt: skip
        self.members = members
        self.meta = meta
        self.scaler = scaler
        self.lexicon_columns = list(lexicon_columns or [])

    def _lexicon(self, frame: pd.DataFrame) -> list[np.ndarray]:
        from utils.local.automl import lexicon

        columns = getattr(self, "lexicon_columns", [])
        return [lexicon.features(frame[c].tolist()) for c in columns]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = [np.log(np.clip(m.predict_proba(frame), 1e-9, 1)) for m in self.members]
        blocks += self._lexicon(frame)
        return self.meta.predict_proba(self.scaler.transform(np.hstack(blocks)))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = [np.asarray(m.predict(frame), dtype=float).reshape(-1, 1) for m in self.members]
        blocks += self._lexicon(frame)
        return self.meta.predict(self.scaler.transform(np.hstack(blocks)))


class IdentityFeaturizer:
    """Passes the raw frame through (for estimators that read rows themselves)."""

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame


# -- artifacts --------------------------------------------------------------------------------
def write_model_tar(target: Path, files: dict[str, Path | bytes], dirs: Iterable[Path] = ()) -> int:
    """Write ``model.tar.gz`` with the given members (name -> file or bytes) and folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=3) as tar:
        for name, content in files.items():
            if isinstance(content, bytes):
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.add(str(content), arcname=name)
        for folder in dirs:
            tar.add(str(folder), arcname=folder.name)
    os.replace(tmp, target)
    return target.stat().st_size


def dump_model(model: CandidateModel) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def unpack(tar_path: Path, into: Path) -> Path:
    """Extract ``tar_path`` into ``into`` once (again if the archive changed)."""
    stamp = into / ".source-mtime"
    mtime = str(tar_path.stat().st_mtime_ns)
    if stamp.is_file() and stamp.read_text() == mtime:
        return into
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    with tarfile.open(tar_path, "r:gz") as tar:
        tar.extractall(into, filter="data")
    stamp.write_text(mtime)
    return into


def load_model_file(folder: Path) -> CandidateModel:
    model = joblib.load(folder / "model.joblib")
    return model.bind(folder)


def load_model_dir(folder: Path) -> CandidateModel:
    """The serving entry of the ``local/automl-*`` images: the candidate model in an unpacked
    ``model.tar.gz`` (SageMaker's ``/opt/ml/model``). AWS: the inference container's model."""
    folder = Path(folder)
    if not (folder / "model.joblib").is_file():
        raise CandidateModelError(
            f"{folder} holds no model.joblib: the ModelDataUrl of a local/automl-* container must "
            "be a model.tar.gz the local Autopilot wrote for one of its candidates"
        )
    return load_model_file(folder)
