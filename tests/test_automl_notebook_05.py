"""05_autopilot, executed headless with papermill after 01 and 04 on synthetic data."""

from __future__ import annotations

import pytest

import utils

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

ROWS = 3000


@pytest.mark.parametrize("mode", [None, "HYPERPARAMETER_TUNING"])
def test_05_autopilot_local(run_notebook, tmp_path, mode):
    home = str(tmp_path / "lake")
    run_notebook("01_ingest", LAB_HOME=home, RAW_DATA="synthetic", SYNTHETIC_ROWS=ROWS)
    run_notebook("04_detect_bias", LAB_HOME=home, DPI=40)
    rec = run_notebook("05_autopilot", LAB_HOME=home, DPI=40, MODE=mode,
                       MAX_RUNTIME_SECONDS=600)  # fmt: skip

    assert rec["train_rows"] + rec["holdout_rows"] == rec["balanced_rows"]
    assert rec["job_status"] == "Completed"
    assert rec["job_secondary_status"] in ("MaxCandidatesReached", "Completed")
    stages = [s.split("/")[1] for s in rec["statuses"]]
    assert stages[0] in ("Starting", "AnalyzingData")
    assert ("TrainingModels" if mode is None else "ModelTuning") in stages or len(stages) >= 3
    table = rec["candidates"]
    assert len(table) == 3 and set(table["status"]) == {"Completed"}
    assert list(table["value"]) == sorted(table["value"], reverse=True)
    assert table["candidate"].iloc[0] == rec["best_candidate"]
    assert 1 / 3 < rec["best_value"] <= 1.0
    assert set(rec["artifacts"]) == {"CandidateDefinitionNotebookLocation",
                                     "DataExplorationNotebookLocation"}  # fmt: skip
    assert "Explainability" in rec["best_artifact_locations"]
    assert rec["output_objects"] > 5

    lab = utils.connect("local", home=home)
    lab.require("05_autopilot")  # what 06_deploy_predict checks
    assert lab.wr.s3.does_object_exist(lab.s3_uri("data/balanced/holdout.csv"))
