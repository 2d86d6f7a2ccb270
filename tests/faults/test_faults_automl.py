"""AutoML jobs under faults (issue 14, items 7, 8 and 10): racing fits, bad job names, a worker
killed, budgets too small for one candidate, a step that overruns the job's limit.

Each test sets up the fault, asserts what a user of the sagemaker SDK's ``AutoML`` on
``lab.session`` sees (the ClientError, the FailureReason) and that the lake holds nothing it
should not. Jobs are tiny (synthetic reviews, one or two candidates, budgets of seconds); the
race runs a bounded number of processes and rounds.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError
from sagemaker.automl.automl import AutoML

from utils.local.automl.bounded import TEST_DELAY_VAR, TEST_STALL_VAR
from utils.local.automl.store import JobStore
from utils.local.automl.synthetic import make_reviews

RACERS = 4  # processes calling fit with one name at the same moment
ROUNDS = 3  # races, one job name each


def _automl(lab, **kwargs):
    return AutoML(role=lab.role, target_attribute_name="sentiment", sagemaker_session=lab.session,
                  **kwargs)  # fmt: skip


def _upload(lab, rows=300, key="faults/train.csv"):
    lab.ensure_bucket()
    uri = lab.s3_uri(key)
    lab.wr.s3.to_csv(make_reviews(rows, seed=3), uri, index=False)
    return uri


def _poll(automl, name, until, timeout=120):
    started = time.monotonic()
    while True:
        desc = automl.describe_auto_ml_job(name)
        if until(desc):
            return desc
        assert time.monotonic() - started < timeout, f"timed out: {desc['AutoMLJobStatus']}"
        time.sleep(0.1)


def _ended(desc):
    return desc["AutoMLJobStatus"] not in ("InProgress", "Stopping")


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def _took(desc) -> float:
    return (desc["EndTime"] - desc["CreationTime"]).total_seconds()


# -- item 7: one job per name, whatever races -------------------------------------------------------
RACER = r"""
import json, sys, time
import utils
from botocore.exceptions import ClientError
from sagemaker.automl.automl import AutoML

lab = utils.connect("local", home=sys.argv[1])
automl = AutoML(role=lab.role, target_attribute_name="sentiment", sagemaker_session=lab.session,
                max_candidates=1, mode="HYPERPARAMETER_TUNING")
print("READY", flush=True)
for line in sys.stdin:
    name, uri, at = line.split()
    time.sleep(max(0.0, float(at) - time.time() - 0.02))
    while time.time() < float(at):
        pass
    try:
        automl.fit(inputs=uri, job_name=name, wait=False, logs=False)
        print("RESULT", json.dumps("created"), flush=True)
    except ClientError as exc:
        print("RESULT", json.dumps([exc.response["Error"]["Code"],
                                    exc.response["Error"]["Message"]]), flush=True)
"""


def _read_line(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    """The next line of ``proc``'s stdout that starts with ``prefix``, within ``timeout``."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    until = time.monotonic() + timeout
    try:
        while time.monotonic() < until:
            if sel.select(max(0.0, until - time.monotonic())):
                line = proc.stdout.readline()
                if not line:
                    raise AssertionError(f"racer {proc.pid} exited: {proc.stderr.read()[-2000:]}")
                if line.startswith(prefix):
                    return line[len(prefix) :].strip()
        raise AssertionError(f"racer {proc.pid} gave no {prefix!r} line in {timeout} s")
    finally:
        sel.close()


