"""utils.cleanup: it finds what the labs created, deletes it on request, and nothing else.

Local: a lab home with lake objects, a Glue table, Athena results, AutoML job records and a real
endpoint server. AWS: the same kinds of resources in moto (S3, Glue, Athena, SageMaker), next to
resources the labs did not create, which must survive.
"""

from __future__ import annotations

import json

import joblib
import pandas as pd
import pytest

from utils import cleanup, endpoints
from utils.local.endpoint import process_alive


def _tiny_model(path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["love it", "great fit", "it is ok", "fine I guess", "awful", "returned it"] * 5
    labels = [1, 1, 0, 0, -1, -1] * 5
    joblib.dump(make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels), path)
    return path


def _reviews() -> pd.DataFrame:
    return pd.DataFrame({"sentiment": [1, 0, -1], "review_body": ["good", "ok", "bad"],
                         "product_category": ["Dresses", "Tops", "Jeans"]})  # fmt: skip


def _register(lab, table: str, prefix: str, database: str | None = None) -> None:
    lab.wr.catalog.create_database(name=database or lab.database, exist_ok=True)
    lab.wr.catalog.create_csv_table(
        database=database or lab.database,
        table=table,
        path=lab.s3_uri(prefix),
        columns_types={"sentiment": "int", "review_body": "string", "product_category": "string"},
        mode="overwrite",
        skip_header_line_count=1,
        sep=",",
    )


def _local_job(lab, name: str, status: str) -> None:
    from utils.local.automl.store import JobStore

    JobStore(lab.home).create(name, {"AutoMLJobName": name, "AutoMLJobStatus": status,
                                     "CreationTime": "2026-01-01T00:00:00+00:00"})  # fmt: skip


@pytest.fixture
def local_setup(local_lab, tmp_path):
    lab = local_lab
    wr = lab.wr
    wr.s3.to_csv(_reviews(), lab.s3_uri("data/transformed/reviews.csv"), index=False)
    wr.s3.to_csv(_reviews(), lab.s3_uri("images/not-really.csv"), index=False)
    wr.s3.to_csv(_reviews(), lab.s3_uri("mystuff/keep.csv"), index=False)  # not the labs'
    _register(lab, "reviews", "data/transformed/")
    wr.athena.read_sql_query("SELECT COUNT(*) AS n FROM reviews", database=lab.database)
    _local_job(lab, "automl-dm-done", "Completed")
    _local_job(lab, "automl-dm-running", "InProgress")
    endpoints.deploy_model(lab, _tiny_model(tmp_path / "m.joblib"), "lab-ep", predictor_cls=None)
    record = json.loads((lab.home / "endpoints" / "lab-ep.json").read_text())["Local"]
    yield lab, record
    endpoints.delete_endpoint(lab, "lab-ep", delete_model=True, missing_ok=True)


