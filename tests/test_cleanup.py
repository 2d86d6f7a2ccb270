"""utils.cleanup: it finds what the labs created, deletes it on request, and nothing else.

One test body on two backends: the local one, where the jobs really run, and moto (AWS's S3,
Glue, Athena and the SageMaker calls moto implements). The resources are made as the notebooks
make them, through the SDK on ``lab.session`` (a Clarify processing job, a BlazingText training
job on a few lines, small AutoML jobs, a deployed model), next to resources that are NOT the
lab's (another bucket, another prefix, another Glue database and its Athena queries, an
endpoint, a training job, a processing job and an AutoML job writing elsewhere), which must
survive. DRY_RUN changes nothing; a second run finds nothing to do.

Calls moto lacks get a stand-in here, for these tests only (see the helper below): moto has no
StopTrainingJob, DeleteTrainingJob or DeleteProcessingJob. botocore's Stubber checks the exact
requests cleanup sends for those calls.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

from utils import cleanup

BUCKET = "lab-cleanup-bucket"
OTHER_BUCKET = "someone-elses-bucket"
OTHER_DB = "other_db"
AWS_ROLE = "arn:aws:iam::123456789012:role/service-role/lab"
COLUMNS = {"sentiment": "int", "review_body": "string", "product_category": "string"}


# -- stand-ins for the calls a backend lacks (for these tests only) --------------------------------
def give_moto_missing_calls(set_attr=setattr) -> None:
    """StopTrainingJob, DeleteTrainingJob and DeleteProcessingJob on moto, as AWS documents
    them: unknown names are ValidationException "Could not find ..."; only a finished job can
    be deleted; a stopped job reads Stopped."""
    from moto.core.responses import EmptyResult
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    def jobs(response, kind):
        return getattr(response.sagemaker_backend, f"{kind}_jobs")

    def find(response, kind):
        name = response._get_param("TrainingJobName" if kind == "training" else "ProcessingJobName")
        job = jobs(response, kind).get(name)
        if job is None:
            raise ValidationError(message=f"Could not find {kind} job '{name}'.")
        return name, job

    def status(job, kind, value=None):
        if value is not None:
            setattr(job, f"{kind}_job_status", value)
        return getattr(job, f"{kind}_job_status")

    def delete(kind):
        def call(self):
            name, job = find(self, kind)
            if status(job, kind) in ("InProgress", "Stopping"):
                raise ValidationError(message=f"The {kind} job {name} is still running.")
            del jobs(self, kind)[name]
            return EmptyResult()

        return call

    def stop_training_job(self):
        name, job = find(self, "training")
        if status(job, "training") != "InProgress":
            raise ValidationError(message=f"The training job {name} is not in progress.")
        status(job, "training", "Stopped")
        return EmptyResult()

    set_attr(SageMakerResponse, "delete_training_job", delete("training"))
    set_attr(SageMakerResponse, "delete_processing_job", delete("processing"))
    set_attr(SageMakerResponse, "stop_training_job", stop_training_job)


def _setter(monkeypatch):
    return lambda owner, name, value: monkeypatch.setattr(owner, name, value, raising=False)


# -- a lab on each backend --------------------------------------------------------------------------
@pytest.fixture(params=["local", "moto"])
def lab(request, tmp_path, monkeypatch):
    import utils

    if request.param == "local":
        lab = utils.connect("local", home=tmp_path / "lake")
        yield lab
        _delete_endpoints(lab)
        return
    import boto3
    from moto import mock_aws

    give_moto_missing_calls(_setter(monkeypatch))
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield utils.connect("aws", bucket=BUCKET, region="us-east-1", role=AWS_ROLE)


def _delete_endpoints(lab) -> None:
    """Stop what a failed test left serving (local endpoint servers are processes)."""
    sm = lab.client("sagemaker")
    for e in sm.list_endpoints()["Endpoints"]:
        with cleanup.unless_gone():
            sm.delete_endpoint(EndpointName=e["EndpointName"])


class Hold:
    """Local AutoML jobs created between ``start()`` and ``stop_holding()`` stay InProgress: their
    worker is paused (SIGSTOP) until ``release()``, so a running job is there to stop."""

    def __init__(self, monkeypatch) -> None:
        from utils.local.sagemaker import automl

        self.monkeypatch, self.module = monkeypatch, automl
        self.spawn, self.paused = automl._spawn_worker, []

    def start(self) -> None:
        from utils.local.automl.store import JobStore

        def held(store, home, name):
            self.spawn(store, home, name)
            pid = JobStore(home).read_raw(name)["worker"]["pid"]
            os.kill(pid, signal.SIGSTOP)
            self.paused.append(pid)

        self.monkeypatch.setattr(self.module, "_spawn_worker", held)

    def stop_holding(self) -> None:
        self.monkeypatch.setattr(self.module, "_spawn_worker", self.spawn)

    def release(self) -> None:
        self.stop_holding()
        while self.paused:
            try:
                os.kill(self.paused.pop(), signal.SIGCONT)
            except ProcessLookupError:
                pass


@pytest.fixture
def hold(monkeypatch):
    held = Hold(monkeypatch)
    yield held
    held.release()


# -- what the notebooks make, and what is not theirs ------------------------------------------------
@dataclass
class World:
    """The names of what the labs made (``mine``) and of what they did not (``others``)."""

    mine: dict[str, set[str]] = field(default_factory=dict)
    others: dict[str, set[str]] = field(default_factory=dict)
    lab_queries: set[str] = field(default_factory=set)
    other_queries: set[str] = field(default_factory=set)
    running_automl: str = ""
    finished_automl: str = ""

    def add(self, kind: str, name: str, mine: bool = True) -> str:
        (self.mine if mine else self.others).setdefault(kind, set()).add(name)
        return name


def _reviews(n: int = 300) -> pd.DataFrame:
    from utils import datasets

    return datasets.transform(datasets.generate_synthetic(n, seed=3)).df


def _upload(lab, frame: pd.DataFrame, name: str, key_prefix: str, bucket: str | None = None,
            text: str | None = None) -> str:  # fmt: skip
    """``sess.upload_data`` of a CSV (or text) file, as the notebooks upload their data."""
    lab.session.default_bucket()  # created on first use, as in the notebooks' first cell
    path = lab.workdir / name
    if text is None:
        frame.to_csv(path, index=False)
    else:
        path.write_text(text, encoding="utf-8")
    return lab.session.upload_data(str(path), bucket=bucket or lab.bucket, key_prefix=key_prefix)


def _clarify(lab, data_uri: str, output: str, headers: list[str]) -> str:
    """04_detect_bias's Clarify job (the SDK's processor), waited for; returns its name."""
    from sagemaker import clarify

    processor = clarify.SageMakerClarifyProcessor(role=lab.role, instance_count=1,
                                                  instance_type="ml.m5.large",
                                                  sagemaker_session=lab.session)  # fmt: skip
    processor.run_pre_training_bias(
        data_config=clarify.DataConfig(s3_data_input_path=data_uri, s3_output_path=output,
                                       label="sentiment", headers=headers,
                                       dataset_type="text/csv"),
        data_bias_config=clarify.BiasConfig(label_values_or_threshold=[1],
                                            facet_name="product_category"),
        methods=["CI", "DPL"], wait=False, logs=False,
    )  # fmt: skip
    if lab.is_local:  # moto's jobs are born Completed (the SDK's wait would sleep first)
        processor.latest_job.wait(logs=False)
    return processor.latest_job.job_name


def _blazingtext(lab, train_uri: str, output: str):
    """07_blazingtext's Estimator on a few lines, waited for."""
    import sagemaker
    from sagemaker.inputs import TrainingInput

    image = sagemaker.image_uris.retrieve(framework="blazingtext", region=lab.region)
    estimator = sagemaker.estimator.Estimator(image, role=lab.role, instance_count=1,
                                              instance_type="ml.m5.large", output_path=output,
                                              sagemaker_session=lab.session)  # fmt: skip
    estimator.set_hyperparameters(mode="supervised", epochs=1, vector_dim=4, buckets=500,
                                  min_count=1)  # fmt: skip
    estimator.fit({"train": TrainingInput(train_uri, content_type="text/plain")}, wait=False)
    if lab.is_local:
        estimator.latest_training_job.wait(logs=False)
    return estimator


