"""Training jobs on the local SageMaker, driven by the sagemaker SDK's own Estimator (the W4 lab).

The course's calls run unchanged on ``lab.session``: ``image_uris.retrieve``, ``Estimator``,
``set_hyperparameters``, ``sess.upload_data``, ``TrainingInput``, ``fit(wait=False)``,
``latest_training_job.wait``, ``logs()``, ``training_job_analytics.dataframe()`` and
``model_data``. BlazingText (fastText) trains for real on a few hundred synthetic reviews; one
trained job is shared by the module. Bad input gets AWS's answers; create / describe / list run
the same test body on moto.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

import utils
from utils import blazingtext as bt
from utils.local import blazingtext as engine
from utils.local.sagemaker.jobs import TRAINING, JobRecords

ROOT = utils.config.project_root()
COURSE = {"mode": "supervised", "epochs": 10, "learning_rate": 0.01, "min_count": 2,
          "vector_dim": 300, "word_ngrams": 3}  # fmt: skip
SMALL = {"buckets": 5000}  # BlazingText's 2,000,000 hash buckets x 300 would be 2.4 GB
TUNED = {**COURSE, **SMALL, "learning_rate": 0.5, "min_count": 1, "vector_dim": 10}
ENDED = ("Completed", "Failed", "Stopped")
MOTO_ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def _ended(sm, name: str, limit: float = 300) -> dict:
    """DescribeTrainingJob once the job has ended (a guard against a hung job, not a timing)."""
    deadline = time.monotonic() + limit
    while True:
        desc = sm.describe_training_job(TrainingJobName=name)
        if desc["TrainingJobStatus"] in ENDED:
            return desc
        assert time.monotonic() < deadline, f"{name} is still {desc['TrainingJobStatus']}"
        time.sleep(0.2)


def _jobs_folder(lab):
    return lab.home / "sagemaker" / "training-jobs"


# -- the lab's data, as the course prepares and uploads it ------------------------------------------
@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A local lab with the course's two channel files uploaded by ``sess.upload_data``."""
    from utils import bias, datasets

    folder = tmp_path_factory.mktemp("training")
    lab = utils.connect("local", home=folder / "lake")
    reviews = bias.balance(datasets.transform(datasets.generate_synthetic(1500, seed=5)).df,
                           by=["sentiment"], seed=5)  # fmt: skip
    train, validation = bt.split_data(bt.prepare_data(reviews), 0.1, seed=1)
    sess = lab.session
    bucket = sess.default_bucket()
    uris = {}
    for name, frame in (("train", train), ("validation", validation)):
        path = folder / f"{name}.txt"
        path.write_text(bt.channel_lines(frame), encoding="utf-8")
        uris[name] = sess.upload_data(path=str(path), bucket=bucket,
                                      key_prefix=f"blazingtext/data/{name}")  # fmt: skip
    return {"lab": lab, "sess": sess, "channels": uris, "train": train, "validation": validation}


def _estimator(lab, **kwargs):
    import sagemaker

    image_uri = sagemaker.image_uris.retrieve(framework="blazingtext", region=lab.region)
    return sagemaker.estimator.Estimator(image_uri, role=lab.role, instance_count=1,
                                         instance_type="ml.m5.large", volume_size=30,
                                         max_run=7200, sagemaker_session=lab.session, **kwargs)  # fmt: skip


def _inputs(channels):
    from sagemaker.inputs import TrainingInput

    return {name: TrainingInput(uri, distribution="FullyReplicated", content_type="text/plain",
                                s3_data_type="S3Prefix") for name, uri in channels.items()}  # fmt: skip


@pytest.fixture(scope="module")
def trained(lake):
    """The course's W4 flow; ``fit(wait=False)`` returns while the job runs."""
    estimator = _estimator(lake["lab"], tags=[{"Key": "lab", "Value": "W4"}])
    estimator.set_hyperparameters(**COURSE, **SMALL)
    estimator.fit(inputs=_inputs(lake["channels"]), wait=False)
    name = estimator.latest_training_job.name
    at_return = lake["lab"].client("sagemaker").describe_training_job(TrainingJobName=name)
    estimator.latest_training_job.wait(logs=False)
    return {"estimator": estimator, "name": name, "at_return": at_return}