def test_local_dry_run_changes_nothing_then_delete_removes_only_the_labs(local_setup):
    lab, server = local_setup
    resources = cleanup.inventory(lab)
    frame = cleanup.to_frame(resources)
    kinds = frame.groupby("kind")["name"].apply(list).to_dict()
    assert kinds["endpoint"] == ["lab-ep"]
    assert kinds["endpoint-config"] == ["lab-ep"] and kinds["model"] == ["lab-ep"]
    assert sorted(kinds["automl-job"]) == ["automl-dm-done", "automl-dm-running"]
    assert kinds["glue-table"] == [f"{lab.database}.reviews"]
    assert kinds["glue-database"] == [lab.database]
    assert sorted(kinds["s3-objects"]) == [lab.s3_uri("data/transformed/"), lab.s3_uri("images/")]
    assert kinds["athena-results"] == ["s3://aws-athena-query-results-000000000000-us-east-1/"]
    actions = frame.set_index("name")["action"]
    assert actions["automl-dm-running"].startswith("keep: still running")
    assert list(frame["kind"]) == sorted(frame["kind"], key=cleanup.KINDS.index)  # billing first
    dry = cleanup.delete(lab, resources, dry_run=True)
    assert set(dry["result"]) <= {"would delete", "kept: still running; wait for it to finish "
                                  "(or stop it), then run this again"}  # fmt: skip
    assert endpoints.describe_endpoint(lab, "lab-ep")["EndpointStatus"] == "InService"
    assert cleanup.to_frame(cleanup.inventory(lab)).equals(frame)

    # and for real: what the labs made goes, nothing else
    results = cleanup.delete(lab, cleanup.inventory(lab), dry_run=False)
    assert not results["result"].str.startswith("failed").any(), results.to_dict("records")
    assert process_alive(server["Pid"], server["Token"]) is False
    assert endpoints.list_endpoints(lab) == []
    left = cleanup.to_frame(cleanup.inventory(lab))
    assert left[["kind", "name"]].values.tolist() == [["automl-job", "automl-dm-running"]]
    assert lab.wr.s3.list_objects(lab.s3_uri("")) == [lab.s3_uri("mystuff/keep.csv")]
    assert lab.database not in lab.wr.catalog.databases()["Database"].tolist()
    assert not list((lab.home / "athena" / "queries").glob("*.json"))
    assert not (lab.home / "automl" / "automl-dm-done").exists()
    again = cleanup.delete(lab, cleanup.inventory(lab), dry_run=False)  # re-running is safe
    assert again["result"].tolist() == [left.loc[0, "action"].replace("keep:", "kept:")]


def test_a_database_holding_foreign_tables_is_kept(local_lab):
    lab = local_lab
    lab.wr.s3.to_csv(_reviews(), lab.s3_uri("data/transformed/r.csv"), index=False)
    lab.wr.s3.to_csv(_reviews(), lab.s3_uri("elsewhere/r.csv"), index=False)
    _register(lab, "reviews", "data/transformed/")
    _register(lab, "mine", "elsewhere/")
    frame = cleanup.to_frame(cleanup.inventory(lab)).set_index("name")
    assert frame.loc[f"{lab.database}.reviews", "action"] == "delete"
    assert frame.loc[f"{lab.database}.mine", "action"].startswith("keep: its data is not")
    assert "holds tables the labs did not create (mine)" in frame.loc[lab.database, "action"]
    cleanup.delete(lab, cleanup.inventory(lab), dry_run=False)
    assert lab.wr.catalog.tables(database=lab.database)["Table"].tolist() == ["mine"]


def test_an_empty_lab_home_has_nothing_to_clean(local_lab):
    assert cleanup.inventory(local_lab) == []
    assert cleanup.delete(local_lab, [], dry_run=False).empty