def _automl_v2(lab, train_uri: str, output: str) -> str:
    """An AutoMLV2 job that only generates candidate definitions (not waited for)."""
    from sagemaker.automl.automlv2 import AutoMLDataChannel, AutoMLTabularConfig, AutoMLV2

    config = AutoMLTabularConfig(target_attribute_name="sentiment", max_candidates=1,
                                 generate_candidate_definitions_only=True,
                                 problem_type="MulticlassClassification")  # fmt: skip
    automl = AutoMLV2(problem_config=config, role=lab.role, output_path=output,
                      base_job_name="automl-dm", job_objective={"MetricName": "Accuracy"},
                      sagemaker_session=lab.session)  # fmt: skip
    channel = AutoMLDataChannel(s3_data_type="S3Prefix", s3_uri=train_uri, channel_type="training")
    automl.fit(inputs=[channel], wait=False, logs=False)
    return automl.current_job_name


def _automl_v1(lab, train_uri: str, output: str, job_name: str) -> str:
    """05_autopilot's AutoML (the V1 API), candidate definitions only, waited for."""
    from sagemaker.automl.automl import AutoML

    automl = AutoML(role=lab.role, target_attribute_name="sentiment", output_path=output,
                    max_candidates=1, generate_candidate_definitions_only=True,
                    sagemaker_session=lab.session)  # fmt: skip
    automl.fit(inputs=train_uri, job_name=job_name, wait=False, logs=False)
    lab.session.wait_for_auto_ml_job(job_name, poll=1)
    return job_name


