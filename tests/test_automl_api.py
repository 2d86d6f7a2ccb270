"""The AutoML API of the local SageMaker client, driven by the sagemaker SDK's own classes.

``sagemaker.automl.automl.AutoML`` (the course's class, the V1 API) and ``AutoMLV2`` (the V2 API)
run unchanged on ``lab.session``; the answers have the real API's shapes (every answer is checked
against botocore's model, see conftest), the V2 calls behave as moto's, and the aws path sends the
requests botocore accepts (Stubber).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from sagemaker.automl.automl import AutoML
from sagemaker.automl.automlv2 import AutoMLDataChannel, AutoMLTabularConfig, AutoMLV2

import utils
from utils.local.automl.bounded import TEST_DELAY_VAR
from utils.local.automl.store import JobStore
from utils.local.automl.synthetic import make_reviews

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


def _model():
    return botocore.session.get_session().get_service_model("sagemaker")


def _members(operation: str) -> set[str]:
    return set(_model().operation_model(operation).output_shape.members)


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def _upload(lab, frame, key="autopilot/data/train.csv"):
    """``sess.upload_data`` of ``frame`` as a CSV, as the course uploads its training data."""
    prefix, _, name = key.rpartition("/")
    folder = lab.home.parent / "upload"
    folder.mkdir(exist_ok=True)
    lab.session.default_bucket()  # creates the bucket, as the course's first cell does
    frame.to_csv(folder / name, index=False)
    return lab.session.upload_data(str(folder / name), bucket=lab.bucket, key_prefix=prefix)


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """One small V1 job run to completion by the SDK's AutoML (shared by this module's tests)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAB_STRICT_SHAPES", "1")
        lab = utils.connect("local", home=tmp_path_factory.mktemp("automl") / "lake")
        uri = _upload(lab, make_reviews(300, seed=3))
        automl = AutoML(role=lab.role, target_attribute_name="sentiment", base_job_name="automl-dm",
                        output_path=lab.s3_uri("autopilot"), max_candidates=2,
                        mode="HYPERPARAMETER_TUNING", total_job_runtime_in_seconds=300,
                        sagemaker_session=lab.session)  # fmt: skip
        automl.fit(inputs=uri, job_name="v1-job", wait=False, logs=False)
        right_after = automl.describe_auto_ml_job(job_name="v1-job")["AutoMLJobStatus"]
        lab.session.wait_for_auto_ml_job("v1-job", poll=1)
        yield lab, automl, uri, right_after