# -- aws, against moto -----------------------------------------------------------------------------
def _aws_fixtures(lab) -> dict[str, str]:
    """Lab resources and foreign ones in moto; returns the lab query's id."""
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    for key in ("data/transformed/reviews.csv", "autopilot/job/model.tar.gz", "other/keep.csv"):
        s3.put_object(Bucket=lab.bucket, Key=key, Body=b"sentiment,review_body\n1,good\n")
    s3.create_bucket(Bucket="someone-elses-bucket")
    s3.put_object(Bucket="someone-elses-bucket", Key="data/transformed/x.csv", Body=b"x")
    _register(lab, "reviews", "data/transformed/")
    lab.wr.catalog.create_database(name="other_db", exist_ok=True)

    athena = boto3.client("athena", region_name="us-east-1")
    s3.create_bucket(Bucket="athena-results-bucket")
    ids = {}
    for db in (lab.database, "other_db"):
        qid = athena.start_query_execution(
            QueryString="SELECT 1", QueryExecutionContext={"Database": db},
            ResultConfiguration={"OutputLocation": "s3://athena-results-bucket/"},
        )["QueryExecutionId"]  # fmt: skip
        for suffix in (".csv", ".csv.metadata"):
            s3.put_object(Bucket="athena-results-bucket", Key=qid + suffix, Body=b"n\n1\n")
        ids[db] = qid

    sm = boto3.client("sagemaker", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/lab"
    for name, url in (("lab-model", f"s3://{lab.bucket}/autopilot/job/model.tar.gz"),
                      ("their-model", "s3://someone-elses-bucket/model.tar.gz")):  # fmt: skip
        sm.create_model(ModelName=name, ExecutionRoleArn=role,
                        Containers=[{"Image": "img", "ModelDataUrl": url}])  # fmt: skip
        variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
                   "InstanceType": "ml.m5.large"}  # fmt: skip
        sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant])
        sm.create_endpoint(EndpointName=f"{name}-ep", EndpointConfigName=f"{name}-config")
    source = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://x/train.csv"}}
    tabular = {"TargetAttributeName": "sentiment", "ProblemType": "MulticlassClassification",
               "CompletionCriteria": {"MaxCandidates": 1}}  # fmt: skip
    for job, out in (("automl-dm-1", f"s3://{lab.bucket}/autopilot"),
                     ("their-job", "s3://someone-elses-bucket/out")):  # fmt: skip
        sm.create_auto_ml_job_v2(
            AutoMLJobName=job, OutputDataConfig={"S3OutputPath": out}, RoleArn=role,
            AutoMLJobInputDataConfig=[{"ChannelType": "training", "DataSource": source}],
            AutoMLProblemTypeConfig={"TabularJobConfig": tabular},
        )  # fmt: skip
    return ids


def test_aws_cleanup_touches_only_the_labs_resources(aws_lab):
    import boto3

    lab = aws_lab
    ids = _aws_fixtures(lab)
    resources = cleanup.inventory(lab)
    frame = cleanup.to_frame(resources)
    found = frame.groupby("kind")["name"].apply(list).to_dict()
    assert found["endpoint"] == ["lab-model-ep"]
    assert found["endpoint-config"] == ["lab-model-config"] and found["model"] == ["lab-model"]
    assert found["automl-job"] == ["automl-dm-1"]
    assert found["glue-table"] == [f"{lab.database}.reviews"]
    assert sorted(found["s3-objects"]) == [
        lab.s3_uri("autopilot/"),
        lab.s3_uri("data/transformed/"),
    ]
    athena_row = next(r for r in resources if r.kind == "athena-results")
    lab_query = ids[lab.database]
    assert sorted(athena_row.targets) == [f"s3://athena-results-bucket/{lab_query}.csv",
                                          f"s3://athena-results-bucket/{lab_query}.csv.metadata"]  # fmt: skip
    assert frame.set_index("name").loc["automl-dm-1", "action"] == "stop"

    results = cleanup.delete(lab, resources, dry_run=False)
    assert not results["result"].str.startswith("failed").any(), results.to_dict("records")

    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["their-model-ep"]
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["their-model"]
    configs = sm.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == ["their-model-config"]
    jobs = {
        j["AutoMLJobName"]: j["AutoMLJobStatus"]
        for j in sm.list_auto_ml_jobs()["AutoMLJobSummaries"]
    }
    assert jobs == {"automl-dm-1": "Stopped", "their-job": "InProgress"}
    s3 = boto3.client("s3", region_name="us-east-1")

    def keys(bucket):
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    assert keys(lab.bucket) == ["other/keep.csv"]
    assert keys("someone-elses-bucket") == ["data/transformed/x.csv"]
    other = ids["other_db"]
    assert keys("athena-results-bucket") == [f"{other}.csv", f"{other}.csv.metadata"]
    databases = lab.wr.catalog.databases()["Database"].tolist()
    assert lab.database not in databases and "other_db" in databases


def test_aws_inventory_with_nothing_from_the_labs(aws_lab):
    assert cleanup.inventory(aws_lab) == []