def _wait_automl(lab, job: str) -> str:
    """A V2 job's status once it has ended (bounded; the SDK's wait reads the V1 describe)."""
    sm = lab.client("sagemaker")
    for _ in range(300):
        status = sm.describe_auto_ml_job_v2(AutoMLJobName=job)["AutoMLJobStatus"]
        if status not in ("InProgress", "Stopping"):
            break
        time.sleep(0.2)
    return status


def build(lab, hold: Hold | None = None) -> World:
    """What 01-07 leave (small), and resources of someone else next to them."""
    import sagemaker
    from sagemaker.model import Model

    world = World()
    wr, s3, sm = lab.wr, lab.client("s3"), lab.client("sagemaker")
    bucket = lab.session.default_bucket()
    s3.create_bucket(Bucket=OTHER_BUCKET)
    df = _reviews()
    for key in ("mystuff/keep.csv", "bias-notes/keep.csv"):  # not under a lab prefix
        s3.put_object(Bucket=bucket, Key=key, Body=b"x\n")
    s3.put_object(Bucket=OTHER_BUCKET, Key="data/transformed/theirs.csv", Body=b"x\n")

    # 01-03: the transformed reviews, the Glue table, Athena queries (and another database's)
    wr.s3.to_csv(df, lab.s3_uri("data/transformed/reviews.csv"), index=False)
    wr.s3.to_csv(df, f"s3://{OTHER_BUCKET}/tables/theirs/theirs.csv", index=False)
    for database, table, path in ((lab.database, "reviews", lab.s3_uri("data/transformed/")),
                                  (OTHER_DB, "theirs", f"s3://{OTHER_BUCKET}/tables/theirs/")):  # fmt: skip
        wr.catalog.create_database(name=database, exist_ok=True)
        wr.catalog.create_csv_table(database=database, table=table, path=path,
                                    columns_types=COLUMNS, mode="overwrite",
                                    skip_header_line_count=1, sep=",")  # fmt: skip
        world.add("glue-table", f"{database}.{table}", mine=database == lab.database)
    world.add("glue-database", lab.database)
    for database, ids in ((lab.database, world.lab_queries), (OTHER_DB, world.other_queries)):
        for sql in ("SELECT COUNT(*) AS n FROM reviews", "SELECT sentiment FROM reviews LIMIT 3"):
            sql = sql if database == lab.database else sql.replace("reviews", "theirs")
            ids.add(wr.athena.start_query_execution(sql, database=database, wait=True)[
                "QueryExecutionId"])  # fmt: skip
        if lab.is_local:  # awswrangler's CTAS approach (moto runs no query)
            frame = wr.athena.read_sql_query(sql, database=database)
            ids.add(frame.query_metadata["QueryExecutionId"])
    if not lab.is_local:  # moto writes no result files: put them where Athena writes them
        for qid in world.lab_queries | world.other_queries:
            location = wr.athena.get_query_execution(qid)["ResultConfiguration"]["OutputLocation"]
            result_bucket, _, key = location[len("s3://") :].partition("/")
            for suffix in ("", ".metadata"):
                s3.put_object(Bucket=result_bucket, Key=key + suffix, Body=b'"n"\n"1"\n')

    # 04: a Clarify job on the lab's data; someone else's writes to their bucket
    headers = df.columns.to_list()
    bias_uri = _upload(lab, df, "bias.csv", "bias/unbalanced")
    world.add("processing-job", _clarify(lab, bias_uri, lab.s3_uri("bias/report"), headers))
    world.add("processing-job", _clarify(lab, bias_uri, f"s3://{OTHER_BUCKET}/report", headers),
              mine=False)  # fmt: skip

    # 05: AutoML jobs: one finished (local: the course's V1 API), one running, one of someone else
    train_uri = _upload(lab, df[["sentiment", "review_body"]].head(100), "train.csv",
                        "autopilot/data")  # fmt: skip
    theirs = world.add("automl-job", _automl_v2(lab, train_uri, f"s3://{OTHER_BUCKET}/autopilot"),
                       mine=False)  # fmt: skip
    if lab.is_local:
        assert _wait_automl(lab, theirs) == "Completed"  # moto's stays InProgress
        world.finished_automl = world.add(
            "automl-job", _automl_v1(lab, train_uri, lab.s3_uri("autopilot"), "automl-dm-done")
        )
    if hold is not None:
        hold.start()
    world.running_automl = world.add("automl-job",
                                     _automl_v2(lab, train_uri, lab.s3_uri("autopilot")))  # fmt: skip
    if hold is not None:
        hold.stop_holding()  # the later jobs run as usual
    assert sm.describe_auto_ml_job_v2(AutoMLJobName=world.running_automl)[
        "AutoMLJobStatus"] == "InProgress"  # fmt: skip

    # 07: BlazingText on a few lines, deployed; someone else's job and endpoint
    lines = "".join(f"__label__{s} {w} review {i}\n" for i in range(15)
                    for s, w in ((1, "lovely"), (0, "fine"), (-1, "awful")))  # fmt: skip
    channel = _upload(lab, None, "train.txt", "blazingtext/data/train", text=lines)
    estimator = _blazingtext(lab, channel, lab.s3_uri("blazingtext/output"))
    world.add("training-job", estimator.latest_training_job.name)
    theirs = _blazingtext(lab, channel, f"s3://{OTHER_BUCKET}/bt-output")
    world.add("training-job", theirs.latest_training_job.name, mine=False)
    model_data = estimator.model_data
    if not lab.is_local:  # moto trains nothing: the artifact the job would have written
        s3.put_object(Bucket=bucket, Key=model_data.split("/", 3)[3], Body=b"model")
    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                                 wait=lab.is_local)  # fmt: skip
    for kind in ("endpoint", "endpoint-config", "model"):
        world.add(kind, predictor.endpoint_name)
    s3.copy_object(Bucket=OTHER_BUCKET, Key="models/model.tar.gz",
                   CopySource={"Bucket": bucket, "Key": model_data.split("/", 3)[3]})  # fmt: skip
    Model(image_uri=sagemaker.image_uris.retrieve("blazingtext", lab.region),
          model_data=f"s3://{OTHER_BUCKET}/models/model.tar.gz", role=lab.role,
          sagemaker_session=lab.session, name="their-model").deploy(
        initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="their-ep",
        wait=lab.is_local)  # fmt: skip
    for kind in ("endpoint", "endpoint-config", "model"):
        world.add(kind, "their-model" if kind == "model" else "their-ep", mine=False)
    return world


