"""06_deploy_predict, executed headless with papermill after 01, 04 and 05 on synthetic data.

06 deploys the best candidate of the AutoML job that 05_autopilot ran, so it can only run once
05 exists; until then this test skips and says why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import utils
from utils import endpoints

ROOT = Path(__file__).resolve().parents[1]
ROWS = 3000

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ROOT / "notebooks" / "05_autopilot.ipynb").exists(),
        reason="06_deploy_predict deploys the job of notebooks/05_autopilot.ipynb, which does "
        "not exist yet",
    ),
]


def test_06_deploy_predict_local(run_notebook, tmp_path):
    home = str(tmp_path / "lake")
    run_notebook("01_ingest", LAB_HOME=home, RAW_DATA="synthetic", SYNTHETIC_ROWS=ROWS)
    run_notebook("04_detect_bias", LAB_HOME=home, DPI=40)
    run_notebook("05_autopilot", LAB_HOME=home)
    lab = utils.connect("local", home=home)
    try:
        rec = run_notebook("06_deploy_predict", LAB_HOME=home, DPI=40)
    finally:  # a failed run must not leave a server behind
        sm = lab.client("sagemaker")
        for e in sm.list_endpoints()["Endpoints"]:
            sm.delete_endpoint(EndpointName=e["EndpointName"])

    assert rec["endpoint_status"] == "InService"
    assert rec["endpoint_name"] == f"{rec['job_name']}-ep"
    samples = rec["sample_predictions"]
    assert [s["review"] for s in samples] == [endpoints.strip_commas(r)
                                              for r in endpoints.SAMPLE_REVIEWS]  # fmt: skip
    assert all(s["predicted_label"] in ("-1", "0", "1") for s in samples)
    assert all(0.0 < s["probability"] <= 1.0 for s in samples)

    rows = rec["holdout_rows"]
    assert rows > 0
    out = lab.local_path(rec["batch_output_uri"]).read_text().splitlines()
    assert len(out) == rows  # one answer line per held-out review, as a transform job writes
    assert 1 / 3 < rec["holdout_accuracy"] <= 1.0  # better than chance on three balanced classes
    per_class = rec["holdout_per_class"]
    assert per_class["label"].tolist() == ["-1", "0", "1"]
    assert int(per_class["support"].sum()) == rows
    confusion = rec["confusion_matrix"].set_index("actual")
    assert int(confusion.to_numpy().sum()) == rows
    wrong = rec["misclassified"]
    assert (wrong["sentiment"].astype(str) != wrong["predicted_label"]).all()

    assert rec["endpoint_deleted"] is True
    sm = lab.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_models()["Models"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []
