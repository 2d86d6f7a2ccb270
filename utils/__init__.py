"""Practical Data Science labs: shared helpers, importable as ``utils``.

Start every notebook with ``lab = utils.connect(BACKEND)``: see :mod:`utils.lab`.
"""

from utils.config import LabConfig
from utils.errors import LabError, PrerequisiteError
from utils.lab import Lab, connect

__all__ = ["Lab", "LabConfig", "LabError", "PrerequisiteError", "connect"]