# -- reading the state back, through the same clients -----------------------------------------------
def snapshot(lab) -> dict[str, dict[str, Any]]:
    """Everything in the account (or lab home): objects with their ETags, jobs with their
    statuses, hosting resources, Glue databases and tables, the Athena history."""
    s3, sm, wr = lab.client("s3"), lab.client("sagemaker"), lab.wr

    def listed(operation, key, name, status=None):
        items = cleanup._all(sm, operation, key)
        return {i[name]: i.get(status) if status else None for i in items}

    objects = {}
    for b in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
            objects.update({f"s3://{b['Name']}/{o['Key']}": o["ETag"]
                            for o in page.get("Contents", [])})  # fmt: skip
    glue = {}
    for database in wr.catalog.databases(limit=1000)["Database"]:
        glue[database] = None
        tables = wr.catalog.tables(database=database, limit=1000)
        glue.update(
            {f"{database}.{t}": None for t in (tables["Table"] if not tables.empty else [])}
        )
    return {
        "s3": objects,
        "automl-job": listed("list_auto_ml_jobs", "AutoMLJobSummaries", "AutoMLJobName",
                             "AutoMLJobStatus"),
        "training-job": listed("list_training_jobs", "TrainingJobSummaries", "TrainingJobName",
                               "TrainingJobStatus"),
        "processing-job": listed("list_processing_jobs", "ProcessingJobSummaries",
                                 "ProcessingJobName", "ProcessingJobStatus"),
        "endpoint": listed("list_endpoints", "Endpoints", "EndpointName", "EndpointStatus"),
        "endpoint-config": listed("list_endpoint_configs", "EndpointConfigs",
                                  "EndpointConfigName"),
        "model": listed("list_models", "Models", "ModelName"),
        "glue": glue,
        "athena": {qid: None for qid in wr.athena.list_query_executions()},
    }  # fmt: skip