# -- the course's flow -----------------------------------------------------------------------------
def test_fit_returns_at_once_and_the_job_completes(trained, lake):
    at_return = trained["at_return"]
    assert at_return["TrainingJobStatus"] == "InProgress"  # fit(wait=False) did not wait
    assert "TrainingEndTime" not in at_return
    sm = lake["lab"].client("sagemaker")
    desc = sm.describe_training_job(TrainingJobName=trained["name"])
    assert desc["TrainingJobStatus"] == "Completed" and desc["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in desc["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]  # fmt: skip
    assert desc["TrainingStartTime"] <= desc["TrainingEndTime"]
    assert desc["TrainingTimeInSeconds"] >= 1 and desc["BillableTimeInSeconds"] >= 1
    assert desc["HyperParameters"] == {k: str(v) for k, v in {**COURSE, **SMALL}.items()}
    spec = desc["AlgorithmSpecification"]
    assert spec["TrainingImage"].endswith("/blazingtext:1") and spec["TrainingInputMode"] == "File"
    assert [m["Name"] for m in spec["MetricDefinitions"]] == ["train:accuracy",
                                                              "validation:accuracy"]  # fmt: skip
    assert [c["ChannelName"] for c in desc["InputDataConfig"]] == ["train", "validation"]
    assert {c["ContentType"] for c in desc["InputDataConfig"]} == {"text/plain"}
    assert trained["estimator"].model_data == desc["ModelArtifacts"]["S3ModelArtifacts"]
    assert desc["ResourceConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                      "VolumeSizeInGB": 30}  # fmt: skip
    assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert desc["RoleArn"] == lake["lab"].role
    name = trained["name"]
    assert desc["TrainingJobArn"] == (f"arn:aws:sagemaker:{lake['lab'].region}:"
                                      f"{lake['lab'].account}:training-job/{name.lower()}")  # fmt: skip
    tags = sm.list_tags(ResourceArn=desc["TrainingJobArn"])["Tags"]
    assert {"Key": "lab", "Value": "W4"} in tags


def test_logs_print_what_blazingtext_logs(trained, lake, capsys):
    trained["estimator"].logs()
    out = capsys.readouterr().out
    desc = lake["lab"].client("sagemaker").describe_training_job(TrainingJobName=trained["name"])
    metrics = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert "Running single machine CPU BlazingText training using supervised mode" in out
    assert "Processing /opt/ml/input/data/train/train.txt" in out
    assert f"#train_accuracy: {metrics['train:accuracy']}" in out
    assert f"#validation_accuracy: {metrics['validation:accuracy']}" in out
    assert f"Number of train examples: {len(lake['train'])}" in out
    assert f"Number of validation examples: {len(lake['validation'])}" in out
    assert "Training seconds:" in out  # the SDK's summary after the log


def test_training_job_analytics_reads_the_real_metrics(trained, lake):
    frame = trained["estimator"].training_job_analytics.dataframe()
    assert list(frame.columns) == ["timestamp", "metric_name", "value"]
    assert sorted(frame["metric_name"]) == ["train:accuracy", "validation:accuracy"]
    desc = lake["lab"].client("sagemaker").describe_training_job(TrainingJobName=trained["name"])
    final = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert dict(zip(frame["metric_name"], frame["value"], strict=True)) == pytest.approx(final)
    assert all(0 < v <= 1 for v in final.values())


def test_the_model_in_the_lake_serves_what_the_job_reported(trained, lake, tmp_path):
    lab = lake["lab"]
    estimator = trained["estimator"]
    uri = estimator.model_data
    output = f"s3://{lab.session.default_bucket()}/{trained['name']}/output/model.tar.gz"
    assert uri == output
    with tarfile.open(lab.local_path(uri)) as tar:
        assert tar.getnames() == ["model.bin"]
        tar.extractall(tmp_path / "model", filter="data")
    model = engine.load_model(tmp_path / "model")
    assert model.classes_ == ["__label__-1", "__label__0", "__label__1"]
    validation = lake["validation"]
    predicted = model.predict(validation["review_body"].tolist())
    accuracy = (pd.Series(predicted) == validation["sentiment"].to_numpy()).mean()
    final = {m["MetricName"]: m["Value"] for m in lab.client("sagemaker").describe_training_job(
        TrainingJobName=trained["name"])["FinalMetricDataList"]}  # fmt: skip
    assert accuracy == pytest.approx(final["validation:accuracy"])
    # the endpoint server's hook answers in BlazingText's format
    tokenized = [bt.tokenize(r) for r in bt.SAMPLE_REVIEWS]
    body, content_type = model.invocations(json.dumps({"instances": tokenized}).encode(),
                                           "application/json", "application/json")  # fmt: skip
    assert content_type == "application/json"
    answer = json.loads(body)
    proba = model.predict_proba(tokenized)
    for item, row in zip(answer, proba, strict=True):  # the most likely label (ties: either)
        assert len(item["label"]) == len(item["prob"]) == 1
        assert row[model.classes_.index(item["label"][0])] == pytest.approx(row.max(), abs=1e-5)
        assert item["prob"][0] == pytest.approx(row.max(), abs=1e-5)
    with pytest.raises(FileNotFoundError, match="no model.bin"):
        engine.load_model((tmp_path / "empty").mkdir() or tmp_path / "empty")


def test_another_process_sees_the_same_job(trained, lake):
    code = (
        "import json, sys, utils\n"
        "lab = utils.connect('local', home=sys.argv[1])\n"
        "d = lab.client('sagemaker').describe_training_job(TrainingJobName=sys.argv[2])\n"
        "print(json.dumps({'status': d['TrainingJobStatus'], 'model': "
        "d['ModelArtifacts']['S3ModelArtifacts'], 'metrics': d['FinalMetricDataList']}, "
        "default=str))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(lake["lab"].home), trained["name"]],
                          capture_output=True, text=True, cwd=ROOT, check=True)  # fmt: skip
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    fresh = utils.connect("local", home=lake["lab"].home)  # and a fresh Lab in this process
    desc = fresh.client("sagemaker").describe_training_job(TrainingJobName=trained["name"])
    assert seen["status"] == desc["TrainingJobStatus"] == "Completed"
    assert seen["model"] == trained["estimator"].model_data
    assert [m["Value"] for m in seen["metrics"]] == [
        m["Value"] for m in desc["FinalMetricDataList"]
    ]


def test_a_seeded_job_trains_the_same_model_again(trained, lake):
    again = _estimator(lake["lab"])
    again.set_hyperparameters(**COURSE, **SMALL)
    again.fit(inputs=_inputs(lake["channels"]), wait=False)
    sm = lake["lab"].client("sagemaker")
    first = sm.describe_training_job(TrainingJobName=trained["name"])["FinalMetricDataList"]
    second = _ended(sm, again.latest_training_job.name)["FinalMetricDataList"]
    assert [m["Value"] for m in second] == [m["Value"] for m in first]


# -- the course's deploy, predict and delete ---------------------------------------------------
def test_deploy_predicts_in_blazingtexts_format_and_deletes(trained, lake, tmp_path):
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import JSONSerializer

    lab = lake["lab"]
    sm = lab.client("sagemaker")
    estimator = trained["estimator"]
    text_classifier = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                                       serializer=JSONSerializer(),
                                       deserializer=JSONDeserializer())  # fmt: skip
    name = text_classifier.endpoint_name
    try:
        assert type(text_classifier) is Predictor  # the SDK's own: no client-side conversion
        assert name.startswith("blazingtext-")
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        model_name = sm.describe_endpoint_config(EndpointConfigName=name)[
            "ProductionVariants"][0]["ModelName"]  # fmt: skip
        primary = sm.describe_model(ModelName=model_name)["PrimaryContainer"]
        assert primary["ModelDataUrl"] == estimator.model_data
        assert primary["Image"] == estimator.image_uri
        with tarfile.open(lab.local_path(estimator.model_data)) as tar:
            tar.extractall(tmp_path / "model", filter="data")
        local = engine.load_model(tmp_path / "model")  # the same model.bin, in-process
        tokenized = [bt.tokenize(r) for r in bt.SAMPLE_REVIEWS]

        # the raw response, as boto3's invoke_endpoint returns it: BlazingText's JSON
        runtime = lab.client("sagemaker-runtime")
        response = runtime.invoke_endpoint(
            EndpointName=name, ContentType="application/json", Accept="application/json",
            Body=json.dumps({"instances": tokenized}),
        )  # fmt: skip
        assert response["ContentType"] == "application/json"
        raw = json.loads(response["Body"].read())
        assert isinstance(raw, list) and len(raw) == 3
        for item in raw:
            assert set(item) == {"label", "prob"} and len(item["label"]) == len(item["prob"]) == 1
            assert item["label"][0] in ("__label__-1", "__label__0", "__label__1")
            assert 0 < item["prob"][0] <= 1
        proba = local.predict_proba(tokenized)  # the course's model is unsure: ties are either
        for item, row in zip(raw, proba, strict=True):
            assert row[local.classes_.index(item["label"][0])] == pytest.approx(row.max(), abs=1e-5)

        # the SDK's Predictor deserializes the same answer; top k, most likely first
        assert text_classifier.predict(data={"instances": tokenized}) == raw
        top = text_classifier.predict({"instances": tokenized[:2], "configuration": {"k": 3}})
        assert len(top) == 2
        assert sorted(top[0]["label"]) == ["__label__-1", "__label__0", "__label__1"]
        assert top[0]["prob"] == sorted(top[0]["prob"], reverse=True)
        assert sum(top[0]["prob"]) == pytest.approx(1.0, abs=1e-3)
        assert top[0]["label"][0] == raw[0]["label"][0]

        # bad requests: the endpoint's 400 / 415 as a ModelError, and it keeps serving
        for body, content_type, status, says in [
            (b'{"instances": ["a"', "application/json", 400, "not valid JSON"),
            (b'{"instances": [1, 2]}', "application/json", 400, '"instances" must be a list'),
            (b'{"instances": ["a"], "configuration": {"k": 0}}', "application/json", 400,
             "k is a positive whole number"),
            (b"lovely dress", "text/csv", 415, "application/json or application/jsonlines"),
        ]:  # fmt: skip
            with pytest.raises(ClientError) as err:
                runtime.invoke_endpoint(EndpointName=name, ContentType=content_type, Body=body)
            assert _code(err.value) == "ModelError"
            assert err.value.response["OriginalStatusCode"] == status
            assert says in err.value.response["OriginalMessage"]
        assert text_classifier.predict({"instances": tokenized}) == raw  # still serving

        scored = bt.predict_sentiments(text_classifier, lake["validation"]["review_body"][:40],
                                       batch_size=16, tokenized=True)  # fmt: skip
        assert len(scored) == 40 and set(scored["sentiment"]) <= {-1, 0, 1}
    finally:
        text_classifier.delete_model()  # the model first: the predictor finds it via the endpoint
        text_classifier.delete_endpoint()
    assert sm.list_endpoints(NameContains=name)["Endpoints"] == []
    assert sm.list_endpoint_configs(NameContains=name)["EndpointConfigs"] == []
    assert sm.list_models(NameContains=name)["Models"] == []


