"""Autopilot's vocabulary: statuses, modes, problem types, objectives and their defaults.

AWS equivalent: the enums of the SageMaker API (CreateAutoMLJobV2, DescribeAutoMLJobV2,
ListCandidatesForAutoMLJob) and the defaults the Autopilot documentation states.
"""

from __future__ import annotations

import re

# -- job and candidate statuses ---------------------------------------------------------------
JOB_STATUSES = ("Completed", "InProgress", "Failed", "Stopped", "Stopping")
TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
CANDIDATE_STATUSES = ("Completed", "InProgress", "Failed", "Stopped", "Stopping")

# the secondary statuses a local job passes through, in order
STAGES_HPO = ("Starting", "AnalyzingData", "FeatureEngineering", "ModelTuning",
              "GeneratingExplainabilityReport")  # fmt: skip
STAGES_ENSEMBLING = ("Starting", "AnalyzingData", "FeatureEngineering", "TrainingModels",
                     "GeneratingExplainabilityReport")  # fmt: skip
FINAL_SECONDARY = ("Completed", "MaxCandidatesReached", "MaxAutoMLJobRuntimeReached",
                   "CandidateDefinitionsGenerated", "Failed", "Stopped")  # fmt: skip

# -- modes, problem types -------------------------------------------------------------------------
MODES = ("AUTO", "ENSEMBLING", "HYPERPARAMETER_TUNING")
AUTO_ENSEMBLING_MAX_BYTES = 100 * 1024 * 1024  # AUTO picks ENSEMBLING below 100 MB
PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")

# Autopilot: HPO mode cross-validates up to 50,000 rows, else it holds out a validation split
CV_MAX_ROWS = 50_000
CV_FOLDS = 5
DEFAULT_VALIDATION_FRACTION = 0.2

# -- objectives ---------------------------------------------------------------------------------
OBJECTIVES: dict[str, tuple[str, ...]] = {
    "BinaryClassification": ("F1", "Accuracy", "AUC", "BalancedAccuracy", "Precision", "Recall"),
    "MulticlassClassification": (
        "Accuracy",
        "BalancedAccuracy",
        "F1macro",
        "PrecisionMacro",
        "RecallMacro",
    ),  # fmt: skip
    "Regression": ("MSE", "MAE", "R2", "RMSE"),
}
DEFAULT_OBJECTIVE = {
    "BinaryClassification": "F1",
    "MulticlassClassification": "Accuracy",
    "Regression": "MSE",
}
MINIMIZE = ("MSE", "MAE", "RMSE", "LogLoss")
# the extra metrics Autopilot reports for each candidate (CandidateProperties.CandidateMetrics)
CANDIDATE_METRICS: dict[str, tuple[str, ...]] = {
    "BinaryClassification": (
        "F1",
        "Accuracy",
        "AUC",
        "BalancedAccuracy",
        "Precision",
        "Recall",
        "LogLoss",
    ),  # fmt: skip
    "MulticlassClassification": (
        "F1macro",
        "PrecisionMacro",
        "Accuracy",
        "BalancedAccuracy",
        "RecallMacro",
        "LogLoss",
    ),  # fmt: skip
    "Regression": ("MSE", "RMSE", "MAE", "R2"),
}
# the metric names Autopilot writes in FinalAutoMLJobObjectiveMetric.MetricName
VALIDATION_METRIC_NAME = {
    "Accuracy": "validation:accuracy",
    "BalancedAccuracy": "validation:balanced_accuracy",
    "F1": "validation:f1",
    "F1macro": "validation:f1_macro",
    "PrecisionMacro": "validation:precision_macro",
    "RecallMacro": "validation:recall_macro",
    "Precision": "validation:precision",
    "Recall": "validation:recall",
    "AUC": "validation:auc",
    "MSE": "validation:mse",
    "MAE": "validation:mae",
    "R2": "validation:r2",
    "RMSE": "validation:rmse",
}

# -- limits of the API ----------------------------------------------------------------------------
JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
MAX_CANDIDATES_RANGE = (1, 750)
DEFAULT_MAX_CANDIDATES = 250  # Autopilot's default number of HPO training jobs
DEFAULT_MAX_JOB_RUNTIME = 30 * 24 * 3600  # 30 days, Autopilot's documented maximum
LOCAL_ACCOUNT = "000000000000"

# the response keys a learner may use; the tests compare them with botocore's service model
INFERENCE_KEYS = ("predicted_label", "probability", "probabilities", "labels")