def _is_lab_object(lab, uri: str, world: World) -> bool:
    from utils.keys import LAB_PREFIXES

    bucket, _, key = uri[len("s3://") :].partition("/")
    if bucket == lab.bucket:
        return key.startswith(LAB_PREFIXES)
    return any(qid in key for qid in world.lab_queries)


def wait_until_stopped(lab, job: str) -> str:
    """The AutoML job's status once it has left Stopping (bounded)."""
    sm = lab.client("sagemaker")
    for _ in range(150):
        status = sm.describe_auto_ml_job_v2(AutoMLJobName=job)["AutoMLJobStatus"]
        if status != "Stopping":
            return status
        time.sleep(0.2)
    return status


def check_cleaned(lab, world: World, before: dict[str, dict[str, Any]]) -> None:
    """After a real run: every lab resource gone (AutoML jobs stopped or kept), the rest as
    it was."""
    after = snapshot(lab)
    for kind in ("training-job", "processing-job", "endpoint", "endpoint-config", "model"):
        assert not world.mine[kind] & set(after[kind]), kind
        assert {n: before[kind][n] for n in world.others[kind]} == {
            n: after[kind][n] for n in world.others[kind]}, kind  # fmt: skip
    assert after["automl-job"][world.running_automl] in ("Stopping", "Stopped")
    if world.finished_automl:  # no delete call for AutoML jobs: the record stays, as on AWS
        assert after["automl-job"][world.finished_automl] == "Completed"
    for job in world.others["automl-job"]:
        assert after["automl-job"][job] == before["automl-job"][job]
    assert set(after["glue"]) == set(before["glue"]) - {lab.database, f"{lab.database}.reviews"}
    assert f"{OTHER_DB}.theirs" in after["glue"]
    kept = {u: e for u, e in before["s3"].items() if not _is_lab_object(lab, u, world)}
    assert {u: after["s3"].get(u) for u in kept} == kept  # every other object untouched
    assert not [u for u in after["s3"] if _is_lab_object(lab, u, world)]
    assert sorted(u for u in after["s3"] if u.startswith(f"s3://{lab.bucket}/")) == [
        f"s3://{lab.bucket}/bias-notes/keep.csv", f"s3://{lab.bucket}/mystuff/keep.csv"]  # fmt: skip
    assert all(any(q in u for u in after["s3"]) for q in world.other_queries)  # their results
    assert after["athena"] == before["athena"]  # the query history stays (no delete call)
    assert after["endpoint"]["their-ep"] == "InService"