# -- bad input gets AWS's answers ------------------------------------------------------------------
def _request(lab, name: str, channels: dict[str, str], **changes) -> dict:
    import sagemaker

    request = {
        "TrainingJobName": name,
        "RoleArn": lab.role,
        "AlgorithmSpecification": {
            "TrainingImage": sagemaker.image_uris.retrieve("blazingtext", lab.region),
            "TrainingInputMode": "File",
        },
        "InputDataConfig": [{"ChannelName": c, "ContentType": "text/plain", "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                             "S3DataDistributionType": "FullyReplicated"}}}
                            for c, uri in channels.items()],
        "OutputDataConfig": {"S3OutputPath": f"s3://{lab.session.default_bucket()}/blazingtext/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {k: str(v) for k, v in TUNED.items()},
    }  # fmt: skip
    request.update(changes)
    return request


def test_an_image_that_cannot_train_is_refused_and_leaves_nothing(lake):
    lab = lake["lab"]
    sm = lab.client("sagemaker")
    xgboost = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    request = _request(lab, "xgboost-job", lake["channels"])
    request["AlgorithmSpecification"]["TrainingImage"] = xgboost
    with pytest.raises(ClientError) as err:
        sm.create_training_job(**request)
    assert _code(err.value) == "ValidationException"
    assert xgboost in str(err.value) and "blazingtext" in str(err.value)
    assert not (_jobs_folder(lab) / "xgboost-job").exists()
    with pytest.raises(ClientError) as missing:
        sm.describe_training_job(TrainingJobName="xgboost-job")
    assert _code(missing.value) == "ValidationException"


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"RoleArn": "arn:aws:iam::123456789012:user/me"}, ClientError, "is not an IAM role ARN"),
        ({"ResourceConfig": {"InstanceType": "m5.large", "InstanceCount": 1}}, ClientError,
         "'m5.large' is not a training instance type"),
        ({"ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2}},
         NotImplementedError, "InstanceCount=2"),
        ({"AlgorithmSpecification": {"TrainingImage": "811284229777.dkr.ecr.us-east-1."
                                     "amazonaws.com/blazingtext:1", "TrainingInputMode": "Pipe"}},
         NotImplementedError, "TrainingInputMode='Pipe'"),
        ({"OutputDataConfig": {"S3OutputPath": "bucket/output"}}, ClientError, "S3OutputPath"),
        ({"StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}},
         ClientError, "managed spot training only"),
        ({"DebugRuleConfigurations": [{"RuleConfigurationName": "r", "RuleEvaluatorImage": "x"}]},
         NotImplementedError, "DebugRuleConfigurations"),
    ],
)  # fmt: skip
def test_a_request_the_local_backend_refuses_leaves_no_record(lake, change, error, says):
    lab = lake["lab"]
    with pytest.raises(error, match=says) as err:
        lab.client("sagemaker").create_training_job(**_request(lab, "refused", lake["channels"],
                                                               **change))  # fmt: skip
    if error is ClientError:
        assert _code(err.value) == "ValidationException"
    assert not (_jobs_folder(lab) / "refused").exists()