def test_racing_fits_with_one_name_create_one_job_with_one_worker(local_lab):
    uri = _upload(local_lab, rows=60)
    home = str(local_lab.home)
    racers = [subprocess.Popen([sys.executable, "-c", RACER, home], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(RACERS)]  # fmt: skip
    store = JobStore(local_lab.home)
    try:
        for proc in racers:
            _read_line(proc, "READY", 180)
        for round_ in range(ROUNDS):
            name = f"race-{round_}"
            at = time.time() + 1.0
            for proc in racers:
                proc.stdin.write(f"{name} {uri} {at}\n")
                proc.stdin.flush()
            answers = [json.loads(_read_line(proc, "RESULT ", 120)) for proc in racers]
            assert answers.count("created") == 1, answers
            lost = [a for a in answers if a != "created"]
            assert [code for code, _ in lost] == ["ResourceInUse"] * (RACERS - 1)
            assert all("attach" in message for _, message in lost)  # how to follow it instead
            automl = _automl(local_lab)
            desc = _poll(automl, name, _ended)
            assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
            started = [e for e in store.events(name) if e["message"].startswith("worker started")]
            assert len(started) == 1, started  # one worker ran the job
            created = [e for e in store.events(name) if e["message"].startswith("CreateAutoMLJob")]
            assert len(created) == 1
            assert "not running AutoML job" not in store.log_path(name).read_text()
        assert store.names() == [f"race-{r}" for r in range(ROUNDS)]
        leftovers = [p.name for p in store.root.iterdir() if p.name.startswith(".new-")]
        assert leftovers == []  # the losers' staged records are gone
    finally:
        for proc in racers:
            proc.stdin.close()
        for proc in racers:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_threads_racing_in_one_process_create_one_job(local_lab):
    """The same race between threads of one kernel (two cells' jobs, a thread pool)."""
    from concurrent.futures import ThreadPoolExecutor

    uri = _upload(local_lab, rows=60)
    sm = local_lab.client("sagemaker")
    request = {
        "AutoMLJobName": "thread-race",
        "AutoMLJobInputDataConfig": [{"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": uri}}}],
        "OutputDataConfig": {"S3OutputPath": local_lab.s3_uri("out")},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {
            "TargetAttributeName": "sentiment", "Mode": "HYPERPARAMETER_TUNING",
            "CompletionCriteria": {"MaxCandidates": 1}}},
        "RoleArn": local_lab.role,
    }  # fmt: skip

    def create(_):
        try:
            sm.create_auto_ml_job_v2(**request)
            return "created"
        except ClientError as exc:
            return _code(exc)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(create, range(8)))
    assert sorted(answers) == ["ResourceInUse"] * 7 + ["created"]
    started = time.monotonic()
    while not _ended(desc := sm.describe_auto_ml_job_v2(AutoMLJobName="thread-race")):
        assert time.monotonic() - started < 120, "the job did not end"
        time.sleep(0.2)
    assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
    store = JobStore(local_lab.home)
    assert sum(e["message"].startswith("worker started") for e in store.events("thread-race")) == 1


BAD_NAMES = ["a/b", "..", "../../s3", "job/../../x", "x.y", "-lead", "trail-", "a" * 33, "ok\n"]