# -- the tests ------------------------------------------------------------------------------------
def test_cleanup_deletes_what_the_labs_made_and_nothing_else(lab, hold):
    world = build(lab, hold)
    before = snapshot(lab)
    resources = cleanup.inventory(lab)
    frame = cleanup.to_frame(resources)
    found = {k: set(v) for k, v in frame.groupby("kind")["name"].apply(list).items()}
    for kind in ("endpoint", "endpoint-config", "model", "automl-job", "training-job",
                 "processing-job"):  # fmt: skip
        assert found[kind] == world.mine[kind], kind
    assert found["glue-table"] == {f"{lab.database}.reviews"}
    assert found["glue-database"] == {lab.database}
    assert found["s3-objects"] == {lab.s3_uri(p) for p in
                                   ("data/transformed/", "bias/", "autopilot/", "blazingtext/")}  # fmt: skip
    athena = [r for r in resources if r.kind == "athena-results"]
    assert len(athena) == 1 and athena[0].targets
    assert all(any(q in uri for q in world.lab_queries) for uri in athena[0].targets)
    assert {q for q in world.lab_queries if any(q in uri for uri in athena[0].targets)} == (
        world.lab_queries)  # fmt: skip
    actions = frame.set_index("name")["action"]
    assert actions[world.running_automl] == "stop"
    if world.finished_automl:
        assert actions[world.finished_automl].startswith("keep: there is no call to delete")
    assert list(frame["kind"]) == sorted(frame["kind"], key=cleanup.KINDS.index)  # billing first

    dry = cleanup.delete(lab, resources, dry_run=True)
    assert set(dry["result"]) <= {"would delete", "would stop"} | {
        a.replace("keep:", "kept:") for a in frame["action"]}  # fmt: skip
    assert snapshot(lab) == before  # DRY_RUN changes nothing
    assert cleanup.to_frame(cleanup.inventory(lab)).equals(frame)

    results = cleanup.delete(lab, cleanup.inventory(lab), dry_run=False).set_index("name")
    assert not results["result"].str.startswith("failed").any(), results.to_dict("records")
    assert results.loc[world.running_automl, "result"] == "stopped"
    hold.release()
    check_cleaned(lab, world, before)
    if lab.is_local:
        assert wait_until_stopped(lab, world.running_automl) == "Stopped"

    again = cleanup.inventory(lab)  # a second run: nothing left to do, and it succeeds
    assert cleanup.summary(again) == {}
    assert {r.kind for r in again} == {"automl-job"}  # the kept records, with the reason
    rerun = cleanup.delete(lab, again, dry_run=False)
    assert rerun["result"].str.startswith("kept:").all()