def test_an_empty_channel_fails_the_job_naming_the_channel_and_uri(lake):
    lab = lake["lab"]
    sm = lab.client("sagemaker")
    empty = f"s3://{lab.session.default_bucket()}/blazingtext/nothing-here/"
    sm.create_training_job(**_request(lab, "empty-channel", {"train": empty}))
    desc = _ended(sm, "empty-channel")
    assert desc["TrainingJobStatus"] == "Failed" and desc["SecondaryStatus"] == "Failed"
    assert "channel 'train'" in desc["FailureReason"] and empty in desc["FailureReason"]
    assert "TrainingEndTime" in desc


def test_a_bad_hyperparameter_fails_the_job_naming_it(lake):
    from sagemaker.exceptions import UnexpectedStatusException

    estimator = _estimator(lake["lab"])
    estimator.set_hyperparameters(**{**COURSE, **SMALL, "epochs": -5})  # sent as "-5"
    estimator.fit(inputs=_inputs(lake["channels"]), wait=False)
    with pytest.raises(UnexpectedStatusException, match=r"ClientError: epochs='-5': expected a "
                       r"positive whole number"):  # fmt: skip
        estimator.latest_training_job.wait(logs=False)
    sm = lake["lab"].client("sagemaker")
    request = _request(lake["lab"], "unknown-hyperparameter", lake["channels"])
    request["HyperParameters"]["epoch"] = request["HyperParameters"].pop("epochs")
    sm.create_training_job(**request)
    reason = _ended(sm, "unknown-hyperparameter")["FailureReason"]
    assert reason.startswith("ClientError: unknown hyperparameter(s) ['epoch']")
    assert "did you mean 'epochs'?" in reason