def test_v1_job_runs_and_describes_in_the_v1_shape(done):
    lab, automl, uri, right_after = done
    assert right_after == "InProgress"  # fit(wait=False) returned while the job ran on
    desc = automl.describe_auto_ml_job(job_name="v1-job")
    assert set(desc) - {"ResponseMetadata"} <= _members("DescribeAutoMLJob")
    assert desc["AutoMLJobStatus"] == "Completed"
    assert desc["AutoMLJobSecondaryStatus"] == "MaxCandidatesReached"
    assert desc["InputDataConfig"][0]["TargetAttributeName"] == "sentiment"
    assert desc["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == uri
    assert desc["AutoMLJobConfig"]["CompletionCriteria"] == {
        "MaxCandidates": 2, "MaxAutoMLJobRuntimeInSeconds": 300}  # fmt: skip
    assert desc["AutoMLJobConfig"]["Mode"] == "HYPERPARAMETER_TUNING"
    assert desc["ResolvedAttributes"]["ProblemType"] == "MulticlassClassification"
    assert desc["ResolvedAttributes"]["AutoMLJobObjective"] == {"MetricName": "Accuracy"}
    assert desc["GenerateCandidateDefinitionsOnly"] is False
    assert desc["RoleArn"] == lab.role
    assert isinstance(desc["CreationTime"], dt.datetime) and desc["EndTime"] > desc["CreationTime"]
    artifacts = desc["AutoMLJobArtifacts"]
    for key in ("DataExplorationNotebookLocation", "CandidateDefinitionNotebookLocation"):
        bucket, _, prefix = artifacts[key][len("s3://") :].partition("/")
        listed = lab.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
        assert listed["KeyCount"] == 1  # the notebook is in the lake where it says
    v2 = lab.client("sagemaker").describe_auto_ml_job_v2(AutoMLJobName="v1-job")
    assert set(v2) - {"ResponseMetadata"} <= _members("DescribeAutoMLJobV2")
    tab = v2["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert tab["TargetAttributeName"] == "sentiment"
    assert v2["BestCandidate"] == desc["BestCandidate"]


def test_candidates_order_filters_and_pages_as_aws_documents(done):
    lab, automl, _, _ = done
    default = automl.list_candidates(job_name="v1-job")
    assert [c["CreationTime"] for c in default] == sorted(c["CreationTime"] for c in default)
    by_value = automl.list_candidates(job_name="v1-job", sort_by="FinalObjectiveMetricValue")
    values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in by_value]
    assert values == sorted(values)  # SortOrder's default is Ascending
    best_first = automl.list_candidates(job_name="v1-job", sort_by="FinalObjectiveMetricValue",
                                        sort_order="Descending")  # fmt: skip
    best = automl.best_candidate(job_name="v1-job")
    assert best_first[0]["FinalAutoMLJobObjectiveMetric"]["Value"] == max(values)
    assert best["FinalAutoMLJobObjectiveMetric"]["Value"] == max(values) > 0.6
    for c in default:
        assert c["CandidateName"].startswith("v1-job-")
        assert c["FinalAutoMLJobObjectiveMetric"]["MetricName"] == "validation:accuracy"
        metrics = {m["MetricName"] for m in c["CandidateProperties"]["CandidateMetrics"]}
        assert {"Accuracy", "F1macro", "BalancedAccuracy", "LogLoss"} <= metrics
    one = automl.list_candidates(job_name="v1-job", candidate_name=default[1]["CandidateName"])
    assert [c["CandidateName"] for c in one] == [default[1]["CandidateName"]]
    assert len(automl.list_candidates(job_name="v1-job", status_equals="Completed")) == 2
    assert automl.list_candidates(job_name="v1-job", status_equals="Failed") == []
    pages = lab.client("sagemaker").get_paginator("list_candidates_for_auto_ml_job").paginate(
        AutoMLJobName="v1-job", PaginationConfig={"PageSize": 1})  # fmt: skip
    paged = [c["CandidateName"] for page in pages for c in page["Candidates"]]
    assert paged == [c["CandidateName"] for c in default]


def test_attach_from_a_fresh_process_sees_the_same_job(done):
    lab, automl, _, _ = done
    code = (
        "import json, utils\n"
        "from sagemaker.automl.automl import AutoML\n"
        f"lab = utils.connect('local', home={str(lab.home)!r})\n"
        "a = AutoML.attach('v1-job', sagemaker_session=lab.session)\n"
        "d = a.describe_auto_ml_job()\n"
        "print(json.dumps([d['AutoMLJobStatus'], a.best_candidate()['CandidateName'],\n"
        "                  a.max_candidate, a.mode, a.target_attribute_name]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    best = automl.best_candidate(job_name="v1-job")["CandidateName"]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        "Completed", best, 2, "HYPERPARAMETER_TUNING", "sentiment"]  # fmt: skip


def test_the_best_candidate_deploys_and_predicts_with_the_sdk(done):
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    from utils.local.automl import load_candidate_model

    lab, automl, _, _ = done
    attached = AutoML.attach("v1-job", sagemaker_session=lab.session)
    best = attached.best_candidate()
    predictor = attached.deploy(
        initial_instance_count=1, instance_type="ml.m5.large", candidate=best,
        inference_response_keys=["predicted_label", "probability"], predictor_cls=Predictor,
        serializer=CSVSerializer(), deserializer=CSVDeserializer(), endpoint_name="v1-job-ep",
    )  # fmt: skip
    try:
        reviews = ["love perfect gorgeous", "awful ripped returned"]
        answer = predictor.predict(reviews)
        labels = [row[0] for row in answer]
        model = load_candidate_model(lab, "v1-job", best["CandidateName"])
        assert labels == [str(v) for v in model.predict(reviews)]
        assert all(0 < float(row[1]) <= 1 for row in answer)
        sm = lab.client("sagemaker")
        described = sm.describe_endpoint(EndpointName="v1-job-ep")
        assert described["EndpointStatus"] == "InService"
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    assert lab.client("sagemaker").list_endpoints()["Endpoints"] == []


def test_job_names_are_unique_and_unknown_jobs_are_not_found(done):
    lab, automl, uri, _ = done
    again = AutoML(role=lab.role, target_attribute_name="sentiment", sagemaker_session=lab.session)
    with pytest.raises(ClientError) as dup:
        again.fit(inputs=uri, job_name="v1-job", wait=False, logs=False)
    assert _code(dup.value) == "ResourceInUse"
    sm = lab.client("sagemaker")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_auto_ml_job(AutoMLJobName="no-such-job")
    with pytest.raises(ClientError) as stop:
        sm.stop_auto_ml_job(AutoMLJobName="v1-job")
    assert _code(stop.value) == "ValidationException" and "Completed" in str(stop.value)
    assert sm.list_tags(ResourceArn=automl.describe_auto_ml_job("v1-job")["AutoMLJobArn"]) \
        ["Tags"] == []  # fmt: skip


def test_v2_job_with_automlv2_and_the_api_boundary(local_lab):
    uri = _upload(local_lab, make_reviews(80, seed=4))
    config = AutoMLTabularConfig(target_attribute_name="sentiment", max_candidates=1,
                                 generate_candidate_definitions_only=True)  # fmt: skip
    automl = AutoMLV2(problem_config=config, role=local_lab.role,
                      output_path=local_lab.s3_uri("autopilot"),
                      sagemaker_session=local_lab.session)  # fmt: skip
    channel = AutoMLDataChannel(s3_data_type="S3Prefix", s3_uri=uri, channel_type="training")
    automl.fit(inputs=[channel], job_name="v2-job", wait=False, logs=False)
    # the SDK's wait_for_auto_ml_job reads DescribeAutoMLJob (V1), which AWS refuses for V2
    # jobs (see below): follow a V2 job with DescribeAutoMLJobV2, as AutoMLV2 does
    for _ in range(120):
        if automl.describe_auto_ml_job(job_name="v2-job")["AutoMLJobStatus"] != "InProgress":
            break
        time.sleep(0.5)
    desc = automl.describe_auto_ml_job(job_name="v2-job")
    assert set(desc) - {"ResponseMetadata"} <= _members("DescribeAutoMLJobV2")
    assert (desc["AutoMLJobStatus"], desc["AutoMLJobSecondaryStatus"]) == (
        "Completed", "CandidateDefinitionsGenerated")  # fmt: skip
    assert desc["AutoMLProblemTypeConfig"]["TabularJobConfig"]["GenerateCandidateDefinitionsOnly"]
    sm = local_lab.client("sagemaker")
    with pytest.raises(ClientError, match="created with CreateAutoMLJobV2") as v1:
        sm.describe_auto_ml_job(AutoMLJobName="v2-job")  # as on AWS: V1 describes V1 jobs only
    assert _code(v1.value) == "ValidationException"
    names = [s["AutoMLJobName"] for s in sm.list_auto_ml_jobs()["AutoMLJobSummaries"]]
    assert names == ["v2-job"]


@pytest.mark.parametrize(
    "change, error",
    [
        ({"AutoMLJobConfig": {"CompletionCriteria": {"MaxCandidates": 751}}}, "1 to 750"),
        ({"ProblemType": "Regression"}, "go together"),
        (
            {"ProblemType": "Regression", "AutoMLJobObjective": {"MetricName": "Accuracy"}},
            "not valid for Regression",
        ),
        ({"AutoMLJobConfig": {"Mode": "FAST"}}, "Mode 'FAST'"),
        ({"AutoMLJobConfig": {"DataSplitConfig": {"ValidationFraction": 1.5}}}, "between 0 and 1"),
        ({"OutputDataConfig": {"S3OutputPath": "autopilot/"}}, "s3://"),
        ({"AutoMLJobName": "has_underscore"}, "letters, digits and hyphens"),
    ],
)
def test_bad_requests_are_refused_and_leave_no_job(local_lab, change, error):
    request = {
        "AutoMLJobName": "refused", "RoleArn": local_lab.role,
        "InputDataConfig": [{"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": local_lab.s3_uri("d.csv")}},
            "TargetAttributeName": "sentiment"}],
        "OutputDataConfig": {"S3OutputPath": local_lab.s3_uri("autopilot")},
    }  # fmt: skip
    request.update(change)
    with pytest.raises(ClientError, match=error) as err:
        local_lab.client("sagemaker").create_auto_ml_job(**request)
    assert _code(err.value) == "ValidationException"
    assert JobStore(local_lab.home).names() == []


