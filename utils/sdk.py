"""Small settings for the sagemaker SDK, the same on both backends."""

from __future__ import annotations

import logging
import os


def quiet_sagemaker() -> None:
    """Silence the SDK's notices: the v2 deprecation banner (the labs pin 2.x on purpose: 3.x
    removed AutoML) and "Not applying SDK defaults from location" at every Session."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    config_logger = logging.getLogger("sagemaker.config")
    if config_logger.level == logging.NOTSET:  # the SDK sets INFO only where none is set
        config_logger.setLevel(logging.WARNING)