def test_word2vec_modes_fail_with_a_clear_reason(lake):
    lab = lake["lab"]
    sm = lab.client("sagemaker")
    sm.create_training_job(**_request(lab, "skipgram", lake["channels"],
                                      HyperParameters={"mode": "skipgram"}))  # fmt: skip
    desc = _ended(sm, "skipgram")
    assert desc["TrainingJobStatus"] == "Failed"
    assert "mode='skipgram' is BlazingText's Word2Vec mode" in desc["FailureReason"]
    assert "supervised" in desc["FailureReason"]


def test_channel_mistakes_fail_the_job_naming_the_channel(lake):
    lab = lake["lab"]
    sm = lab.client("sagemaker")
    channels = lake["channels"]
    bad_lines = f"s3://{lab.session.default_bucket()}/blazingtext/bad/train.txt"
    lab.client("s3").put_object(Bucket=lab.session.default_bucket(), Key="blazingtext/bad/train.txt",
                                Body=b"__label__1 good\nno label here\n")  # fmt: skip
    hyperparameters = {k: str(v) for k, v in TUNED.items()}
    requests = {
        "only-validation": _request(lab, "only-validation", {"validation": channels["validation"]}),
        "extra-channel": _request(lab, "extra-channel", {**channels, "test": channels["train"]}),
        "bad-line": _request(lab, "bad-line", {"train": bad_lines}),
        "early-stopping": _request(lab, "early-stopping", channels,
                                   HyperParameters={**hyperparameters, "early_stopping": "True"}),
    }  # fmt: skip
    for request in requests.values():
        sm.create_training_job(**request)
    # the SDK turns a single input into the channel 'training', which BlazingText does not read
    single = _estimator(lab)
    single.set_hyperparameters(**TUNED)
    single.fit(inputs=channels["train"], wait=False)
    reasons = {name: _ended(sm, name)["FailureReason"] for name in requests}
    reasons["single-input"] = _ended(sm, single.latest_training_job.name)["FailureReason"]
    assert reasons["only-validation"] == (
        "ClientError: the 'train' channel is required: fit({'train': ..., 'validation': ...})")  # fmt: skip
    assert reasons["extra-channel"].startswith("ClientError: channel(s) ['test']: BlazingText")
    assert reasons["single-input"].startswith("ClientError: channel(s) ['training']")
    assert reasons["bad-line"].startswith("ClientError: channel 'train'")
    assert "line 2: a line starts with its label" in reasons["bad-line"]
    assert reasons["early-stopping"].startswith("NotImplementedError: local backend: "
                                                "early_stopping=True")  # fmt: skip


def test_label_sorted_training_data_is_warned_about_in_the_log(lake, tmp_path, capsys):
    lab = lake["lab"]
    sess = lab.session
    path = tmp_path / "sorted.txt"
    path.write_text(bt.channel_lines(lake["train"].sort_values("sentiment")), encoding="utf-8")
    uri = sess.upload_data(path=str(path), bucket=sess.default_bucket(),
                           key_prefix="blazingtext/sorted")  # fmt: skip
    sm = lab.client("sagemaker")
    sm.create_training_job(**_request(lab, "sorted-lines", {"train": uri}))
    assert _ended(sm, "sorted-lines")["TrainingJobStatus"] == "Completed"  # a warning, no failure
    sess.logs_for_job("sorted-lines")
    out = capsys.readouterr().out
    assert "WARNING] channel 'train': the lines are ordered by label" in out
    assert "shuffle the rows before writing the file" in out


def test_a_duplicate_job_name_is_resource_in_use(trained, lake):
    estimator = _estimator(lake["lab"])
    estimator.set_hyperparameters(**COURSE, **SMALL)
    with pytest.raises(ClientError) as err:
        estimator.fit(inputs=_inputs(lake["channels"]), job_name=trained["name"], wait=False)
    assert _code(err.value) == "ResourceInUse"
    assert trained["name"] in str(err.value)
    upper = trained["name"].upper()  # an ARN holds the name lowercased: unique regardless of case
    with pytest.raises(ClientError) as case:
        lake["lab"].client("sagemaker").create_training_job(
            **_request(lake["lab"], upper, lake["channels"])
        )
    assert _code(case.value) == "ResourceInUse"


def test_an_unknown_job_is_a_validation_exception(lake):
    sm = lake["lab"].client("sagemaker")
    for call in (sm.describe_training_job, sm.stop_training_job):
        with pytest.raises(ClientError) as err:
            call(TrainingJobName="no-such-job")
        assert _code(err.value) == "ValidationException"
        assert "no-such-job" in str(err.value)
    with pytest.raises(ClientError) as tags:
        sm.list_tags(ResourceArn=f"arn:aws:sagemaker:{lake['lab'].region}:{lake['lab'].account}:"
                     "training-job/no-such-job")  # fmt: skip
    assert _code(tags.value) == "ValidationException"