# -- BlazingText (07_blazingtext): lake objects and training jobs ----------------------------------
def _blazingtext_job(lab) -> str:
    """A real local BlazingText job on a few lines: channels and a model under blazingtext/."""
    from utils import blazingtext

    texts = {"__label__1": "love it so soft", "__label__-1": "awful fit returned it",
             "__label__0": "it is ok i guess"}  # fmt: skip
    frame = pd.DataFrame([(label, f"{text} {i}") for i in range(20) for label, text in texts.items()],
                         columns=["sentiment", "review_body"])  # fmt: skip
    channels = blazingtext.upload_channels(lab, frame, frame.head(9))
    estimator = lab.Estimator(image_uri=blazingtext.image_uri(lab), instance_count=1,
                              instance_type="ml.m5.large",
                              output_path=lab.s3_uri(blazingtext.OUTPUT_PREFIX))  # fmt: skip
    estimator.set_hyperparameters(mode="supervised", epochs=2, vector_dim=5, buckets=1000,
                                  min_count=1)  # fmt: skip
    estimator.fit(channels, logs="None")
    return estimator.latest_training_job.name


def _job_record(lab, name: str, status: str, pid: int) -> None:
    folder = lab.home / "training-jobs"
    record = {"TrainingJobName": name, "TrainingJobStatus": status,
              "CreationTime": "2026-01-01T00:00:00+00:00", "Local": {"Pid": pid}}  # fmt: skip
    (folder / f"{name}.json").write_text(json.dumps(record))


def test_local_cleanup_removes_blazingtext_objects_and_training_jobs(local_lab):
    import os

    from utils import blazingtext

    lab = local_lab
    done = _blazingtext_job(lab)
    folder = lab.home / "training-jobs"
    assert (folder / f"{done}.json").is_file() and (folder / f"{done}.log").is_file()
    _job_record(lab, "blazingtext-crashed", "InProgress", pid=2**22 + 12345)  # its process is gone
    (folder / ".blazingtext-crashed-abc").mkdir()  # the work folder a crash left behind
    (folder / ".blazingtext-crashed-abc" / "model.bin").write_bytes(b"x" * 2**21)
    _job_record(lab, "blazingtext-training", "InProgress", pid=os.getpid())  # still training

    resources = cleanup.inventory(lab)
    frame = cleanup.to_frame(resources).set_index("name")
    jobs = frame[frame["kind"] == "training-job"]
    assert sorted(jobs.index) == sorted([done, "blazingtext-crashed", "blazingtext-training"])
    assert jobs.loc[done, "action"] == "delete" and jobs.loc[done, "detail"].startswith("Completed")
    assert jobs.loc["blazingtext-crashed", "detail"].startswith("Failed")  # not InProgress forever
    assert "2.0 MB on disk" in jobs.loc["blazingtext-crashed", "detail"]
    assert jobs.loc["blazingtext-training", "action"].startswith("keep: still training")
    objects = next(r for r in resources if r.name == lab.s3_uri("blazingtext/"))
    model = f"{lab.s3_uri(blazingtext.OUTPUT_PREFIX)}/{done}/output/model.tar.gz"
    assert model in objects.targets
    assert lab.s3_uri("blazingtext/data/train/train.txt") in objects.targets
    assert cleanup.summary(resources)["training-job"] == 2

    # DRY_RUN lists and deletes nothing
    dry = cleanup.delete(lab, resources, dry_run=True).set_index("name")
    assert dry.loc[done, "result"] == "would delete"
    assert dry.loc[lab.s3_uri("blazingtext/"), "result"] == "would delete"
    assert (folder / f"{done}.json").is_file() and lab.local_path(model).is_file()

    results = cleanup.delete(lab, cleanup.inventory(lab), dry_run=False)
    assert not results["result"].str.startswith("failed").any(), results.to_dict("records")
    assert sorted(p.name for p in folder.iterdir()) == ["blazingtext-training.json"]
    assert lab.wr.s3.list_objects(lab.s3_uri("blazingtext/")) == []
    left = cleanup.to_frame(cleanup.inventory(lab))
    assert left[["kind", "name"]].values.tolist() == [["training-job", "blazingtext-training"]]


