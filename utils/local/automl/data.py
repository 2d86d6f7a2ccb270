"""Read an AutoML job's input from the lake, check it, and infer what Autopilot infers.

AWS equivalent: Autopilot's data analysis step (the ``AnalyzingData`` stage): it reads the CSV
under the input S3 URI, finds the target column, infers the problem type and each column's
type, and fails the job with a reason when the data cannot be used.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from utils.errors import LabError
from utils.local.automl.constants import OBJECTIVES, PROBLEM_TYPES
from utils.local.lake import LocalLake, parse_s3_uri

MAX_CLASSES = 2000
MIN_ROWS = 10
AWS_MIN_ROWS = 500


class InputDataError(LabError, ValueError):
    """The job's input cannot be used; the message is the job's FailureReason."""


@dataclass
class Dataset:
    """A job's training data and what the analysis found about it."""

    frame: pd.DataFrame  # features and target, rows with a missing target dropped
    target: str
    problem_type: str
    column_types: dict[str, str]  # feature column -> "text" | "categorical" | "numeric"
    classes: list[Any] = field(default_factory=list)  # sorted labels (classification)
    source_uris: list[str] = field(default_factory=list)
    size_bytes: int = 0
    dropped_missing_target: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return list(self.column_types)

    @property
    def y(self) -> np.ndarray:
        """The target as class indices (classification) or floats (regression)."""
        values = self.frame[self.target]
        if self.problem_type == "Regression":
            return values.to_numpy(dtype=float)
        lookup = {label: i for i, label in enumerate(self.classes)}
        return values.map(lookup).to_numpy(dtype=int)

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "Regression"


def list_input_objects(lake: LocalLake, uri: str) -> list[str]:
    """The objects an S3Prefix input names: the object itself, or every object under it."""
    from utils.local.s3 import LocalS3

    parse_s3_uri(uri)
    path = lake.path_for(uri)
    if path.is_file():
        return [uri]
    objects = [
        u for u in LocalS3(lake).list_objects(uri) if not u.rsplit("/", 1)[-1].startswith(".")
    ]
    if not objects:
        raise InputDataError(
            f"ClientError: No objects found at the input location {uri!r}: upload the training "
            "CSV there first (lab.wr.s3.upload or wr.s3.to_csv)."
        )
    return objects