def test_stop_training_job_stops_a_running_job(lake):
    import psutil

    lab = lake["lab"]
    sm = lab.client("sagemaker")
    long_run = {**{k: str(v) for k, v in TUNED.items()}, "epochs": "1000000"}
    sm.create_training_job(**_request(lab, "to-stop", lake["channels"], HyperParameters=long_run))
    records = JobRecords(lab.home, TRAINING)
    try:
        deadline = time.monotonic() + 120
        trainers: list = []
        while not trainers:  # until fastText's process trains
            assert time.monotonic() < deadline, "the job never started training"
            desc = sm.describe_training_job(TrainingJobName="to-stop")
            assert desc["TrainingJobStatus"] == "InProgress", desc.get("FailureReason")
            worker = records.read_raw("to-stop").get("Local", {}).get("Worker", {})
            if desc["SecondaryStatus"] == "Training" and worker.get("Pid"):
                trainers = psutil.Process(worker["Pid"]).children()
            time.sleep(0.1)
        with pytest.raises(ClientError) as running:
            sm.delete_training_job(TrainingJobName="to-stop")
        assert _code(running.value) == "ValidationException" and "stop it first" in str(
            running.value
        )
        assert sm.stop_training_job(TrainingJobName="to-stop")["ResponseMetadata"][
            "HTTPStatusCode"] == 200  # fmt: skip
        assert sm.describe_training_job(TrainingJobName="to-stop")["TrainingJobStatus"] in (
            "Stopping", "Stopped")  # fmt: skip
        desc = _ended(sm, "to-stop")
    finally:
        if records.read("to-stop")["TrainingJobStatus"] == "InProgress":
            records.stop("to-stop")
    assert desc["TrainingJobStatus"] == "Stopped" and desc["SecondaryStatus"] == "Stopped"
    assert "FailureReason" not in desc
    psutil.wait_procs(trainers, timeout=30)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in trainers)
    with pytest.raises(ClientError) as again:
        sm.stop_training_job(TrainingJobName="to-stop")
    assert _code(again.value) == "ValidationException"
    sm.delete_training_job(TrainingJobName="to-stop")  # a finished job can be deleted
    assert not (_jobs_folder(lab) / "to-stop").exists()
    with pytest.raises(ClientError) as gone:
        sm.describe_training_job(TrainingJobName="to-stop")
    assert _code(gone.value) == "ValidationException"


def test_a_job_past_max_runtime_is_ended(lake):
    lab = lake["lab"]
    sm = lab.client("sagemaker")
    long_run = {**{k: str(v) for k, v in TUNED.items()}, "epochs": "1000000"}
    sm.create_training_job(**_request(lab, "too-long", lake["channels"], HyperParameters=long_run,
                                      StoppingCondition={"MaxRuntimeInSeconds": 1}))  # fmt: skip
    desc = _ended(sm, "too-long")
    assert desc["TrainingJobStatus"] == "Failed"
    assert "MaxRuntimeInSeconds=1" in desc["FailureReason"]


def test_list_training_jobs_filters_sorts_and_pages(trained, lake):
    sm = lake["lab"].client("sagemaker")
    everything = [s for page in sm.get_paginator("list_training_jobs").paginate(
        PaginationConfig={"PageSize": 2}) for s in page["TrainingJobSummaries"]]  # fmt: skip
    names = [s["TrainingJobName"] for s in everything]
    assert trained["name"] in names and len(names) == len(set(names))
    created = [s["CreationTime"] for s in everything]
    assert created == sorted(created)  # CreationTime, Ascending: AWS's default
    newest = sm.list_training_jobs(SortBy="CreationTime", SortOrder="Descending", MaxResults=1)
    assert newest["TrainingJobSummaries"][0]["TrainingJobName"] == names[-1]
    assert "NextToken" in newest
    by_name = sm.list_training_jobs(SortBy="Name", MaxResults=100)["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in by_name] == sorted(names)
    mine = sm.list_training_jobs(NameContains=trained["name"][-10:].upper())["TrainingJobSummaries"]
    assert trained["name"] in [s["TrainingJobName"] for s in mine]
    completed = sm.list_training_jobs(StatusEquals="Completed", MaxResults=100)
    assert all(s["TrainingJobStatus"] == "Completed" for s in completed["TrainingJobSummaries"])
    assert trained["name"] in [s["TrainingJobName"] for s in completed["TrainingJobSummaries"]]
    after = sm.list_training_jobs(CreationTimeAfter=created[-1], MaxResults=100)
    assert after["TrainingJobSummaries"] == []
    summary = next(s for s in everything if s["TrainingJobName"] == trained["name"])
    assert set(summary) == {"TrainingJobName", "TrainingJobArn", "CreationTime",
                            "TrainingEndTime", "LastModifiedTime", "TrainingJobStatus",
                            "SecondaryStatus"}  # fmt: skip
    with pytest.raises(ClientError) as bad:
        sm.list_training_jobs(NextToken="not-a-token")
    assert _code(bad.value) == "ValidationException"


# -- conformance with moto: the same body on both ----------------------------------------------
@pytest.fixture(params=["local", "moto"])
def sagemaker_client(request, tmp_path):
    """A SageMaker client of the local backend, or moto's."""
    if request.param == "local":
        lab = utils.connect("local", home=tmp_path / "lake")
        yield lab.client("sagemaker")
        for name in JobRecords(lab.home, TRAINING).names():  # no data: they end at once
            _ended(lab.client("sagemaker"), name)
        return
    from moto import mock_aws

    with mock_aws():
        yield boto3.Session(region_name="us-east-1").client("sagemaker")


def _conformance_request(name: str) -> dict:
    return {
        "TrainingJobName": name,
        "RoleArn": MOTO_ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1",
            "TrainingInputMode": "File",
        },
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://conformance-bucket/train/",
            "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://conformance-bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"mode": "supervised", "epochs": "1"},
        "Tags": [{"Key": "course", "Value": "pds"}],
    }  # fmt: skip


