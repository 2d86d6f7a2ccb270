"""The notebooks speak the course's API: no code cell calls a project helper that wraps an AWS
call, so a reader can tell from a cell which AWS API it calls (issue 13).

The AWS calls are the SDK's classes and the clients' methods on ``lab.session`` /
``lab.client(...)``, and awswrangler's on ``lab.wr``; helpers in ``utils`` stay for what is not an
AWS call (tables, plots, scoring, data preparation). The list below names the helpers that did
wrap AWS calls (and some that could come back); the test reads every code cell with ``ast``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# module (as the notebooks import it from utils) -> helpers that wrap an AWS API
WRAPPERS: dict[str, set[str]] = {
    "bias": {"run_pre_training_bias", "run_clarify_job", "clarify_processor", "write_balanced",
             "write_analysis", "read_analysis"},
    "endpoints": {"describe_endpoint", "delete_endpoint", "list_endpoints", "wait_for_endpoint",
                  "deploy_model", "predictor", "sagemaker_client", "sagemaker_runtime",
                  "sagemaker_session", "latest_automl_job", "list_automl_jobs",
                  "predict_reviews"},
    "blazingtext": {"upload_channels", "execution_role", "image_uri", "training_metrics",
                    "list_training_jobs", "delete_training_job", "estimator_class"},
    "aml": {"automl_class"},
    "automl": {"automl_class"},
}  # fmt: skip
# attributes of the Lab that stood in for the SDK's classes or boto3's clients
LAB_STAND_INS = {"AutoML", "Estimator", "sagemaker_runtime"}


def _code_cells(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        # IPython magics and shell escapes are not Python
        source = re.sub(r"^\s*[%!].*$", "", source, flags=re.MULTILINE)
        cells.append((index, source))
    return cells


def _violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, name = node.value.id, node.attr
            if name in WRAPPERS.get(owner, set()):
                found.append(f"{owner}.{name}")
            if owner == "lab" and name in LAB_STAND_INS:
                found.append(f"lab.{name}")
        if isinstance(node, ast.Import | ast.ImportFrom):
            module = getattr(node, "module", None) or ""
            names = [a.name for a in node.names]
            if module.startswith("utils.local") or any(n.startswith("utils.local") for n in names):
                found.append(f"import of the local backend ({module or names})")
            if module == "boto3" or "boto3" in names:
                found.append("boto3 (use lab.client(...), which is boto3's client on aws)")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_call_the_course_api_not_project_wrappers(path):
    problems = []
    for index, source in _code_cells(path):
        for what in _violations(source):
            problems.append(f"cell {index}: {what}")
    assert not problems, f"{path.name} calls project stand-ins for AWS calls: {problems}"


def test_the_checker_finds_what_it_looks_for():
    source = (
        "from utils import bias\nimport boto3\n"
        "bias.run_pre_training_bias(lab, 'x', 'y')\nlab.AutoML(target_attribute_name='y')\n"
        "from utils.local.endpoint import LocalSageMaker\n"
    )
    assert sorted(_violations(source)) == sorted([
        "boto3 (use lab.client(...), which is boto3's client on aws)",
        "bias.run_pre_training_bias",
        "lab.AutoML",
        "import of the local backend (utils.local.endpoint)",
    ])  # fmt: skip
    assert _violations("sess.upload_data(path, bucket=bucket)\nbias.balance(df)") == []


def test_the_sagemaker_notebooks_use_the_session_and_clients():
    """04-07 build the SDK's classes on ``lab.session`` and call the clients' methods."""
    expected = {
        "04_detect_bias": ["clarify.SageMakerClarifyProcessor(", "sagemaker_session=sess",
                           "ProcessingJob.from_processing_name(", "sess.upload_data("],
        "05_autopilot": ["sagemaker.automl.automl.AutoML(", "sagemaker_session=sess",
                         "sess.upload_data(", ".list_candidates(", ".best_candidate("],
        "06_deploy_predict": ["AutoML.attach(", ".deploy(", "sm.describe_endpoint(",
                              "sm_runtime.invoke_endpoint(", "sm.list_endpoints("],
        "07_blazingtext": ["sagemaker.estimator.Estimator(", "sess.upload_data(",
                           "training_job_analytics.dataframe()", ".deploy("],
    }  # fmt: skip
    for stem, calls in expected.items():
        text = "\n".join(s for _, s in _code_cells(ROOT / "notebooks" / f"{stem}.ipynb"))
        missing = [c for c in calls if c not in text]
        assert not missing, f"{stem} does not show {missing}"