def read_input(
    lake: LocalLake, uri: str, target: str, compression: str | None = None
) -> tuple[pd.DataFrame, list[str], int]:
    """Read the CSV object(s) under ``uri`` (each with a header row) into one DataFrame."""
    objects = list_input_objects(lake, uri)
    frames, total = [], 0
    for obj in objects:
        path = lake.path_for(obj)
        raw = path.read_bytes()
        total += len(raw)
        if not raw.strip():
            raise InputDataError(f"ClientError: The input object {obj} is empty.")
        try:
            frame = pd.read_csv(
                io.BytesIO(raw),
                compression="gzip" if (compression or "").lower() == "gzip" else "infer",
                low_memory=False,
            )
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
            raise InputDataError(
                f"ClientError: Could not read {obj} as a CSV file with a header row: {exc}"
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputDataError(f"ClientError: The input object {obj} holds no data.") from exc
        frames.append((obj, frame))
    header = list(frames[0][1].columns)
    for obj, frame in frames[1:]:
        if list(frame.columns) != header:
            raise InputDataError(
                f"ClientError: The files under {uri} do not share one header: {objects[0]} has "
                f"{header}, {obj} has {list(frame.columns)}."
            )
    data = pd.concat([f for _, f in frames], ignore_index=True)
    if target not in data.columns:
        raise InputDataError(
            f"ClientError: The target attribute name {target!r} was not found in the header of "
            f"{objects[0]}; its columns are {header}. Set target_attribute_name to one of them."
        )
    return data, objects, total


def infer_problem_type(y: pd.Series) -> str:
    """Binary for two distinct values; regression for real-valued numbers; else multiclass."""
    distinct = y.nunique(dropna=True)
    if distinct == 2:
        return "BinaryClassification"
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        values = y.dropna().to_numpy(dtype=float)
        integral = np.all(np.isclose(values, np.round(values)))
        if not integral or distinct > min(100, max(10, len(values) // 20)):
            return "Regression"
    return "MulticlassClassification"


def column_type(values: pd.Series) -> str:
    """``numeric``, ``text`` (free text: several words, mostly distinct) or ``categorical``."""
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    sample = values.dropna().astype(str).head(5000)
    if sample.empty:
        return "categorical"
    words = sample.str.split().str.len().mean()
    distinct = sample.nunique() / len(sample)
    if words >= 3 and distinct > 0.3:
        return "text"
    return "categorical"


def analyze(
    lake: LocalLake,
    uri: str,
    target: str,
    problem_type: str | None = None,
    compression: str | None = None,
) -> Dataset:
    """Read and check the input; returns the Dataset or raises InputDataError with the reason."""
    data, objects, size = read_input(lake, uri, target, compression)
    if data.empty:
        raise InputDataError(
            f"ClientError: The input at {uri} has a header but no data rows; add training rows."
        )
    missing = int(data[target].isna().sum())
    data = data[data[target].notna()].reset_index(drop=True)
    if len(data) < MIN_ROWS:
        raise InputDataError(
            f"ClientError: The input at {uri} has {len(data)} rows with a value in {target!r}; "
            f"the local engine needs at least {MIN_ROWS} (Autopilot on AWS needs {AWS_MIN_ROWS})."
        )
    features = [c for c in data.columns if c != target]
    if not features:
        raise InputDataError(
            f"ClientError: The input at {uri} has only the target column {target!r}; add at "
            "least one feature column."
        )
    y = data[target]
    distinct = y.nunique()
    if distinct < 2:
        raise InputDataError(
            f"ClientError: The target column {target!r} has only one distinct value "
            f"({y.iloc[0]!r}) in {len(data)} rows: a model needs at least two classes "
            "(or varying numbers, for regression)."
        )
    inferred = infer_problem_type(y)
    if problem_type is None:
        problem_type = inferred
    elif problem_type not in PROBLEM_TYPES:
        raise InputDataError(f"ProblemType {problem_type!r}: use one of {list(PROBLEM_TYPES)}")
    if problem_type == "BinaryClassification" and distinct != 2:
        raise InputDataError(
            f"ClientError: ProblemType BinaryClassification needs exactly 2 distinct values in "
            f"{target!r}, found {distinct}; use MulticlassClassification."
        )
    if problem_type == "Regression" and not pd.api.types.is_numeric_dtype(y):
        raise InputDataError(
            f"ClientError: ProblemType Regression needs a numeric target, but {target!r} holds "
            f"text such as {str(y.iloc[0])!r}."
        )
    if problem_type != "Regression" and distinct > MAX_CLASSES:
        raise InputDataError(
            f"ClientError: {target!r} has {distinct} distinct values, more than the "
            f"{MAX_CLASSES} classes a classification job allows."
        )
    classes: list[Any] = []
    if problem_type != "Regression":
        classes = sorted(y.unique().tolist(), key=lambda v: (str(type(v)), v))
        counts = y.value_counts()
        rare = counts[counts < 2]
        if len(rare):
            raise InputDataError(
                f"ClientError: class(es) {rare.index.tolist()} of {target!r} appear only once; "
                "each class needs at least 2 rows to be validated."
            )
    column_types = {c: column_type(data[c]) for c in features}
    warnings = []
    if len(data) < AWS_MIN_ROWS:
        warnings.append(
            f"{len(data)} rows: Autopilot on AWS requires at least {AWS_MIN_ROWS} rows; "
            "the local engine runs anyway."
        )
    if missing:
        warnings.append(f"dropped {missing} rows whose target {target!r} is missing")
    return Dataset(frame=data, target=target, problem_type=problem_type,
                   column_types=column_types, classes=classes, source_uris=objects,
                   size_bytes=size, dropped_missing_target=missing,
                   warnings=warnings)  # fmt: skip


def check_objective(problem_type: str, metric: str | None) -> str:
    """The objective for ``problem_type``: the given metric if it fits, else Autopilot's default."""
    from utils.local.automl.constants import DEFAULT_OBJECTIVE

    if metric is None:
        return DEFAULT_OBJECTIVE[problem_type]
    allowed = OBJECTIVES[problem_type]
    if metric not in allowed:
        raise InputDataError(
            f"ClientError: The objective metric {metric!r} does not apply to {problem_type}; "
            f"use one of {list(allowed)}."
        )
    return metric