def test_bad_job_names_are_validation_exceptions_and_write_nothing(local_lab, lake_state):
    uri = _upload(local_lab, rows=60)
    sess, sm = local_lab.session, local_lab.client("sagemaker")
    home = local_lab.home
    before = lake_state(home)
    jobs_before = sorted(p.name for p in (home / "automl").iterdir()) if (
        home / "automl").is_dir() else []  # fmt: skip
    pattern = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"
    for name in BAD_NAMES:
        calls = {
            "AutoML.attach": lambda n=name: AutoML.attach(n, sagemaker_session=sess),
            "AutoML.describe_auto_ml_job": lambda n=name: _automl(local_lab).describe_auto_ml_job(n),
            "AutoML.fit": lambda n=name: _automl(local_lab, max_candidates=1).fit(
                inputs=uri, job_name=n, wait=False, logs=False),
            "describe_auto_ml_job_v2": lambda n=name: sm.describe_auto_ml_job_v2(AutoMLJobName=n),
            "list_candidates_for_auto_ml_job": lambda n=name: sm.list_candidates_for_auto_ml_job(
                AutoMLJobName=n),
            "stop_auto_ml_job": lambda n=name: sm.stop_auto_ml_job(AutoMLJobName=n),
        }  # fmt: skip
        for call, run in calls.items():
            with pytest.raises(ClientError) as err:
                run()
            assert _code(err.value) == "ValidationException", (call, name)
            message = err.value.response["Error"]["Message"]
            assert f"Value {name!r} at 'autoMLJobName'" in message and pattern in message
    # a well-formed name no job has: AWS's ResourceNotFound, through attach as well
    for run in (lambda: AutoML.attach("no-such-job", sagemaker_session=sess),
                lambda: sm.describe_auto_ml_job_v2(AutoMLJobName="no-such-job")):  # fmt: skip
        with pytest.raises(ClientError) as err:
            run()
        assert _code(err.value) == "ResourceNotFound"
    assert lake_state(home) == before
    jobs_after = sorted(p.name for p in (home / "automl").iterdir()) if (
        home / "automl").is_dir() else []  # fmt: skip
    assert [j for j in jobs_after if j != ".create.lock"] == [
        j for j in jobs_before if j != ".create.lock"]  # fmt: skip
    assert not (home / "s3" / "x").exists() and not (home.parent / "x").exists()


# -- item 8: what happened to a dead worker ----------------------------------------------------------
def _worker_pid(lab, name, timeout=60):
    store = JobStore(lab.home)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        pid = (store.read_raw(name).get("worker") or {}).get("pid")
        if pid:
            return pid
        time.sleep(0.1)
    raise AssertionError(f"{name}: no worker recorded")


def _kill_worker(lab, automl, name, sig):
    """Send ``sig`` to the job's worker process only (its training child dies with it, by
    PR_SET_PDEATHSIG); returns the worker's pid and the FailureReason of the job, Failed."""
    pid = _worker_pid(lab, name)
    os.kill(pid, sig)
    desc = _poll(automl, name, _ended, 30)
    assert desc["AutoMLJobStatus"] == "Failed"
    return pid, desc["FailureReason"]


def test_a_worker_killed_with_sigkill_names_the_signal(local_lab, lake_state, monkeypatch):
    """ENSEMBLING (AutoGluon, whose log lines used to be quoted as the reason): kill -9 of the
    worker while a candidate trains; the process that started it sees the signal."""
    monkeypatch.setenv(TEST_DELAY_VAR, "30")
    uri = _upload(local_lab)
    automl = _automl(local_lab, max_candidates=2, mode="ENSEMBLING")
    automl.fit(inputs=uri, job_name="kill-9", wait=False, logs=False)
    _poll(
        automl, "kill-9", lambda d: d["AutoMLJobSecondaryStatus"] == "TrainingModels" or _ended(d)
    )
    store = JobStore(local_lab.home)
    _poll(automl, "kill-9", lambda d: any(c["CandidateStatus"] == "InProgress"
                                          for c in store.candidates("kill-9")) or _ended(d))  # fmt: skip
    pid, reason = _kill_worker(local_lab, automl, "kill-9", signal.SIGKILL)
    before = lake_state(local_lab.home)
    assert reason.startswith(f"The job's worker process (pid {pid}) was killed by SIGKILL "
                             "(signal 9: kill -9, or the kernel's out-of-memory killer), during "
                             "TrainingModels, before the job finished.")  # fmt: skip
    assert "torch" not in reason and "Warning" not in reason
    assert "Detail, the last lines of its log" in reason or "nothing but the warnings" in reason
    cands = automl.list_candidates("kill-9")
    assert {c["CandidateStatus"] for c in cands} <= {"Failed", "Completed"}
    assert any(c.get("FailureReason") == "the job's worker was killed by SIGKILL" for c in cands)
    events = [e["message"] for e in store.events("kill-9")]
    assert sum(m.startswith("job Failed: The job's worker") for m in events) == 1
    time.sleep(0.5)
    assert automl.describe_auto_ml_job("kill-9")["FailureReason"] == reason  # stays as it is
    assert lake_state(local_lab.home) == before  # a dead job writes nothing more


