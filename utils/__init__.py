"""Practical Data Science labs: shared helpers, importable as ``utils``.

Start every notebook with ``lab = utils.connect(BACKEND)``: see :mod:`utils.lab`.
"""


def _keep_notebook_tracebacks() -> None:
    """Stop the sagemaker SDK from replacing IPython's error display with rich's.

    Importing ``sagemaker`` runs ``sagemaker_core``, which calls ``rich.traceback.install()``:
    after that a failing cell prints its error as plain output, and papermill and learners see
    an empty error. Importing it here first, with ``install`` disabled while its module binds
    the name, keeps Jupyter's own error display for the whole session.
    """
    import sys

    import rich.traceback

    if "sagemaker_core.main.utils" in sys.modules:
        from utils.errors import restore_ipython_tracebacks

        restore_ipython_tracebacks()  # the SDK came first (a pasted `import sagemaker`)
        return
    original = rich.traceback.install
    rich.traceback.install = lambda *args, **kwargs: None
    try:
        import sagemaker_core.main.utils as sm_utils
    except ImportError:  # pragma: no cover - sagemaker is in requirements.txt
        return
    finally:
        rich.traceback.install = original
    sm_utils.textual_rich_console_and_traceback_enabled = True


from utils.sdk import quiet_sagemaker  # noqa: E402

quiet_sagemaker()
_keep_notebook_tracebacks()

from utils.config import LabConfig  # noqa: E402
from utils.errors import LabError, PrerequisiteError  # noqa: E402
from utils.lab import Lab, connect  # noqa: E402

__all__ = ["Lab", "LabConfig", "LabError", "PrerequisiteError", "connect"]