def test_features_the_local_autopilot_lacks_say_so(local_lab):
    sm = local_lab.client("sagemaker")
    channel = {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                               "S3Uri": local_lab.s3_uri("d.csv")}},
               "TargetAttributeName": "y"}  # fmt: skip
    base = {"AutoMLJobName": "nope", "RoleArn": local_lab.role,
            "OutputDataConfig": {"S3OutputPath": local_lab.s3_uri("out")}}  # fmt: skip
    with pytest.raises(NotImplementedError, match="validation channel"):
        sm.create_auto_ml_job(
            **base, InputDataConfig=[channel, {**channel, "ChannelType": "validation"}]
        )
    with pytest.raises(NotImplementedError, match="parquet"):
        sm.create_auto_ml_job(**base, InputDataConfig=[{
            **channel, "ContentType": "x-application/vnd.amazon+parquet"}])  # fmt: skip
    assert JobStore(local_lab.home).names() == []


# -- the V2 calls behave as moto's (the same test body on both) ----------------------------------
@pytest.fixture(params=["local", "moto"])
def sagemaker_client(request, tmp_path, monkeypatch):
    if request.param == "local":
        monkeypatch.setenv(TEST_DELAY_VAR, "5")  # candidates take a while: the job is running
        lab = utils.connect("local", home=tmp_path / "lake")
        _upload(lab, make_reviews(60, seed=1), "data/train.csv")
        yield lab.client("sagemaker"), lab.bucket
        return
    from moto import mock_aws

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="moto-bucket")
        yield boto3.client("sagemaker", region_name="us-east-1"), "moto-bucket"