def test_a_database_holding_foreign_tables_is_kept(lab):
    lab.client("s3").create_bucket(Bucket=OTHER_BUCKET)
    for uri in (lab.s3_uri("data/transformed/r.csv"), lab.s3_uri("elsewhere/r.csv")):
        lab.wr.s3.to_csv(_reviews(50), uri, index=False)
    lab.wr.catalog.create_database(name=lab.database, exist_ok=True)
    for table, path in (("reviews", "data/transformed/"), ("mine", "elsewhere/")):
        lab.wr.catalog.create_csv_table(database=lab.database, table=table,
                                        path=lab.s3_uri(path), columns_types=COLUMNS,
                                        skip_header_line_count=1, sep=",")  # fmt: skip
    frame = cleanup.to_frame(cleanup.inventory(lab)).set_index("name")
    assert frame.loc[f"{lab.database}.reviews", "action"] == "delete"
    assert frame.loc[f"{lab.database}.mine", "action"] == "keep: its data is not the lab's"
    assert "holds tables the labs did not create (mine)" in frame.loc[lab.database, "action"]
    results = cleanup.delete(lab, cleanup.inventory(lab), dry_run=False)
    assert not results["result"].str.startswith("failed").any()
    assert lab.wr.catalog.tables(database=lab.database)["Table"].tolist() == ["mine"]
    assert lab.wr.s3.list_objects(lab.s3_uri("")) == [lab.s3_uri("elsewhere/r.csv")]


def test_nothing_from_the_labs_means_nothing_to_clean(lab):
    assert cleanup.inventory(lab) == []
    assert cleanup.delete(lab, [], dry_run=False).empty


def test_an_endpoint_whose_model_is_gone_is_found_by_the_name_06_gives_it(lab):
    """06 names the endpoint "<job>-ep"; if the model went first, the endpoint still bills."""
    import sagemaker
    from sagemaker.model import Model

    train_uri = _upload(lab, _reviews(120)[["sentiment", "review_body"]], "t.csv", "autopilot/data")
    job = _automl_v2(lab, train_uri, lab.s3_uri("autopilot"))
    lines = "".join(f"__label__{i % 2} word{i % 2} review\n" for i in range(20))
    channel = _upload(lab, None, "train.txt", "blazingtext/data/train", text=lines)
    estimator = _blazingtext(lab, channel, lab.s3_uri("blazingtext/output"))
    if not lab.is_local:
        lab.client("s3").put_object(Bucket=lab.bucket, Body=b"model",
                                    Key=estimator.model_data.split("/", 3)[3])  # fmt: skip
    model = Model(image_uri=sagemaker.image_uris.retrieve("blazingtext", lab.region),
                  model_data=estimator.model_data, role=lab.role, name=f"{job}-ep",
                  sagemaker_session=lab.session)  # fmt: skip
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=f"{job}-ep",
                 wait=lab.is_local)  # fmt: skip
    sm = lab.client("sagemaker")
    sm.delete_model(ModelName=f"{job}-ep")  # the model first: the endpoint keeps serving
    frame = cleanup.to_frame(cleanup.inventory(lab))
    hosting = frame[frame["kind"].isin(cleanup.HOSTING)][["kind", "name"]].values.tolist()
    assert hosting == [["endpoint", f"{job}-ep"], ["endpoint-config", f"{job}-ep"]]
    results = cleanup.delete(lab, cleanup.inventory(lab), dry_run=False)
    assert not results["result"].str.startswith("failed").any(), results.to_dict("records")
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_endpoint_configs()[
        "EndpointConfigs"] == []  # fmt: skip