SPAWN_AND_LEAVE = r"""
import sys
import utils
from sagemaker.automl.automl import AutoML

lab = utils.connect("local", home=sys.argv[1])
for name in sys.argv[3:]:
    AutoML(role=lab.role, target_attribute_name="sentiment", sagemaker_session=lab.session,
           max_candidates=2, mode="HYPERPARAMETER_TUNING").fit(
        inputs=sys.argv[2], job_name=name, wait=False, logs=False)
"""


def test_a_dead_worker_whose_starter_has_exited(local_lab, lake_state, monkeypatch):
    """A kernel started the jobs and was restarted: a SIGKILL leaves no exit record anywhere
    (said so, honestly), a SIGHUP is recorded by the worker itself before it dies."""
    monkeypatch.setenv(TEST_DELAY_VAR, "30")
    uri = _upload(local_lab)
    out = subprocess.run([sys.executable, "-c", SPAWN_AND_LEAVE, str(local_lab.home), uri,
                          "orphan-kill", "orphan-hup"], capture_output=True, text=True,
                         timeout=180)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    automl = _automl(local_lab)
    store = JobStore(local_lab.home)
    for name in ("orphan-kill", "orphan-hup"):
        _poll(automl, name, lambda d: d["AutoMLJobSecondaryStatus"] == "ModelTuning" or _ended(d))
    spawner = store.read_raw("orphan-kill")["spawner"]["pid"]
    kill_pid, reason = _kill_worker(local_lab, automl, "orphan-kill", signal.SIGKILL)
    hup_pid, hup_reason = _kill_worker(local_lab, automl, "orphan-hup", signal.SIGHUP)
    before = lake_state(local_lab.home)
    assert reason.startswith(f"The job's worker process (pid {kill_pid}) is gone without an exit "
                             "record")  # fmt: skip
    assert "killed by SIGKILL" in reason and f"started it (pid {spawner})" in reason
    assert "during ModelTuning" in reason
    assert hup_reason.startswith(
        f"The job's worker process (pid {hup_pid}) was killed by SIGHUP (signal 1), during "
        "ModelTuning")  # fmt: skip
    assert lake_state(local_lab.home) == before


# -- item 8: a per-candidate budget below what one candidate needs ------------------------------------
@pytest.mark.parametrize("mode", ["HYPERPARAMETER_TUNING", "ENSEMBLING"])
def test_a_per_candidate_limit_below_one_candidates_need_says_the_minimum(local_lab, mode,
                                                                          monkeypatch):  # fmt: skip
    """Every candidate needs more than 1 s (each sleeps 3 s first): the reason says the limit is
    below what one candidate needs, with the time a quick pipeline took without a limit."""
    monkeypatch.setenv(TEST_DELAY_VAR, "3")
    uri = _upload(local_lab)
    automl = _automl(local_lab, max_candidates=2, mode=mode,
                     max_runtime_per_training_job_in_seconds=1)  # fmt: skip
    automl.fit(inputs=uri, job_name="per-1", wait=False, logs=False)
    desc = _poll(automl, "per-1", _ended, 180)
    reason = desc["FailureReason"]
    assert desc["AutoMLJobStatus"] == "Failed"
    assert reason.startswith("MaxRuntimePerTrainingJobInSeconds (1 s) is below what one "
                             "candidate needs here"), reason  # fmt: skip
    took = float(re.search(r"took ([\d.]+) s with no limit", reason).group(1))
    least = int(re.search(r"raise max_runtime_per_training_job_in_seconds to at least (\d+) s",
                          reason).group(1))  # fmt: skip
    assert took >= 3 and least > took  # the measured need, and a limit that covers it
    assert "No models were trained" not in reason
    if mode == "ENSEMBLING":
        assert "(AutoGluon linear, bagged)" in reason
    cands = automl.list_candidates("per-1")
    assert len(cands) == 2 and {c["CandidateStatus"] for c in cands} == {"Failed"}
    assert all(c["FailureReason"].startswith("MaxRuntimePerTrainingJobInSeconds (1 s) was reached")
               for c in cands)  # fmt: skip
    prefix = local_lab.s3_uri("")
    models = [u for u in local_lab.wr.s3.list_objects(prefix) if u.endswith("model.tar.gz")
              and "/tuning/" in u]  # fmt: skip
    assert models == []  # no candidate model, and the measurement wrote none into the lake