def test_aws_cleanup_finds_the_labs_blazingtext_jobs_and_endpoint(aws_lab, request):
    import boto3
    from botocore.awsrequest import AWSResponse
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    from utils import blazingtext

    lab = aws_lab
    role = "arn:aws:iam::123456789012:role/lab"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="someone-elses-bucket")
    channels = {"train": lab.s3_uri("blazingtext/data/train/")}
    for output, job in ((lab.s3_uri(blazingtext.OUTPUT_PREFIX), "blazingtext-lab-1"),
                        ("s3://someone-elses-bucket/out", "their-training-job")):  # fmt: skip
        estimator = lab.Estimator(image_uri=blazingtext.image_uri(lab), role=role,
                                  instance_count=1, instance_type="ml.m5.large",
                                  output_path=output)  # fmt: skip
        estimator.set_hyperparameters(mode="supervised", epochs=5)
        estimator.fit(channels, wait=False, job_name=job)
    model_data = lab.s3_uri(f"{blazingtext.OUTPUT_PREFIX}/blazingtext-lab-1/output/model.tar.gz")
    s3.put_object(Bucket=lab.bucket, Key=model_data.split("/", 3)[3], Body=b"model")
    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_model(ModelName="blazingtext-2026-01-01-00-00-00-000", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": "blazingtext", "ModelDataUrl": model_data})  # fmt: skip
    variant = {"VariantName": "AllTraffic", "ModelName": "blazingtext-2026-01-01-00-00-00-000",
               "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}  # fmt: skip
    sm.create_endpoint_config(EndpointConfigName="bt-config", ProductionVariants=[variant])
    sm.create_endpoint(EndpointName="bt-ep", EndpointConfigName="bt-config")

    jobs = blazingtext.list_training_jobs(lab)
    assert [j["TrainingJobName"] for j in jobs] == ["blazingtext-lab-1"]
    frame = cleanup.to_frame(cleanup.inventory(lab)).set_index("name")
    assert frame.loc["blazingtext-lab-1", "kind"] == "training-job"
    assert frame.loc["blazingtext-lab-1", "action"].startswith("keep: AWS keeps training job")
    assert "their-training-job" not in frame.index
    assert frame.loc["bt-ep", "kind"] == "endpoint"  # it serves a model with artifacts there
    assert frame.loc["bt-config", "kind"] == "endpoint-config"
    assert frame.loc[lab.s3_uri("blazingtext/"), "detail"].startswith("1 objects")

    # a running job is stopped: StopTrainingJob for the lab's job only (moto has no such call)
    backend = sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    for name in ("blazingtext-lab-1", "their-training-job"):
        backend.training_jobs[name].training_job_status = "InProgress"
    stopped = []

    def stop(params, **_):  # the request's parameters, then an empty 200 answer instead of moto
        stopped.append(params["TrainingJobName"])

    def answer(**_):
        return AWSResponse("https://sagemaker", 200, {}, None), {}

    events = boto3.DEFAULT_SESSION.events
    events.register("provide-client-params.sagemaker.StopTrainingJob", stop)
    events.register("before-call.sagemaker.StopTrainingJob", answer)
    request.addfinalizer(
        lambda: events.unregister("provide-client-params.sagemaker.StopTrainingJob", stop)
    )
    request.addfinalizer(lambda: events.unregister("before-call.sagemaker.StopTrainingJob", answer))
    resources = cleanup.inventory(lab)
    assert next(r for r in resources if r.name == "blazingtext-lab-1").action == "stop"
    assert cleanup.delete(lab, resources, dry_run=True).set_index("name").loc[
        "blazingtext-lab-1", "result"] == "would stop"  # fmt: skip
    assert stopped == []
    results = cleanup.delete(lab, resources, dry_run=False).set_index("name")
    assert not results["result"].str.startswith("failed").any(), results.to_dict("records")
    assert results.loc["blazingtext-lab-1", "result"] == "stopped"
    assert stopped == ["blazingtext-lab-1"]
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == []
    assert s3.list_objects_v2(Bucket=lab.bucket).get("Contents") is None