# -- the calls moto lacks, request by request (botocore's Stubber) ---------------------------------
def test_job_calls_send_aws_requests_and_report_what_failed_where(aws_lab, monkeypatch):
    from botocore.stub import Stubber

    sm = aws_lab.client("sagemaker")
    real_client = aws_lab.client
    monkeypatch.setattr(aws_lab, "client",
                        lambda name, **kw: sm if name == "sagemaker" else real_client(name, **kw))  # fmt: skip
    R = cleanup.Resource  # noqa: N806
    resources = [
        R("processing-job", "pj-done"), R("processing-job", "pj-gone"),
        R("training-job", "bt-running", action="stop"), R("training-job", "bt-done"),
        R("training-job", "bt-denied"), R("automl-job", "automl-dm-1", action="stop"),
        R("automl-job", "automl-dm-old", action="keep: there is no call to delete an AutoML job"),
    ]  # fmt: skip
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    described = {"AutoMLJobName": "automl-dm-1", "AutoMLJobArn": "arn:aws:sagemaker:us-east-1:"
                 "123456789012:automl-job/automl-dm-1", "AutoMLJobInputDataConfig": [
                     {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                      "S3Uri": "s3://b/autopilot/data/"}}}],
                 "OutputDataConfig": {"S3OutputPath": "s3://b/autopilot"}, "RoleArn": AWS_ROLE,
                 "CreationTime": now, "LastModifiedTime": now, "AutoMLJobStatus": "Completed",
                 "AutoMLJobSecondaryStatus": "Completed"}  # fmt: skip
    with Stubber(sm) as stub:  # in deletion order: AutoML, training, processing jobs
        stub.add_client_error("stop_auto_ml_job", "ValidationException",
                              "Job automl-dm-1 is Completed", expected_params={
                                  "AutoMLJobName": "automl-dm-1"})  # fmt: skip
        stub.add_response("describe_auto_ml_job_v2", described, {"AutoMLJobName": "automl-dm-1"})
        stub.add_client_error("delete_training_job", "AccessDeniedException",
                              "User is not authorized to perform: sagemaker:DeleteTrainingJob",
                              403, expected_params={"TrainingJobName": "bt-denied"})  # fmt: skip
        stub.add_response("delete_training_job", {}, {"TrainingJobName": "bt-done"})
        stub.add_response("stop_training_job", {}, {"TrainingJobName": "bt-running"})
        stub.add_response("delete_processing_job", {}, {"ProcessingJobName": "pj-done"})
        stub.add_client_error("delete_processing_job", "ValidationException",
                              "Could not find processing job 'pj-gone'.",
                              expected_params={"ProcessingJobName": "pj-gone"})  # fmt: skip
        results = cleanup.delete(aws_lab, resources, dry_run=False).set_index("name")["result"]
        stub.assert_no_pending_responses()
    assert results.to_dict() == {
        "automl-dm-1": "not running any more (Completed)",
        "automl-dm-old": "kept: there is no call to delete an AutoML job",
        "bt-denied": "failed: DeleteTrainingJob bt-denied: AccessDeniedException: User is not "
                     "authorized to perform: sagemaker:DeleteTrainingJob",
        "bt-done": "deleted", "bt-running": "stopped",
        "pj-done": "deleted", "pj-gone": "already gone",
    }  # fmt: skip


def test_a_listing_that_fails_says_what_and_where(aws_lab, monkeypatch):
    from botocore.exceptions import ClientError

    real_client = aws_lab.client

    def client(name, **kwargs):
        made = real_client(name, **kwargs)
        if name == "s3":

            def refuse(**_):
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                                  "ListObjectsV2")  # fmt: skip

            made.meta.events.register("before-call.s3.ListObjectsV2", refuse)
        return made

    monkeypatch.setattr(aws_lab, "client", client)
    with pytest.raises(cleanup.CleanupError, match=r"listing s3://lab-test-bucket/data/raw/ "
                       r"\(ListObjectsV2\) failed: AccessDenied: Access Denied"):  # fmt: skip
        cleanup.inventory(aws_lab)