# -- item 10: the job ends within MaxAutoMLJobRuntimeInSeconds -----------------------------------------
BUDGET = 20


def test_a_step_overrunning_the_limit_still_ends_the_job_within_it(local_lab, monkeypatch):
    """The worker hangs in the explainability step: at the limit the job ends anyway, Completed
    with the best finished candidate, the unwritten report named in PartialFailureReasons."""
    monkeypatch.setenv(TEST_STALL_VAR, "GeneratingExplainabilityReport:120")
    uri = _upload(local_lab)
    automl = _automl(local_lab, max_candidates=3, mode="HYPERPARAMETER_TUNING",
                     total_job_runtime_in_seconds=BUDGET)  # fmt: skip
    automl.fit(inputs=uri, job_name="overrun", wait=False, logs=False)
    desc = _poll(automl, "overrun", _ended, BUDGET + 60)
    assert _took(desc) <= BUDGET, f"ended {_took(desc):.1f} s after creation"
    assert (desc["AutoMLJobStatus"], desc["AutoMLJobSecondaryStatus"]) == (
        "Completed", "MaxAutoMLJobRuntimeReached")  # fmt: skip
    done = automl.list_candidates("overrun", status_equals="Completed")
    assert desc["BestCandidate"]["CandidateName"] in {c["CandidateName"] for c in done}
    messages = [p["PartialFailureMessage"] for p in desc["PartialFailureReasons"]]
    assert any("during GeneratingExplainabilityReport: the explainability report was not "
               "written" in m for m in messages)  # fmt: skip
    assert "Explainability" not in (desc["BestCandidate"].get("CandidateProperties") or {}).get(
        "CandidateArtifactLocations", {})  # fmt: skip


def test_a_limit_reached_before_any_candidate_fails_within_it(local_lab, monkeypatch):
    monkeypatch.setenv(TEST_STALL_VAR, "AnalyzingData:120")
    uri = _upload(local_lab)
    automl = _automl(local_lab, max_candidates=3, mode="HYPERPARAMETER_TUNING",
                     total_job_runtime_in_seconds=10)  # fmt: skip
    automl.fit(inputs=uri, job_name="overrun-early", wait=False, logs=False)
    desc = _poll(automl, "overrun-early", _ended, 70)
    assert _took(desc) <= 10
    assert desc["AutoMLJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("MaxAutoMLJobRuntimeInSeconds (10 s) was reached "
                                            "during AnalyzingData, before any candidate")  # fmt: skip
    assert automl.list_candidates("overrun-early") == []


def test_an_ensembling_job_ends_within_its_limit(local_lab):
    """AutoGluon's path: the text models, the bagged models, the ensemble and the reports all
    within the limit; the best finished candidate is kept."""
    uri = _upload(local_lab)
    automl = _automl(local_lab, mode="ENSEMBLING", total_job_runtime_in_seconds=BUDGET)
    automl.fit(inputs=uri, job_name="ens-limit", wait=False, logs=False)
    desc = _poll(automl, "ens-limit", _ended, BUDGET + 60)
    assert _took(desc) <= BUDGET, f"ended {_took(desc):.1f} s after creation"
    assert desc["AutoMLJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["BestCandidate"]["CandidateStatus"] == "Completed"
