"""The lake's contract: every S3 key and prefix the labs write, in one place.

AWS equivalent: the layout of ``s3://<bucket>/`` (SageMaker's default bucket) that the course's
labs build. Each constant is relative to the lab's bucket (``lab.s3_uri(key)``). The notebooks,
the prerequisite checks and the cleanup all read them from here, and :data:`LAB_PREFIXES`, what
``99_cleanup`` empties, is derived from them: a key added here is cleaned up, and a notebook that
writes elsewhere fails its test (tests/test_keys.py).
"""

from __future__ import annotations

# -- 01_ingest -------------------------------------------------------------------------------------
RAW_PREFIX = "data/raw/"
RAW_KEY = f"{RAW_PREFIX}womens_clothing_ecommerce_reviews.csv"
TRANSFORMED_PREFIX = "data/transformed/"
TRANSFORMED_KEY = f"{TRANSFORMED_PREFIX}womens_clothing_ecommerce_reviews_transformed.csv"

# -- 03_visualize --------------------------------------------------------------------------------
IMAGES_PREFIX = "images/"  # <figure>.png

# -- 04_detect_bias --------------------------------------------------------------------------------
BIAS_PREFIX = "bias/"
BIAS_UNBALANCED_PREFIX = f"{BIAS_PREFIX}unbalanced/"  # the data Clarify reads, as the course
BIAS_REPORT_PREFIX = f"{BIAS_PREFIX}generated_bias_report/"  # + "unbalanced" / "balanced"
BALANCED_PREFIX = "data/balanced/"
BALANCED_KEY = f"{BALANCED_PREFIX}womens_clothing_ecommerce_reviews_balanced.csv"

# -- 05_autopilot ----------------------------------------------------------------------------------
HOLDOUT_KEY = f"{BALANCED_PREFIX}holdout.csv"  # reviews kept out of the job, for 06 and 07
AUTOPILOT_PREFIX = "autopilot/"  # the job's output path: autopilot/<job>/...
AUTOPILOT_DATA_PREFIX = f"{AUTOPILOT_PREFIX}data/"  # the training CSV

# -- 06_deploy_predict -----------------------------------------------------------------------------
BATCH_PREDICTIONS_PREFIX = "models/batch-predictions/"  # <input>.out, as batch transform writes

# -- 07_blazingtext ------------------------------------------------------------------------------
BLAZINGTEXT_PREFIX = "blazingtext/"
BLAZINGTEXT_DATA_PREFIX = f"{BLAZINGTEXT_PREFIX}data/"  # train/, validation/ channels
BLAZINGTEXT_OUTPUT_PREFIX = f"{BLAZINGTEXT_PREFIX}output"  # the estimators' output_path

# the outermost prefixes above (none inside another), in the order the notebooks write them:
# everything the labs write to S3 is under one of them, and this is what 99_cleanup empties
_PREFIXES = [v for k, v in list(globals().items()) if k.endswith("_PREFIX") and v.endswith("/")]
LAB_PREFIXES: tuple[str, ...] = tuple(
    p for p in _PREFIXES if not any(p != q and p.startswith(q) for q in _PREFIXES)
)


def lab_prefix_of(key: str) -> str | None:
    """The prefix of :data:`LAB_PREFIXES` that ``key`` is under, or None."""
    return next((p for p in LAB_PREFIXES if key.startswith(p)), None)