def test_v2_calls_conform_to_moto(sagemaker_client):
    sm, bucket = sagemaker_client
    request = {
        "AutoMLJobName": "conform-1",
        "AutoMLJobInputDataConfig": [{"ChannelType": "training", "ContentType":
                                      "text/csv;header=present", "DataSource": {"S3DataSource": {
                                          "S3DataType": "S3Prefix",
                                          "S3Uri": f"s3://{bucket}/data/train.csv"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/autopilot"},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {
            "TargetAttributeName": "sentiment", "ProblemType": "MulticlassClassification",
            "CompletionCriteria": {"MaxCandidates": 40}}},
        "AutoMLJobObjective": {"MetricName": "Accuracy"}, "RoleArn": ROLE,
    }  # fmt: skip
    arn = sm.create_auto_ml_job_v2(**request)["AutoMLJobArn"]
    assert arn.endswith(":automl-job/conform-1") and arn.startswith("arn:aws:sagemaker:us-east-1:")
    desc = sm.describe_auto_ml_job_v2(AutoMLJobName="conform-1")
    assert {"AutoMLJobName", "AutoMLJobArn", "AutoMLJobInputDataConfig", "OutputDataConfig",
            "AutoMLProblemTypeConfig", "AutoMLProblemTypeConfigName", "RoleArn", "CreationTime",
            "LastModifiedTime", "AutoMLJobStatus", "AutoMLJobSecondaryStatus"} <= set(desc)  # fmt: skip
    assert desc["AutoMLJobStatus"] == "InProgress"
    assert desc["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] == "sentiment"
    summaries = sm.list_auto_ml_jobs()["AutoMLJobSummaries"]
    assert [s["AutoMLJobName"] for s in summaries] == ["conform-1"]
    assert {"AutoMLJobName", "AutoMLJobArn", "AutoMLJobStatus", "AutoMLJobSecondaryStatus",
            "CreationTime", "LastModifiedTime"} <= set(summaries[0])  # fmt: skip
    with pytest.raises(ClientError) as dup:
        sm.create_auto_ml_job_v2(**request)
    assert _code(dup.value) == "ResourceInUse"
    with pytest.raises(ClientError) as missing:
        sm.describe_auto_ml_job_v2(AutoMLJobName="no-such-job")
    assert _code(missing.value) == "ResourceNotFound"
    sm.stop_auto_ml_job(AutoMLJobName="conform-1")
    assert sm.describe_auto_ml_job_v2(AutoMLJobName="conform-1")["AutoMLJobStatus"] in (
        "Stopping", "Stopped")  # fmt: skip


# -- the aws path: the SDK's AutoML sends the V1 requests botocore accepts (Stubber) -------------
def test_aws_course_call_sends_create_auto_ml_job(aws_lab):
    automl = AutoML(role=ROLE, target_attribute_name="sentiment", base_job_name="automl-dm",
                    output_path=aws_lab.s3_uri("autopilot"), max_candidates=3,
                    max_runtime_per_training_job_in_seconds=1200,
                    total_job_runtime_in_seconds=7200,
                    sagemaker_session=aws_lab.session)  # fmt: skip
    expected = {
        "AutoMLJobName": "automl-dm-1",
        "InputDataConfig": [{"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": aws_lab.s3_uri("autopilot/data/train.csv")}},
            "TargetAttributeName": "sentiment"}],
        "OutputDataConfig": {"S3OutputPath": aws_lab.s3_uri("autopilot")},
        "AutoMLJobConfig": {"CompletionCriteria": {
            "MaxCandidates": 3, "MaxRuntimePerTrainingJobInSeconds": 1200,
            "MaxAutoMLJobRuntimeInSeconds": 7200},
            "SecurityConfig": {"EnableInterContainerTrafficEncryption": False}},
        "RoleArn": ROLE, "GenerateCandidateDefinitionsOnly": False,
    }  # fmt: skip
    arn = "arn:aws:sagemaker:us-east-1:123456789012:automl-job/automl-dm-1"
    with Stubber(aws_lab.session.sagemaker_client) as stub:
        stub.add_response("create_auto_ml_job", {"AutoMLJobArn": arn}, expected)
        automl.fit(inputs=aws_lab.s3_uri("autopilot/data/train.csv"), job_name="automl-dm-1",
                   wait=False, logs=False)  # fmt: skip
        stub.assert_no_pending_responses()


def test_aws_list_candidates_and_failed_wait(aws_lab):
    from sagemaker.exceptions import UnexpectedStatusException

    automl = AutoML(role=ROLE, target_attribute_name="sentiment",
                    sagemaker_session=aws_lab.session)  # fmt: skip
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    candidate = {
        "CandidateName": "automl-dm-3-001-9b10d88c",
        "FinalAutoMLJobObjectiveMetric": {"MetricName": "validation:accuracy", "Value": 0.61},
        "ObjectiveStatus": "Succeeded", "CandidateSteps": [], "CandidateStatus": "Completed",
        "CreationTime": now, "LastModifiedTime": now,
    }  # fmt: skip
    failed = {
        "AutoMLJobName": "automl-dm-3", "AutoMLJobArn": "arn:aws:sagemaker:us-east-1:1:automl-job/a",
        "InputDataConfig": [{"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                             "S3Uri": "s3://b/d.csv"}},
                             "TargetAttributeName": "sentiment"}],
        "OutputDataConfig": {"S3OutputPath": "s3://b/autopilot"}, "RoleArn": ROLE,
        "CreationTime": now, "LastModifiedTime": now, "AutoMLJobStatus": "Failed",
        "AutoMLJobSecondaryStatus": "Failed",
        "FailureReason": "ClientError: The target attribute name sentiment was not found",
    }  # fmt: skip
    with Stubber(aws_lab.session.sagemaker_client) as stub:
        stub.add_response("list_candidates_for_auto_ml_job", {"Candidates": [candidate]},
                          {"AutoMLJobName": "automl-dm-3",
                           "SortBy": "FinalObjectiveMetricValue"})  # fmt: skip
        stub.add_response("describe_auto_ml_job", failed, {"AutoMLJobName": "automl-dm-3"})
        out = automl.list_candidates(job_name="automl-dm-3", sort_by="FinalObjectiveMetricValue")
        assert out[0]["CandidateName"] == "automl-dm-3-001-9b10d88c"
        with pytest.raises(UnexpectedStatusException, match="target attribute name"):
            aws_lab.session.wait_for_auto_ml_job("automl-dm-3", poll=0)


# -- the live view of a job (05_autopilot) ---------------------------------------------------------
def test_the_view_shows_stages_candidates_and_the_bar_even_when_late(done, capsys):
    from utils import automl as aml

    lab, automl, _, _ = done
    aml._SHOWN.clear()  # a fresh kernel, run after the job ended
    seen = []
    desc = aml.track(automl, "v1-job", poll_seconds=0.1, seen=seen)
    out = capsys.readouterr()
    text = out.out + out.err
    assert desc["AutoMLJobStatus"] == "Completed"
    for stage in ("Starting", "AnalyzingData", "FeatureEngineering", "ModelTuning",
                  "MaxCandidatesReached"):  # fmt: skip
        assert f"{stage}: " in text, stage  # every stage of the job's log, with its time
    for cand in automl.list_candidates(job_name="v1-job"):
        assert cand["CandidateName"] in text
    assert "data processors ready" in text  # what the local Autopilot logs
    assert "2/2" in out.err and "best validation:accuracy" in out.err  # the bar's last state
    assert seen[-1] == ("Completed", "MaxCandidatesReached")
    again = aml.track(automl, "v1-job", poll_seconds=0.1)  # the same kernel: nothing twice
    assert again["AutoMLJobStatus"] == "Completed"
    assert "data processors ready" not in capsys.readouterr().out


def test_the_view_as_text_shares_stdout_with_the_jobs_lines(done, capsys, monkeypatch):
    """LAB_PROGRESS=text (papermill's runs): the bar and the job's lines go to one stream, the
    bar cleared around each line, so a saved notebook reads as the lines, then the bar."""
    from nbconvert.preprocessors.coalescestreams import CR_PAT

    from utils import automl as aml

    lab, automl, _, _ = done
    aml._SHOWN.clear()
    monkeypatch.setenv(aml.PROGRESS_ENV, "text")
    aml.track(automl, "v1-job", poll_seconds=0.1)
    out = capsys.readouterr()
    assert out.err == ""
    shown = CR_PAT.sub("", out.out).splitlines()  # what a notebook's output area shows
    assert "data processors ready" in " ".join(shown)
    assert "2/2" in shown[-1] and "best validation:accuracy" in shown[-1]
    assert not any("candidate/s" in line for line in shown[:-1])  # one bar, at the end


def test_the_view_on_aws_reads_describe_and_list_candidates(aws_lab, capsys):
    from utils import automl as aml

    automl = AutoML(role=ROLE, target_attribute_name="sentiment",
                    sagemaker_session=aws_lab.session)  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    base = {
        "AutoMLJobName": "aws-view", "AutoMLJobArn": "arn:aws:sagemaker:us-east-1:1:automl-job/v",
        "InputDataConfig": [{"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                             "S3Uri": "s3://b/d.csv"}},
                             "TargetAttributeName": "sentiment"}],
        "OutputDataConfig": {"S3OutputPath": "s3://b/autopilot"}, "RoleArn": ROLE,
        "AutoMLJobConfig": {"CompletionCriteria": {"MaxCandidates": 2,
                                                   "MaxAutoMLJobRuntimeInSeconds": 7200}},
        "CreationTime": now - dt.timedelta(minutes=12), "LastModifiedTime": now,
    }  # fmt: skip
    metric = {"MetricName": "validation:accuracy", "Value": 0.6125}
    cand = {"CandidateName": "aws-view-001-abc", "FinalAutoMLJobObjectiveMetric": metric,
            "ObjectiveStatus": "Succeeded", "CandidateSteps": [], "CandidateStatus": "Completed",
            "CreationTime": now, "LastModifiedTime": now}  # fmt: skip
    view = aml.JobView(automl, "aws-view")
    with Stubber(aws_lab.session.sagemaker_client) as sm, Stubber(view.logs) as logs:
        logs.add_client_error("describe_log_streams", "ResourceNotFoundException",
                              "The specified log group does not exist.")  # fmt: skip
        sm.add_response(
            "describe_auto_ml_job",
            {**base, "AutoMLJobStatus": "InProgress", "AutoMLJobSecondaryStatus": "ModelTuning"},
        )
        sm.add_response("list_candidates_for_auto_ml_job", {"Candidates": [cand]})
        sm.add_response("describe_auto_ml_job", {**base, "AutoMLJobStatus": "Completed",
                                                 "AutoMLJobSecondaryStatus":
                                                 "MaxCandidatesReached", "BestCandidate": cand,
                                                 "EndTime": now})  # fmt: skip
        sm.add_response("list_candidates_for_auto_ml_job", {"Candidates": [cand]})
        view.refresh()
        view.refresh()
        view.close()
    out = capsys.readouterr()
    assert "InProgress / ModelTuning" in out.out and "Completed / MaxCandidatesReached" in out.out
    assert out.out.count("aws-view-001-abc: validation:accuracy 0.6125") == 1
    assert (
        "1/2" in out.err and "12:00 of 2:00:00" in out.err and "best validation:accuracy" in out.err
    )