def test_create_describe_and_list_conform_to_moto(sagemaker_client):
    sm = sagemaker_client
    arn = sm.create_training_job(**_conformance_request("conformance-a"))["TrainingJobArn"]
    sm.create_training_job(**_conformance_request("conformance-b"))
    assert arn.startswith("arn:aws:sagemaker:us-east-1:") and arn.endswith(
        ":training-job/conformance-a")  # fmt: skip
    desc = sm.describe_training_job(TrainingJobName="conformance-a")
    assert desc["TrainingJobName"] == "conformance-a" and desc["TrainingJobArn"] == arn
    assert desc["TrainingJobStatus"] in ("InProgress", *ENDED)
    assert desc["HyperParameters"] == {"mode": "supervised", "epochs": "1"}
    assert desc["AlgorithmSpecification"]["TrainingImage"].endswith("/blazingtext:1")
    assert desc["InputDataConfig"][0]["ChannelName"] == "train"
    assert desc["OutputDataConfig"]["S3OutputPath"] == "s3://conformance-bucket/output"
    assert desc["ModelArtifacts"]["S3ModelArtifacts"] == (
        "s3://conformance-bucket/output/conformance-a/output/model.tar.gz")  # fmt: skip
    assert desc["RoleArn"] == MOTO_ROLE and desc["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600
    assert isinstance(desc["AlgorithmSpecification"]["MetricDefinitions"], list)
    assert {"CreationTime", "LastModifiedTime", "SecondaryStatus"} <= set(desc)

    listed = sm.list_training_jobs()["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in listed] == ["conformance-a", "conformance-b"]
    assert {"TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingJobStatus"} <= set(
        listed[0])  # fmt: skip
    first = sm.list_training_jobs(MaxResults=1)
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == ["conformance-a"]
    rest = sm.list_training_jobs(MaxResults=1, NextToken=first["NextToken"])
    assert [s["TrainingJobName"] for s in rest["TrainingJobSummaries"]] == ["conformance-b"]
    assert not rest.get("NextToken")
    named = sm.list_training_jobs(NameContains="-b")["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in named] == ["conformance-b"]

    refused = ((sm.describe_training_job, {"TrainingJobName": "conformance-missing"}),
               (sm.list_training_jobs, {"SortBy": "Size"}))  # fmt: skip
    for call, request in refused:
        with pytest.raises(ClientError) as err:
            call(**request)
        assert _code(err.value) == "ValidationException", call


# -- the BlazingText container (utils.local.blazingtext): hyperparameters and requests ---------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "supervize"}, r"mode='supervize'.*'supervised'.*'cbow'.*did you mean"),
        ({"epochs": -1}, r"epochs=-1: expected a positive whole number"),
        ({"epochs": 2.5}, r"epochs=2.5: expected a whole number"),
        ({"learning_rate": 0}, r"learning_rate=0: expected a positive number"),
        ({"min_count": -3}, r"min_count=-3: expected a whole number >= 0"),
        ({"word_ngrams": True}, r"word_ngrams=True: expected a number, not a boolean"),
        ({"early_stopping": "maybe"}, r"early_stopping='maybe': expected True or False"),
        ({"epoch": 5}, r"unknown hyperparameter\(s\) \['epoch'\].*did you mean 'epochs'"),
        ({"early_stopping": True, "min_epochs": 20}, r"min_epochs=20 is more than epochs=10"),
    ],
)
def test_bad_hyperparameters_name_the_parameter_and_the_allowed_values(changes, message):
    with pytest.raises(engine.HyperparameterError, match=message):
        engine.validate_hyperparameters({**COURSE, **changes})


def test_the_courses_hyperparameters_are_valid_and_defaults_fill_in():
    hp = engine.validate_hyperparameters(COURSE)
    assert hp["epochs"] == 10 and hp["learning_rate"] == 0.01 and hp["vector_dim"] == 300
    assert hp["buckets"] == 2_000_000 and hp["early_stopping"] is False  # BlazingText's defaults
    as_strings = {k: str(v) for k, v in COURSE.items()}  # as the request carries them
    assert engine.validate_hyperparameters(as_strings) == hp
    with pytest.raises(engine.HyperparameterError, match="mode is required"):
        engine.validate_hyperparameters({"epochs": 5})
    assert engine.validate_hyperparameters({"epochs": 5}, partial=True)["epochs"] == 5
    assert engine.validate_hyperparameters({"mode": "cbow", "window_size": 5}) == {
        "mode": "cbow", "window_size": 5}  # fmt: skip
    with pytest.raises(NotImplementedError, match="Word2Vec mode.*BACKEND='aws'"):
        engine.validate_hyperparameters({"mode": "skipgram"}, local=True)


def test_parse_request_reads_blazingtexts_json_and_says_what_is_wrong():
    assert engine.parse_request(b'{"instances": ["a b", "c"]}') == (["a b", "c"], 1)
    assert engine.parse_request({"instances": [], "configuration": {"k": 3}}) == ([], 3)
    for bad, says in [
        (b'{"instances": ["a"', "not valid JSON"),
        (b'["a", "b"]', r'BlazingText takes \{"instances"'),
        (b'{"reviews": ["a"]}', r"got \['reviews'\]"),
        (b'{"instances": "a"}', '"instances" must be a list of texts, got str'),
        (b'{"instances": ["a", 2]}', "instance 1 is 2"),
        (b'{"instances": ["a"], "configuration": {"k": 0}}', "k is a positive whole number"),
        (b'{"instances": ["a"], "configuration": {"k": true}}', r'"k": true'),
        (b'{"instances": ["a"], "configuration": 2}', '"configuration" must be an object'),
        (b"\xff", "not UTF-8"),
    ]:
        with pytest.raises(ValueError, match=says):
            engine.parse_request(bad)


def test_the_model_answers_jsonlines_and_odd_texts(trained, lake, tmp_path):
    with tarfile.open(lake["lab"].local_path(trained["estimator"].model_data)) as tar:
        tar.extractall(tmp_path, filter="data")
    model = engine.load_model(tmp_path)
    proba = model.predict_proba(["", "lovely soft dress", "two\nlines"])
    assert proba.shape == (3, 3)
    assert proba.sum(axis=1).tolist() == pytest.approx([1.0] * 3, abs=1e-3)
    # batch transform's JSON Lines: one {"source", "k"} per line, one answer per line
    lines = b'{"source": "lovely dress"}\n{"source": "too small", "k": 2}\n'
    body, content_type = model.invocations(lines, "application/jsonlines", "")
    assert content_type == "application/jsonlines"
    first, second = (json.loads(line) for line in body.decode().splitlines())
    assert len(first["label"]) == 1 and len(second["label"]) == len(second["prob"]) == 2
    with pytest.raises(ValueError, match='line 1: expected {"source"'):
        model.invocations(b'{"text": "x"}', "application/jsonlines", "")


# -- aws: the same course calls send the request SageMaker gets (moto) --------------------------
def test_aws_fit_sends_the_courses_training_job(aws_lab):
    import sagemaker

    image_uri = sagemaker.image_uris.retrieve(framework="blazingtext", region=aws_lab.region)
    estimator = sagemaker.estimator.Estimator(
        image_uri=image_uri, role=MOTO_ROLE, instance_count=1, instance_type="ml.m5.large",
        volume_size=30, max_run=7200, output_path=aws_lab.s3_uri("blazingtext/output"),
        sagemaker_session=aws_lab.session,
    )  # fmt: skip
    calls = []
    aws_lab.session.sagemaker_client.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob",
        lambda params, **_: calls.append(params))  # fmt: skip
    estimator.set_hyperparameters(**COURSE)
    channels = {"train": aws_lab.s3_uri("blazingtext/data/train/sentiment-train.txt"),
                "validation": aws_lab.s3_uri(
                    "blazingtext/data/validation/sentiment-validation.txt")}  # fmt: skip
    estimator.fit(inputs=_inputs(channels), wait=False, job_name="blazingtext-course-1")
    (request,) = calls
    assert request["TrainingJobName"] == "blazingtext-course-1"
    assert request["AlgorithmSpecification"]["TrainingImage"] == (
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1"
    )
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert request["HyperParameters"] == {k: str(v) for k, v in COURSE.items()}
    assert request["RoleArn"] == MOTO_ROLE
    assert request["InputDataConfig"] == [
        {"ChannelName": name, "ContentType": "text/plain",
         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                         "S3DataDistributionType": "FullyReplicated"}}}
        for name, uri in channels.items()
    ]  # fmt: skip
    assert request["OutputDataConfig"]["S3OutputPath"] == aws_lab.s3_uri("blazingtext/output")
    assert request["ResourceConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                         "VolumeSizeInGB": 30}  # fmt: skip
    assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200
    # the SDK checks no hyperparameter: a typo goes out as it is, and the job fails on AWS
    estimator.set_hyperparameters(mode="supervize", epochs=-1)
    estimator.fit(inputs=_inputs(channels), wait=False, job_name="blazingtext-typo-1")
    assert calls[-1]["HyperParameters"]["mode"] == "supervize"
    assert calls[-1]["HyperParameters"]["epochs"] == "-1"
