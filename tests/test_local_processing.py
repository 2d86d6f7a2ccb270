"""Processing jobs in the local SageMaker client, with SageMaker Clarify as the image.

The SDK's own ``sagemaker.clarify.SageMakerClarifyProcessor`` runs the course's week-2 bias flow
on ``lab.session`` unchanged: the course's calls, then the output prefix listed with the S3
client, the metrics compared with smclarify's on the same data. Bad input gets AWS's answers.
Where moto implements the calls (create / describe / list processing jobs, tags), the same test
body runs on moto and on local; every local answer is also checked against the AWS model
(LAB_STRICT_SHAPES, set by conftest).
"""

from __future__ import annotations

import json
import os
import re
import signal

import boto3
import nbformat
import pandas as pd
import pytest
import sagemaker
from botocore.exceptions import ClientError
from sagemaker import clarify
from sagemaker.exceptions import UnexpectedStatusException
from sagemaker.processing import ProcessingJob

import utils
from utils import bias, datasets
from utils.local import clarify as local_clarify
from utils.local.sagemaker import jobs

METHODS = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"]
ROWS = 1500
CONFIG_INPUT, DATA_INPUT, OUTPUT = (
    "/opt/ml/processing/input/config",
    "/opt/ml/processing/input/data",
    "/opt/ml/processing/output",
)
STATUSES = {"InProgress", "Completed", "Failed", "Stopping", "Stopped"}
BUCKET = "conformance-bucket"
MOTO_ROLE = "arn:aws:iam::123456789012:role/lab-clarify"


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return datasets.transform(datasets.generate_synthetic(ROWS, seed=42)).df


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    return utils.connect("local", home=tmp_path / "lake")


@pytest.fixture
def held_workers(monkeypatch):
    """Job workers are paused (SIGSTOP) as soon as they are started, until the test calls the
    fixture's value: so a test sees a job in progress without racing it."""
    paused: list[int] = []
    spawn = jobs.JobRecords.spawn

    def held(self, name):
        spawn(self, name)
        pid = self.read_raw(name)["Local"]["Worker"]["Pid"]
        os.kill(pid, signal.SIGSTOP)
        paused.append(pid)

    monkeypatch.setattr(jobs.JobRecords, "spawn", held)

    def release() -> None:
        monkeypatch.setattr(jobs.JobRecords, "spawn", spawn)
        while paused:
            os.kill(paused.pop(), signal.SIGCONT)

    yield release
    release()


# -- the course's calls ------------------------------------------------------------------------
def _upload(lab, df: pd.DataFrame, tmp_path, key_prefix: str, name: str = "reviews.csv") -> str:
    path = tmp_path / name
    df.to_csv(path, index=False)
    sess = lab.session
    bucket = sess.default_bucket()
    return sess.upload_data(bucket=bucket, key_prefix=key_prefix, path=str(path))


def _run_clarify(lab, data_uri: str, report: str, headers: list[str], label: str = "sentiment",
                 wait: bool = False, logs: bool = False, job_name: str | None = None):  # fmt: skip
    """The course's cells: DataConfig, BiasConfig, the processor, run_pre_training_bias."""
    sess = lab.session
    bucket = sess.default_bucket()
    output = f"s3://{bucket}/bias/generated_bias_report/{report}"
    data_config = clarify.DataConfig(
        s3_data_input_path=data_uri,
        s3_output_path=output,
        label=label,
        headers=headers,
        dataset_type="text/csv",
    )
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="product_category")
    processor = clarify.SageMakerClarifyProcessor(
        role=lab.role, instance_count=1, instance_type="ml.m5.large", sagemaker_session=sess
    )
    processor.run_pre_training_bias(
        data_config=data_config,
        data_bias_config=bias_config,
        methods=METHODS,
        wait=wait,
        logs=logs,
        job_name=job_name,
    )
    return processor, output


