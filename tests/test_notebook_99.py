"""99_cleanup, executed headless with papermill: a dry run first, then for real, then again.

The lab home (local) or the moto server (aws) holds what the notebooks make, made through the SDK
on ``lab.session`` (tests/test_cleanup.py's ``build``), next to resources that are not the lab's.
The dry run changes nothing; the real run deletes every lab resource (AutoML jobs: stopped, their
records kept) and nothing else; a third run finds nothing to do and succeeds.

The calls moto lacks get the stand-ins of tests/test_cleanup.py, in the moto server (this
process).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cleanup import (
    AWS_ROLE,
    Hold,
    World,
    _setter,
    build,
    check_cleaned,
    give_moto_missing_calls,
    snapshot,
    wait_until_stopped,
)

import utils
from utils import cleanup

pytestmark = pytest.mark.notebook

TESTS = Path(__file__).resolve().parent
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


def _check_dry_run(rec: dict, lab, world: World, before: dict) -> None:
    assert rec["dry_run"] is True
    found = rec["found"]
    for kind in ("endpoint", "endpoint-config", "model", "training-job", "processing-job"):
        assert found[kind] == len(world.mine[kind]), kind
    assert found["automl-job"] == 1  # the running one, to stop; a finished one is kept
    assert found["glue-table"] == 1 and found["glue-database"] == 1
    inventory = rec["inventory"]
    assert set(inventory[inventory["kind"] == "automl-job"]["name"]) == world.mine["automl-job"]
    assert rec["hosting"] == {k: sorted(world.mine[k]) for k in cleanup.HOSTING}
    assert set(rec["results"]["result"]) <= {"would delete", "would stop"} | {
        a.replace("keep:", "kept:") for a in inventory["action"]}  # fmt: skip
    assert rec["remaining"] == found  # nothing was deleted
    assert snapshot(lab) == before


def _check_rerun(rec: dict) -> None:
    assert rec["dry_run"] is False and rec["remaining"] == {}
    assert rec["hosting"] == {k: [] for k in cleanup.HOSTING}
    assert rec["results"]["result"].str.startswith("kept:").all()


def test_99_cleanup_local_dry_run_then_delete_then_again(run_notebook, tmp_path, monkeypatch):
    home = tmp_path / "lake"
    lab = utils.connect("local", home=home)
    hold = Hold(monkeypatch)
    try:
        world = build(lab, hold)
        before = snapshot(lab)
        rec = run_notebook("99_cleanup", LAB_HOME=str(home))  # DRY_RUN = True
        _check_dry_run(rec, lab, world, before)

        rec = run_notebook("99_cleanup", LAB_HOME=str(home), DRY_RUN=False)
        results = rec["results"].set_index("name")["result"]
        assert not results.str.startswith("failed").any(), results.to_dict()
        assert results[world.running_automl] == "stopped"
        assert results[world.finished_automl].startswith("kept: there is no call")
        assert rec["remaining"] == {}
        hold.release()
        check_cleaned(lab, world, before)
        assert wait_until_stopped(lab, world.running_automl) == "Stopped"

        _check_rerun(run_notebook("99_cleanup", LAB_HOME=str(home), DRY_RUN=False))
    finally:
        hold.release()
        sm = lab.client("sagemaker")
        for e in sm.list_endpoints()["Endpoints"]:
            with cleanup.unless_gone():
                sm.delete_endpoint(EndpointName=e["EndpointName"])


def test_99_cleanup_on_aws_against_moto(run_notebook, moto_server, monkeypatch):
    give_moto_missing_calls(_setter(monkeypatch))  # the server runs in this process
    env = {**MOTO_ENV, "AWS_ENDPOINT_URL": moto_server}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    bucket, database = "lab-cleanup-nb-bucket", "cleanup_nb_db"
    lab = utils.connect("aws", bucket=bucket, region="us-east-1", role=AWS_ROLE, database=database)
    lab.client("s3").create_bucket(Bucket=bucket)
    world = build(lab)
    before = snapshot(lab)
    params = {"BACKEND": "aws", "BUCKET": bucket, "DATABASE": database}
    _check_dry_run(run_notebook("99_cleanup", **params), lab, world, before)

    rec = run_notebook("99_cleanup", DRY_RUN=False, **params)
    results = rec["results"].set_index("name")["result"]
    assert not results.str.startswith("failed").any(), results.to_dict()
    assert results[world.running_automl] == "stopped"
    assert rec["remaining"] == {}
    check_cleaned(lab, world, before)

    _check_rerun(run_notebook("99_cleanup", DRY_RUN=False, **params))