def _smclarify_direct(df: pd.DataFrame) -> list[dict]:
    from smclarify.bias import report

    facets = report.bias_report(
        df,
        report.FacetColumn("product_category"),
        report.LabelColumn("sentiment", df["sentiment"], [1]),
        stage_type=report.StageType.PRE_TRAINING,
        metrics=METHODS,
    )
    return json.loads(local_clarify.to_json({"f": facets}))["f"]  # as analysis.json writes them


def _keys(lab, uri: str) -> list[str]:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    listed = lab.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
    return [o["Key"][len(prefix) + 1 :] for o in listed.get("Contents", [])]


def _read(lab, uri: str) -> bytes:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return lab.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_course_flow_runs_clarify_on_lab_session(lab, reviews, tmp_path, held_workers):
    data_uri = _upload(lab, reviews, tmp_path, "bias/unbalanced")
    assert data_uri == f"s3://{lab.bucket}/bias/unbalanced/reviews.csv"
    processor, output = _run_clarify(lab, data_uri, "unbalanced", reviews.columns.to_list())
    job_name = processor.latest_job.job_name
    assert job_name.startswith("Clarify-Pretraining-Bias-")

    running = ProcessingJob.from_processing_name(
        processing_job_name=job_name, sagemaker_session=lab.session
    )
    described = running.describe()
    # run_pre_training_bias(wait=False) returned with the job still running
    assert described["ProcessingJobStatus"] == "InProgress"
    assert "ProcessingEndTime" not in described and "FailureReason" not in described
    assert described["ProcessingJobArn"].endswith(f":processing-job/{job_name.lower()}")
    assert "sagemaker-clarify-processing" in described["AppSpecification"]["ImageUri"]
    assert described["RoleArn"] == lab.role
    assert described["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}  # fmt: skip
    inputs = {i["InputName"]: i["S3Input"] for i in described["ProcessingInputs"]}
    assert inputs["dataset"]["S3Uri"] == data_uri
    assert inputs["dataset"]["LocalPath"] == DATA_INPUT
    assert inputs["analysis_config"] == {
        "S3Uri": f"{output}/analysis_config.json", "LocalPath": CONFIG_INPUT,
        "S3DataType": "S3Prefix", "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}  # fmt: skip
    (result,) = described["ProcessingOutputConfig"]["Outputs"]
    assert result["OutputName"] == "analysis_result"
    assert result["S3Output"] == {"S3Uri": output, "LocalPath": OUTPUT, "S3UploadMode": "EndOfJob"}

    held_workers()
    running.wait(logs=False)
    done = running.describe()
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    assert done["CreationTime"] <= done["ProcessingStartTime"] <= done["ProcessingEndTime"]

    # the output prefix, listed with the S3 client, holds what Clarify writes (no report.pdf)
    assert _keys(lab, output) == ["analysis.json", "analysis_config.json", "report.html",
                                  "report.ipynb"]  # fmt: skip
    assert json.loads(_read(lab, f"{output}/analysis_config.json")) == (
        processor._last_analysis_config  # what the SDK generated and uploaded
    )
    analysis = json.loads(_read(lab, f"{output}/analysis.json"))
    section = analysis["pre_training_bias_metrics"]
    assert analysis["version"] == "1.0"
    assert section["label"] == "sentiment" and section["label_value_or_threshold"] == "1"
    facets = section["facets"]["product_category"]
    assert sorted(e["value_or_threshold"] for e in facets) == sorted(
        reviews["product_category"].unique()
    )
    for entry in facets:
        assert [m["name"] for m in entry["metrics"]] == sorted(METHODS)

    # the seven metrics per facet value: smclarify's on the same data, and what utils.bias
    # computed in-process before the job existed
    frame = lab.wr.s3.read_csv(data_uri)
    assert facets == _smclarify_direct(frame)
    in_process = bias.pre_training_bias_report(frame)
    assert json.loads(local_clarify.to_json(in_process)) == analysis

    # the report: a valid notebook with the data, the facet, each metric per value; its HTML
    notebook = nbformat.reads(_read(lab, f"{output}/report.ipynb").decode(), as_version=4)
    nbformat.validate(notebook)
    text = "\n".join(cell.source for cell in notebook.cells)
    assert data_uri in text and f"{len(frame):,} rows" in text and "`product_category`" in text
    for entry in facets:
        value = entry["value_or_threshold"]
        inside = frame["product_category"] == value
        share = (frame.loc[inside, "sentiment"] == 1).mean()
        row = [value, str(int(inside.sum())), f"{share:.1%}"]
        row += [f"{m['value']:.4f}" for m in entry["metrics"]]
        assert "| " + " | ".join(row) + " |" in text
        assert f"### `product_category` = `{value}`" in text
        for metric in entry["metrics"]:
            assert f"| {metric['name']} | {metric['description']} | {metric['value']:.4f} |" in text
    html = _read(lab, f"{output}/report.html").decode()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "Analysis Report" in html
    assert all(e["value_or_threshold"] in html for e in facets)


def test_balanced_run_waits_and_shows_the_logs(lab, reviews, tmp_path, capsys):
    balanced = bias.balance(reviews, by=["sentiment"], seed=42)
    data_uri = _upload(lab, balanced, tmp_path, "bias/balanced", "balanced.csv")
    processor, output = _run_clarify(lab, data_uri, "balanced", balanced.columns.to_list(),
                                     wait=True, logs=True)  # fmt: skip
    printed = capsys.readouterr().out
    name = processor.latest_job.job_name
    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"

    # the job's log, through the logs client, is what wait(logs=True) printed
    logs = lab.client("logs")
    group = "/aws/sagemaker/ProcessingJobs"
    (stream,) = logs.describe_log_streams(logGroupName=group,
                                          logStreamNamePrefix=f"{name}/")["logStreams"]  # fmt: skip
    events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                 startFromHead=True)["events"]  # fmt: skip
    messages = [e["message"] for e in events]
    assert any("Computing pre-training bias" in m for m in messages)
    assert any("report.pdf is not written" in m for m in messages)
    assert all(m in printed for m in messages)

    analysis = json.loads(_read(lab, f"{output}/analysis.json"))
    facets = analysis["pre_training_bias_metrics"]["facets"]["product_category"]
    assert facets == _smclarify_direct(lab.wr.s3.read_csv(data_uri))
    assert "report.html" in _keys(lab, output)


# -- jobs that fail, as Clarify's do -----------------------------------------------------------
def _failed(lab, name: str) -> dict:
    with pytest.raises(UnexpectedStatusException, match="Failed"):
        lab.session.wait_for_processing_job(name, poll=1)
    described = lab.client("sagemaker").describe_processing_job(ProcessingJobName=name)
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["ProcessingEndTime"] >= described["ProcessingStartTime"]
    return described


def test_a_dataset_uri_without_objects_fails_naming_the_input_and_uri(lab, reviews):
    empty = f"s3://{lab.session.default_bucket()}/bias/nothing-here/"
    processor, output = _run_clarify(lab, empty, "nothing", reviews.columns.to_list())
    described = _failed(lab, processor.latest_job.job_name)
    assert "'dataset'" in described["FailureReason"] and empty in described["FailureReason"]
    assert _keys(lab, output) == ["analysis_config.json"]  # only what the SDK uploaded


def test_a_missing_label_column_fails_naming_it(lab, reviews, tmp_path):
    data_uri = _upload(lab, reviews, tmp_path, "bias/unbalanced")
    processor, output = _run_clarify(lab, data_uri, "stars", reviews.columns.to_list(),
                                     label="stars")  # fmt: skip
    reason = _failed(lab, processor.latest_job.job_name)["FailureReason"]
    assert reason.startswith("ClientError: ")
    assert "label column 'stars' does not exist" in reason and data_uri in reason
    assert "analysis.json" not in _keys(lab, output)


def test_an_unreadable_dataset_fails_naming_the_file(lab, reviews):
    bucket = lab.session.default_bucket()
    lab.client("s3").put_object(Bucket=bucket, Key="bias/broken/reviews.csv",
                                Body=b"\xff\xfe\x00\x81 not text\n\x00\x9f")  # fmt: skip
    processor, _ = _run_clarify(lab, f"s3://{bucket}/bias/broken/", "broken",
                                reviews.columns.to_list())  # fmt: skip
    reason = _failed(lab, processor.latest_job.job_name)["FailureReason"]
    assert f"s3://{bucket}/bias/broken/reviews.csv" in reason and "text/csv" in reason


def test_what_the_local_clarify_does_not_run_fails_naming_it(lab, reviews, tmp_path):
    data_uri = _upload(lab, reviews, tmp_path, "bias/unbalanced")
    processor = clarify.SageMakerClarifyProcessor(role=lab.role, instance_count=1,
                                                  instance_type="ml.m5.large",
                                                  sagemaker_session=lab.session)  # fmt: skip
    processor.run_post_training_bias(
        data_config=clarify.DataConfig(
            s3_data_input_path=data_uri, s3_output_path=lab.s3_uri("bias/post"),
            label="sentiment", headers=reviews.columns.to_list(), dataset_type="text/csv"),
        data_bias_config=clarify.BiasConfig(label_values_or_threshold=[1],
                                            facet_name="product_category"),
        model_config=clarify.ModelConfig(model_name="sentiment-model", instance_count=1,
                                         instance_type="ml.m5.large", accept_type="text/csv"),
        model_predicted_label_config=clarify.ModelPredictedLabelConfig(),
        wait=False, logs=False,
    )  # fmt: skip
    reason = _failed(lab, processor.latest_job.job_name)["FailureReason"]
    assert "post_training_bias" in reason and "BACKEND='aws'" in reason


@pytest.mark.parametrize(
    "change, message",
    [
        ({"methods": {"shap": {}, "pre_training_bias": {"methods": "all"}}}, "methods.shap"),
        ({"methods": {"pdp": {}, "pre_training_bias": {"methods": "all"}}}, "methods.pdp"),
        ({"predictor": {"model_name": "m"}}, "predictor: .*model endpoint"),
        ({"dataset_type": "application/jsonlines"}, "dataset_type 'application/jsonlines'"),
        ({"methods": {"pre_training_bias": {"methods": ["CI", "DI"]}}}, r"\['DI'\]"),
        ({"facet": []}, "facet"),
        ({"label_values_or_threshold": []}, "label_values_or_threshold"),
        ({"colour": "blue"}, r"\['colour'\]: not keys"),
    ],
    ids=["shap", "pdp", "endpoint", "jsonlines", "unknown-method", "no-facet", "no-label-values",
         "unknown-key"],
)  # fmt: skip
def test_analysis_configs_the_local_clarify_refuses(change, message):
    config = {"dataset_type": "text/csv", "headers": ["sentiment", "product_category"],
              "label": "sentiment", "label_values_or_threshold": [1],
              "facet": [{"name_or_index": "product_category"}],
              "methods": {"report": {"name": "report", "title": "Analysis Report"},
                          "pre_training_bias": {"methods": METHODS}}}  # fmt: skip
    local_clarify.parse_config(config)  # the base config is fine
    with pytest.raises(local_clarify.ClarifyError, match=message):
        local_clarify.parse_config({**config, **change})


def test_the_dataset_with_or_without_its_header_row(tmp_path, reviews):
    head = reviews.head(200)
    (tmp_path / "a.csv").write_text(head.iloc[:120].to_csv(index=False))  # a header row
    (tmp_path / "b.csv").write_text(head.iloc[120:].to_csv(index=False, header=False))  # none
    config = {"dataset_type": "text/csv", "headers": list(head.columns), "label": "sentiment",
              "label_values_or_threshold": [1], "facet": [{"name_or_index": 2}],
              "methods": {"pre_training_bias": {"methods": "all"}}}  # fmt: skip
    job = local_clarify.parse_config(config)
    df = local_clarify.read_dataset(local_clarify.dataset_files(tmp_path), job)
    pd.testing.assert_frame_equal(df, head.reset_index(drop=True))
    assert job.column(2, "facet") == "product_category"
    with pytest.raises(
        local_clarify.ClarifyError, match="has 3 columns, the config's headers name 2"
    ):
        local_clarify.read_dataset([tmp_path / "a.csv"], local_clarify.parse_config(
            {**config, "headers": ["sentiment", "product_category"]}))  # fmt: skip
    # "all" computes every pre-training metric; CDDL without a group variable says why not
    analysis = local_clarify.pre_training_report(df, [("product_category", None)], "sentiment",
                                                 [1], "all")  # fmt: skip
    entry = analysis["pre_training_bias_metrics"]["facets"]["product_category"][0]
    assert [m["name"] for m in entry["metrics"]] == list(local_clarify.PRE_TRAINING_METHODS)
    assert entry["metrics"][0]["error"]  # CDDL


# -- refused requests leave nothing behind; unknown jobs; stopping --------------------------------
def _clarify_image(region: str = "us-east-1") -> str:
    return sagemaker.image_uris.retrieve("clarify", region)


def _request(name: str, role: str, image: str | None = None, **change) -> dict:
    request = {
        "ProcessingJobName": name,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1,
                                                  "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": image or _clarify_image()},
        "RoleArn": role,
        "ProcessingInputs": [{"InputName": "dataset", "S3Input": {
            "S3Uri": f"s3://{BUCKET}/bias/unbalanced/", "LocalPath": DATA_INPUT,
            "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "analysis_result", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/bias/out", "LocalPath": OUTPUT,
            "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Environment": {"LAB_WEEK": "2"},
    }  # fmt: skip
    request.update(change)
    return request


def _nothing_left(lab) -> None:
    assert lab.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"] == []
    folder = lab.home / "sagemaker" / "processing-jobs"
    assert not folder.exists() or not any(folder.iterdir())


def test_an_image_that_cannot_process_is_refused_naming_it(lab):
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-preprocessing:latest"
    processor = sagemaker.processing.Processor(role=lab.role, image_uri=image, instance_count=1,
                                               instance_type="ml.m5.large",
                                               sagemaker_session=lab.session)  # fmt: skip
    with pytest.raises(ClientError) as refused:
        processor.run(wait=False, logs=False)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert image in str(refused.value) and "sagemaker-clarify-processing" in str(refused.value)
    _nothing_left(lab)


def _input(**change) -> list[dict]:
    source = {"S3Uri": f"s3://{BUCKET}/d/", "LocalPath": DATA_INPUT, "S3DataType": "S3Prefix"}
    return [{"InputName": "dataset", "S3Input": {**source, **change}}]


@pytest.mark.parametrize(
    "change, error",
    [
        ({"ProcessingInputs": _input(S3InputMode="Pipe")}, "S3InputMode='Pipe'"),
        ({"ProcessingInputs": _input(S3DataType="ManifestFile")}, "ManifestFile"),
        ({"ProcessingInputs": _input(LocalPath="/data")}, "ValidationException.*/opt/ml/processing/"),
        ({"ProcessingInputs": _input(S3CompressionType="Gzip")}, "ValidationException.*Gzip"),
        ({"ProcessingInputs": _input() + _input()}, "ValidationException.*unique"),
        ({"ProcessingInputs": _input(S3Uri="s3:/no-bucket")}, "ValidationException.*S3Uri"),
        ({"ProcessingResources": {"ClusterConfig": {"InstanceCount": 2,
          "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}}}, "InstanceCount=2"),
        ({"ProcessingResources": {"ClusterConfig": {"InstanceCount": 1,
          "InstanceType": "ml.m5.huge", "VolumeSizeInGB": 30}}}, "ValidationException.*ml.m5.huge"),
        ({"AppSpecification": {"ImageUri": _clarify_image(),
                               "ContainerEntrypoint": ["python3"]}}, "ContainerEntrypoint"),
        ({"RoleArn": "arn:aws:iam::000000000000:user/someone"}, "ValidationException.*RoleArn"),
        ({"StoppingCondition": {"MaxRuntimeInSeconds": 10**6}}, "ValidationException.*777600"),
        ({"ProcessingJobName": "bad_name"}, "ValidationException.*bad_name"),
    ],
    ids=["pipe", "manifest", "local-path", "gzip", "duplicate-input", "s3-uri", "two-instances",
         "instance-type", "entrypoint", "role", "runtime", "job-name"],
)  # fmt: skip
def test_refused_requests_leave_nothing_behind(lab, change, error):
    sm = lab.client("sagemaker")
    with pytest.raises((ClientError, NotImplementedError), match=error):
        sm.create_processing_job(**_request("refused-job", lab.role, **change))
    _nothing_left(lab)


def test_a_duplicate_job_name_is_resource_in_use(lab, reviews, tmp_path):
    data_uri = _upload(lab, reviews.head(300), tmp_path, "bias/unbalanced")
    headers = reviews.columns.to_list()
    _run_clarify(lab, data_uri, "first", headers, job_name="clarify-twice")
    with pytest.raises(ClientError) as again:
        _run_clarify(lab, data_uri, "second", headers, job_name="clarify-twice")
    assert again.value.response["Error"]["Code"] == "ResourceInUse"
    assert "clarify-twice" in str(again.value)
    described = lab.session.wait_for_processing_job("clarify-twice", poll=1)
    first = described["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert first.endswith("/first")  # the first job is untouched


def test_unknown_jobs_get_aws_answers(lab):
    sm = lab.client("sagemaker")
    for call in (lambda: ProcessingJob.from_processing_name(
                     processing_job_name="no-such-job", sagemaker_session=lab.session),
                 lambda: sm.stop_processing_job(ProcessingJobName="no-such-job"),
                 lambda: sm.list_tags(ResourceArn=f"arn:aws:sagemaker:{lab.region}:"
                                      f"{lab.account}:processing-job/no-such-job")):  # fmt: skip
        with pytest.raises(ClientError) as unknown:
            call()
        assert unknown.value.response["Error"]["Code"] == "ValidationException"
        assert "no-such-job" in str(unknown.value)


def test_stop_processing_job(lab, reviews, tmp_path, held_workers):
    data_uri = _upload(lab, reviews.head(300), tmp_path, "bias/unbalanced")
    processor, output = _run_clarify(lab, data_uri, "stopped", reviews.columns.to_list())
    name = processor.latest_job.job_name
    sm = lab.client("sagemaker")
    sm.stop_processing_job(ProcessingJobName=name)
    assert sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "Stopping"
    held_workers()
    described = lab.session.wait_for_processing_job(name, poll=1)  # Stopped: a warning, no error
    assert described["ProcessingJobStatus"] == "Stopped"
    assert "FailureReason" not in described
    with pytest.raises(ClientError) as again:
        processor.latest_job.stop()
    assert again.value.response["Error"]["Code"] == "ValidationException"
    assert "Stopped" in str(again.value)
    assert "analysis.json" not in _keys(lab, output)


def test_list_processing_jobs_filters_sorts_and_pages_as_aws(lab):
    sm = lab.client("sagemaker")
    names = ["job-b", "job-c", "job-a"]  # created in this order; the data is absent: all fail
    for name in names:
        sm.create_processing_job(**_request(name, lab.role))
    for name in names:
        with pytest.raises(UnexpectedStatusException):
            lab.session.wait_for_processing_job(name, poll=1)

    def listed(**kwargs) -> list[str]:
        return [s["ProcessingJobName"] for s in sm.list_processing_jobs(**kwargs)[
            "ProcessingJobSummaries"]]  # fmt: skip

    assert listed() == names  # CreationTime, Ascending: AWS's documented defaults
    assert listed(SortBy="Name", SortOrder="Descending") == ["job-c", "job-b", "job-a"]
    assert sorted(listed(SortBy="Status")) == sorted(names)  # one status for all
    assert listed(StatusEquals="Failed") == names and listed(StatusEquals="Completed") == []
    assert listed(NameContains="JOB-A") == ["job-a"]
    first = sm.describe_processing_job(ProcessingJobName="job-b")
    assert listed(CreationTimeAfter=first["CreationTime"]) == ["job-c", "job-a"]
    assert listed(CreationTimeBefore=first["CreationTime"]) == []
    summary = sm.list_processing_jobs(NameContains="job-a")["ProcessingJobSummaries"][0]
    assert "'dataset'" in summary["FailureReason"] and summary["ProcessingEndTime"]
    page = sm.list_processing_jobs(MaxResults=2)
    assert len(page["ProcessingJobSummaries"]) == 2 and page["NextToken"]
    rest = sm.list_processing_jobs(MaxResults=2, NextToken=page["NextToken"])
    assert [s["ProcessingJobName"] for s in rest["ProcessingJobSummaries"]] == ["job-a"]
    assert "NextToken" not in rest
    for bad in ({"MaxResults": 101}, {"NextToken": "not-a-token"}, {"SortBy": "Size"}):
        with pytest.raises(ClientError) as refused:
            sm.list_processing_jobs(**bad)
        assert refused.value.response["Error"]["Code"] == "ValidationException"


# -- conformance with moto: the same body on both -----------------------------------------------
@pytest.fixture(params=["local", "moto"])
def sagemaker_api(request, tmp_path):
    """(sagemaker client, role ARN) on the local backend or on moto."""
    if request.param == "local":
        lab = utils.connect("local", home=tmp_path / "lake")
        yield lab.client("sagemaker"), lab.role
        return
    from moto import mock_aws

    with mock_aws():
        yield boto3.Session(region_name="us-east-1").client("sagemaker"), MOTO_ROLE


def test_processing_job_calls_conform_to_moto(sagemaker_api):
    sm, role = sagemaker_api
    names = ["conform-b", "conform-a", "conform-c"]
    tags = [{"Key": "course", "Value": "week-2"}]
    arns = [sm.create_processing_job(**_request(n, role, Tags=tags))["ProcessingJobArn"]
            for n in names]  # fmt: skip
    for name, arn in zip(names, arns, strict=True):
        assert re.fullmatch(rf"arn:aws:sagemaker:us-east-1:\d{{12}}:processing-job/{name}", arn)

    request = _request("conform-b", role)
    described = sm.describe_processing_job(ProcessingJobName="conform-b")
    assert described["ProcessingJobName"] == "conform-b"
    assert described["ProcessingJobArn"] == arns[0]
    assert described["ProcessingJobStatus"] in STATUSES
    assert described["RoleArn"] == role
    assert described["AppSpecification"] == request["AppSpecification"]
    assert described["StoppingCondition"] == request["StoppingCondition"]
    (given,) = request["ProcessingInputs"]
    (answered,) = described["ProcessingInputs"]
    assert answered["InputName"] == "dataset"
    assert answered["S3Input"].items() >= given["S3Input"].items()
    assert described["ProcessingOutputConfig"] == request["ProcessingOutputConfig"] or (
        described["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
        == request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
    )
    assert described["CreationTime"].tzinfo is not None

    summaries = sm.list_processing_jobs()["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in summaries] == names  # in creation order
    for summary in summaries:
        assert {"ProcessingJobName", "ProcessingJobArn", "CreationTime",
                "ProcessingJobStatus"} <= set(summary)  # fmt: skip
    assert [s["ProcessingJobName"] for s in sm.list_processing_jobs(
        NameContains="conform-a")["ProcessingJobSummaries"]] == ["conform-a"]  # fmt: skip
    page = sm.list_processing_jobs(MaxResults=2)
    assert len(page["ProcessingJobSummaries"]) == 2 and page.get("NextToken")
    paged = sm.get_paginator("list_processing_jobs").paginate(PaginationConfig={"PageSize": 2})
    assert [s["ProcessingJobName"] for p in paged for s in p["ProcessingJobSummaries"]] == names
    assert sm.list_tags(ResourceArn=arns[1])["Tags"] == tags

    for call in (sm.describe_processing_job, sm.stop_processing_job):
        with pytest.raises(ClientError) as unknown:
            call(ProcessingJobName="conform-none")
        assert unknown.value.response["Error"]["Code"] == "ValidationException"
