"""SageMaker hosting on the local backend, driven by the sagemaker SDK's own classes.

(a) The control plane conforms to AWS: the same test body on moto and on the local client
    (models, endpoint configs, their errors, an unknown endpoint).
(b) The SDK end to end on ``lab.session``: ``Model`` and a three-container ``PipelineModel`` of an
    Autopilot-style candidate deploy, predict through ``Predictor`` and the runtime client, and
    are deleted with ``Predictor.delete_model`` / ``delete_endpoint``.
(c) Bad input gets AWS's answer, and nothing is left behind.
(d) The endpoint's secret: unsigned requests are refused, the secret is readable by its owner
    only and never on a command line or in a response, and a process that takes over the
    endpoint's port is not trusted.

Every server binds 127.0.0.1 only. The model is a small TF-IDF + logistic regression wrapped as
the local Autopilot's ``CandidateModel``, in a ``model.tar.gz`` uploaded to the lake.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError, WaiterError
from test_local_clients import session  # noqa: F401 - the local / moto session fixture

import utils
from utils.local.endpoint_server import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    request_signature,
)

BUCKET = "hosting-bucket"
MODEL_KEY = "autopilot/job/tuning/cand-1/output/model.tar.gz"
DPP_KEY = "autopilot/job/data-processor-models/dpp-0/output/model.tar.gz"
MODEL_IMAGE = "local/automl-logistic:latest"
TRANSFORM_IMAGE = "local/automl-sklearn-feature-transform:latest"
TAG = {"Key": "course", "Value": "practical-data-science"}
REVIEWS = ["I love this dress so much", "It is fine I guess", "Terrible quality and it tore"]


# -- the model ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    """A CandidateModel (TF-IDF + logistic regression) on synthetic reviews."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from utils import datasets
    from utils.local.automl.model import CandidateModel, IdentityFeaturizer

    df = datasets.transform(datasets.generate_synthetic(900, seed=5)).df
    estimator = make_pipeline(
        ColumnTransformer([("tfidf", TfidfVectorizer(ngram_range=(1, 2)), "review_body")]),
        LogisticRegression(max_iter=500),
    )
    estimator.fit(pd.DataFrame({"review_body": df["review_body"]}), df["sentiment"])
    return CandidateModel(IdentityFeaturizer(), estimator, "MulticlassClassification",
                          list(estimator.classes_), ["review_body"], "sentiment", name="tfidf-lr")  # fmt: skip


@pytest.fixture(scope="module")
def artifacts(trained, tmp_path_factory):
    """model.tar.gz files: the candidate's, the feature transform's, and one with no model."""
    from utils.local.automl.model import dump_model, write_model_tar

    folder = tmp_path_factory.mktemp("artifacts")
    paths = {name: folder / name / "model.tar.gz" for name in ("model", "dpp", "empty")}
    write_model_tar(paths["model"], {"model.joblib": dump_model(trained)})
    write_model_tar(paths["dpp"], {"transform.txt": b"the model holds its own featurizer\n"})
    write_model_tar(paths["empty"], {"README.txt": b"no model here\n"})
    return paths


def _expected(model, texts, keys=("predicted_label",)):
    """What the endpoint answers as CSV rows, computed in-process."""
    return [[str(row[k]) if k == "predicted_label" else row[k] for k in keys]
            for row in model.invoke(list(texts), keys)]  # fmt: skip


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


# -- (a) conformance: the same body on moto and on the local client ------------------------------
def test_models_and_endpoint_configs_conform_to_aws(session, artifacts):  # noqa: F811
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(artifacts["model"]), BUCKET, MODEL_KEY)
    sm = session.client("sagemaker")
    account = session.client("sts").get_caller_identity()["Account"]
    arn = f"arn:aws:sagemaker:{session.region_name}:{account}"
    role = f"arn:aws:iam::{account}:role/service-role/lab"
    container = {"Image": MODEL_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{MODEL_KEY}",
                 "Environment": {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label"}}  # fmt: skip

    created = sm.create_model(ModelName="conform-model", PrimaryContainer=container,
                              ExecutionRoleArn=role, Tags=[TAG])  # fmt: skip
    assert created["ModelArn"] == f"{arn}:model/conform-model"
    desc = sm.describe_model(ModelName="conform-model")
    assert desc["ModelName"] == "conform-model" and desc["ModelArn"] == created["ModelArn"]
    assert {k: desc["PrimaryContainer"][k] for k in container} == container
    assert desc["ExecutionRoleArn"] == role
    assert desc["CreationTime"].tzinfo is not None
    assert sm.list_tags(ResourceArn=created["ModelArn"])["Tags"] == [TAG]
    models = sm.list_models()["Models"]
    assert [m["ModelName"] for m in models] == ["conform-model"]
    assert {"ModelName", "ModelArn", "CreationTime"} <= set(models[0])

    variant = {"VariantName": "AllTraffic", "ModelName": "conform-model",
               "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
               "InitialVariantWeight": 1.0}  # fmt: skip
    config = sm.create_endpoint_config(EndpointConfigName="conform-config",
                                       ProductionVariants=[variant], Tags=[TAG])  # fmt: skip
    assert config["EndpointConfigArn"] == f"{arn}:endpoint-config/conform-config"
    desc = sm.describe_endpoint_config(EndpointConfigName="conform-config")
    assert desc["EndpointConfigArn"] == config["EndpointConfigArn"]
    assert {k: desc["ProductionVariants"][0][k] for k in variant} == variant
    assert desc["CreationTime"].tzinfo is not None
    assert sm.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"] == [TAG]
    configs = sm.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == ["conform-config"]

    # unknown names: ValidationException, "Could not find ..."
    for call, kwargs, says in (
        (sm.describe_model, {"ModelName": "no-such-model"}, "Could not find model"),
        (sm.delete_model, {"ModelName": "no-such-model"}, "Could not find model"),
        (sm.describe_endpoint_config, {"EndpointConfigName": "no-such-config"},
         "Could not find endpoint configuration"),
        (sm.delete_endpoint_config, {"EndpointConfigName": "no-such-config"},
         "Could not find endpoint configuration"),
        (sm.describe_endpoint, {"EndpointName": "no-such-ep"}, "Could not find endpoint"),
        (sm.delete_endpoint, {"EndpointName": "no-such-ep"}, "Could not find endpoint"),
        (sm.create_endpoint_config, {"EndpointConfigName": "orphan-config",
         "ProductionVariants": [{**variant, "ModelName": "no-such-model"}]},
         "Could not find model"),
    ):  # fmt: skip
        with pytest.raises(ClientError) as err:
            call(**kwargs)
        assert _code(err.value) == "ValidationException", call
        assert says in err.value.response["Error"]["Message"]
    sm.get_waiter("endpoint_deleted").wait(EndpointName="no-such-ep")  # gone: success at once

    sm.delete_endpoint_config(EndpointConfigName="conform-config")
    sm.delete_model(ModelName="conform-model")
    assert sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []


# -- local only: the details moto does not model -------------------------------------------------
@pytest.fixture
def lab(tmp_path):
    return utils.connect("local", home=tmp_path / "lake")


def _upload(lab, artifacts, which="model", key=MODEL_KEY) -> str:
    bucket = lab.session.default_bucket()
    lab.client("s3").upload_file(str(artifacts[which]), bucket, key)
    return f"s3://{bucket}/{key}"


def _model(lab, name, url, image=MODEL_IMAGE, env=None, **kwargs):
    container = {"Image": image, "ModelDataUrl": url, "Environment": env or {}}
    return lab.client("sagemaker").create_model(
        ModelName=name, PrimaryContainer=container, ExecutionRoleArn=lab.role, **kwargs
    )


def _endpoint(lab, name, model_name, **variant):
    sm = lab.client("sagemaker")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large", **variant}])  # fmt: skip
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=[TAG])
    return sm.describe_endpoint(EndpointName=name)


def test_names_are_case_insensitive_arns_lowercase_lists_page_and_sort(lab, artifacts):
    sm = lab.client("sagemaker")
    url = _upload(lab, artifacts)
    created = _model(lab, "Case-Model", url, Tags=[TAG])
    assert created["ModelArn"].endswith(":model/case-model")
    assert sm.describe_model(ModelName="CASE-MODEL")["ModelName"] == "Case-Model"
    assert sm.list_tags(ResourceArn=created["ModelArn"].replace("case", "CASE"))["Tags"] == [TAG]
    with pytest.raises(ClientError, match="Cannot create already existing model") as err:
        _model(lab, "case-model", url)
    assert _code(err.value) == "ValidationException"
    for name in ("beta-model", "alpha-model"):
        _model(lab, name, url)
    newest_first = [m["ModelName"] for m in sm.list_models()["Models"]]
    assert newest_first == ["alpha-model", "beta-model", "Case-Model"]
    by_name = sm.list_models(SortBy="Name", SortOrder="Ascending")["Models"]
    assert [m["ModelName"] for m in by_name] == ["Case-Model", "alpha-model", "beta-model"]
    first = sm.list_models(MaxResults=2)
    assert len(first["Models"]) == 2 and first["NextToken"]
    rest = sm.list_models(MaxResults=2, NextToken=first["NextToken"])
    assert [m["ModelName"] for m in rest["Models"]] == ["Case-Model"] and "NextToken" not in rest
    pages = sm.get_paginator("list_models").paginate(PaginationConfig={"PageSize": 1})
    assert len([m for p in pages for m in p["Models"]]) == 3
    assert [m["ModelName"] for m in sm.list_models(NameContains="ALPHA")["Models"]] == [
        "alpha-model"
    ]
    with pytest.raises(ClientError, match="sortBy") as err:
        sm.list_models(SortBy="Status")
    assert _code(err.value) == "ValidationException"
    variant = [{"VariantName": "AllTraffic", "ModelName": "alpha-model",
                "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]  # fmt: skip
    sm.create_endpoint_config(EndpointConfigName="Case-Config", ProductionVariants=variant)
    with pytest.raises(ClientError, match="Cannot create already existing endpoint configuration"):
        sm.create_endpoint_config(EndpointConfigName="case-config", ProductionVariants=variant)
    got = sm.describe_endpoint_config(EndpointConfigName="case-config")
    assert got["ProductionVariants"][0]["InitialVariantWeight"] == 1.0  # AWS's default


# -- (b) the SDK end to end ------------------------------------------------------------------------
def test_sdk_model_and_pipeline_deploy_predict_and_delete(lab, artifacts, trained):
    import psutil
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.model import Model
    from sagemaker.pipeline import PipelineModel
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    model_url = _upload(lab, artifacts)
    dpp_url = _upload(lab, artifacts, "dpp", DPP_KEY)
    sm, runtime = lab.client("sagemaker"), lab.client("sagemaker-runtime")
    csv_io = {"serializer": CSVSerializer(), "deserializer": CSVDeserializer()}

    # one container: answers predicted_label
    single = Model(image_uri=MODEL_IMAGE, model_data=model_url, role=lab.role,
                   sagemaker_session=lab.session, predictor_cls=Predictor)  # fmt: skip
    predictor = single.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                              endpoint_name="sdk-model-ep", **csv_io)  # fmt: skip
    assert isinstance(predictor, Predictor)
    assert predictor.predict(REVIEWS[0]) == _expected(trained, REVIEWS[:1])

    # the Autopilot pipeline: feature transform, model, inverse label transform
    keys = "predicted_label,probability"
    supported = "predicted_label,probability,labels,probabilities"
    containers = [
        Model(image_uri=TRANSFORM_IMAGE, model_data=dpp_url, role=lab.role,
              sagemaker_session=lab.session, env={"AUTOML_TRANSFORM_MODE": "feature-transform"}),
        Model(image_uri=MODEL_IMAGE, model_data=model_url, role=lab.role,
              sagemaker_session=lab.session, env={"SAGEMAKER_INFERENCE_OUTPUT": keys,
                                                  "SAGEMAKER_INFERENCE_SUPPORTED": supported}),
        Model(image_uri=TRANSFORM_IMAGE, model_data=dpp_url, role=lab.role,
              sagemaker_session=lab.session,
              env={"AUTOML_TRANSFORM_MODE": "inverse-label-transform",
                   "SAGEMAKER_INFERENCE_INPUT": "predicted_label",
                   "SAGEMAKER_INFERENCE_OUTPUT": keys, "SAGEMAKER_INFERENCE_SUPPORTED": supported}),
    ]  # fmt: skip
    pipeline = PipelineModel(models=containers, role=lab.role, sagemaker_session=lab.session,
                             predictor_cls=Predictor, name="sdk-pipeline-model")  # fmt: skip
    pipe = pipeline.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                           endpoint_name="sdk-pipeline-ep", **csv_io)  # fmt: skip
    want = _expected(trained, REVIEWS, keys.split(","))
    got = pipe.predict("\n".join(REVIEWS))
    assert [row[0] for row in got] == [row[0] for row in want]
    assert [float(row[1]) for row in got] == pytest.approx([row[1] for row in want], abs=1e-9)

    # the course's call: the runtime client with a text/csv review
    response = runtime.invoke_endpoint(EndpointName="sdk-pipeline-ep", ContentType="text/csv",
                                       Accept="text/csv", Body=REVIEWS[2])  # fmt: skip
    assert response["ContentType"] == "text/csv"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    label, probability = response["Body"].read().decode().strip().split(",")
    assert label == want[2][0] and float(probability) == pytest.approx(want[2][1], abs=1e-9)

    desc = sm.describe_endpoint(EndpointName="sdk-pipeline-ep")
    assert desc["EndpointStatus"] == "InService" and desc["EndpointConfigName"] == "sdk-pipeline-ep"
    images = [i["SpecifiedImage"] for i in desc["ProductionVariants"][0]["DeployedImages"]]
    assert images == [TRANSFORM_IMAGE, MODEL_IMAGE, TRANSFORM_IMAGE]
    assert len(sm.describe_model(ModelName="sdk-pipeline-model")["Containers"]) == 3
    sm.get_waiter("endpoint_in_service").wait(EndpointName="sdk-pipeline-ep")  # at once
    listed = sm.list_endpoints(StatusEquals="InService")["Endpoints"]
    assert sorted(e["EndpointName"] for e in listed) == ["sdk-model-ep", "sdk-pipeline-ep"]
    pids = [json.loads((lab.home / "endpoints" / f"{n}.json").read_text())["Local"]["Pid"]
            for n in ("sdk-model-ep", "sdk-pipeline-ep")]  # fmt: skip

    for pred in (predictor, pipe):
        pred.delete_model()
        pred.delete_endpoint()
        sm.get_waiter("endpoint_deleted").wait(EndpointName=pred.endpoint_name)
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
    assert not (lab.home / "endpoints" / "serving" / "sdk-model-ep").exists()


# -- (c) bad input ---------------------------------------------------------------------------------
def test_an_image_that_cannot_serve_is_named_and_leaves_no_model(lab, artifacts):
    from sagemaker.model import Model

    url = _upload(lab, artifacts)
    sm = lab.client("sagemaker")
    xgboost = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    with pytest.raises(ClientError) as err:
        _model(lab, "xgb-model", url, image=xgboost)
    assert _code(err.value) == "ValidationException"
    assert xgboost in str(err.value) and "cannot serve" in str(err.value)
    with pytest.raises(ClientError, match="Could not find model"):
        sm.describe_model(ModelName="xgb-model")
    # through the SDK: the deploy stops at CreateModel, nothing is created
    with pytest.raises(ClientError, match="cannot serve"):
        Model(image_uri=xgboost, model_data=url, role=lab.role, sagemaker_session=lab.session,
              name="sdk-xgb").deploy(initial_instance_count=1, instance_type="ml.m5.large")  # fmt: skip
    assert sm.list_models()["Models"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []


def test_missing_model_data_and_other_refusals(lab, artifacts):
    sm = lab.client("sagemaker")
    bucket = lab.session.default_bucket()
    missing = f"s3://{bucket}/autopilot/none/model.tar.gz"
    with pytest.raises(ClientError) as err:
        _model(lab, "lost-model", missing)
    assert _code(err.value) == "ValidationException"
    assert err.value.response["Error"]["Message"] == f"Could not find model data at {missing}."
    with pytest.raises(ClientError, match="already existing model|Could not find model"):
        sm.describe_model(ModelName="lost-model")
    url = _upload(lab, artifacts)
    with pytest.raises(ClientError, match="SAGEMAKER_INFERENCE_OUTPUT"):
        _model(lab, "bad-keys", url, env={"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,score"})
    with pytest.raises(ClientError, match="1 to 63 letters"):
        _model(lab, "bad_name!", url)
    _model(lab, "ok-model", url)
    variant = {"VariantName": "AllTraffic", "ModelName": "ok-model", "InitialInstanceCount": 1,
               "InstanceType": "ml.m5.large"}  # fmt: skip
    for change, says in (({"InitialInstanceCount": 2}, "initial_instance_count=2"),
                         ({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}},
                          "ServerlessConfig")):  # fmt: skip
        with pytest.raises(NotImplementedError, match=says):
            sm.create_endpoint_config(EndpointConfigName="x-config",
                                      ProductionVariants=[{**variant, **change}])  # fmt: skip
    with pytest.raises(NotImplementedError, match="DataCaptureConfig"):
        sm.create_endpoint_config(EndpointConfigName="x-config", ProductionVariants=[variant],
                                  DataCaptureConfig={"InitialSamplingPercentage": 100,
                                                     "DestinationS3Uri": f"s3://{bucket}/c",
                                                     "CaptureOptions": [{"CaptureMode": "Input"}]})  # fmt: skip
    with pytest.raises(ClientError, match="instanceType"):
        sm.create_endpoint_config(EndpointConfigName="x-config",
                                  ProductionVariants=[{**variant, "InstanceType": "large"}])  # fmt: skip
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        sm.create_endpoint(EndpointName="x-ep", EndpointConfigName="no-config")
    assert sm.list_endpoints()["Endpoints"] == []
    with pytest.raises(NotImplementedError, match="invoke_endpoint_async"):
        lab.client("sagemaker-runtime").invoke_endpoint_async(
            EndpointName="x-ep", InputLocation=f"s3://{bucket}/in.csv"
        )


def test_a_model_that_cannot_load_leaves_the_endpoint_failed(lab, artifacts):
    sm = lab.client("sagemaker")
    _model(lab, "empty-model", _upload(lab, artifacts, "empty", "autopilot/empty/model.tar.gz"))
    desc = _endpoint(lab, "empty-ep", "empty-model")
    try:
        assert desc["EndpointStatus"] == "Failed"
        assert "MODEL LOAD FAILED" in desc["FailureReason"]
        assert "holds no model.joblib" in desc["FailureReason"]
        with pytest.raises(WaiterError, match="Failed"):
            sm.get_waiter("endpoint_in_service").wait(EndpointName="empty-ep")
        with pytest.raises(ClientError) as err:
            lab.client("sagemaker-runtime").invoke_endpoint(
                EndpointName="empty-ep", ContentType="text/csv", Body="nice"
            )
        assert _code(err.value) == "ValidationError" and "not in service" in str(err.value)
    finally:
        sm.delete_endpoint(EndpointName="empty-ep")


@pytest.fixture
def served(lab, artifacts):
    """One endpoint InService on the candidate model; deleted at the end."""
    _model(lab, "served-model", _upload(lab, artifacts),
           env={"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability"})  # fmt: skip
    desc = _endpoint(lab, "served-ep", "served-model")
    assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
    record = json.loads((lab.home / "endpoints" / "served-ep.json").read_text())
    yield record["Local"]
    sm = lab.client("sagemaker")
    if sm.list_endpoints(NameContains="served-ep")["Endpoints"]:
        sm.delete_endpoint(EndpointName="served-ep")


def test_duplicates_deleted_endpoints_and_bad_bodies(lab, served, trained):
    sm, runtime = lab.client("sagemaker"), lab.client("sagemaker-runtime")
    for name in ("served-ep", "SERVED-EP"):
        with pytest.raises(ClientError, match="Cannot create already existing endpoint") as err:
            sm.create_endpoint(EndpointName=name, EndpointConfigName="served-ep")
        assert _code(err.value) == "ValidationException"
    desc = sm.describe_endpoint(EndpointName="served-ep")
    assert desc["EndpointStatus"] == "InService"
    assert desc["EndpointArn"].endswith(":endpoint/served-ep")
    assert sm.list_tags(ResourceArn=desc["EndpointArn"])["Tags"] == [TAG]
    # the SDK reuses an existing model with a warning (it catches exactly AWS's message)
    container = sm.describe_model(ModelName="served-model")["PrimaryContainer"]
    assert lab.session.create_model("served-model", lab.role, container) == "served-model"

    # a bad body: the server's 400 comes back as ModelError, with its reason
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName="served-ep", ContentType="text/csv", Body="a,b,c")
    assert isinstance(err.value, runtime.exceptions.ModelError)
    assert err.value.response["OriginalStatusCode"] == 400
    assert "3 fields" in err.value.response["OriginalMessage"]
    assert "/aws/sagemaker/Endpoints/served-ep" in err.value.response["LogStreamArn"]
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName="served-ep", ContentType="text/plain", Body="x")
    assert err.value.response["OriginalStatusCode"] == 415
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName="served-ep", ContentType="text/csv",
                                Body=b"x" * (6 * 1024 * 1024 + 1))  # fmt: skip
    assert _code(err.value) == "ValidationError" and "6 MB" in str(err.value)
    with pytest.raises(ClientError) as err:  # InvokeEndpoint matches the name's case
        runtime.invoke_endpoint(EndpointName="Served-Ep", ContentType="text/csv", Body="nice")
    assert _code(err.value) == "ValidationError" and "not found" in str(err.value)
    answer = runtime.invoke_endpoint(EndpointName="served-ep", ContentType="text/csv", Body="nice")
    assert answer["Body"].read().decode().split(",")[0] == _expected(trained, ["nice"])[0][0]

    sm.delete_endpoint(EndpointName="served-ep")
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName="served-ep", ContentType="text/csv", Body="nice")
    assert _code(err.value) == "ValidationError" and "not found" in str(err.value)
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sm.describe_endpoint(EndpointName="served-ep")


# -- (d) the endpoint's secret -----------------------------------------------------------------------
def _raw(port, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheaders()
    finally:
        conn.close()


def _signed(secret, body, content_type="text/csv"):
    nonce = secrets.token_hex(16)
    mac = request_signature(secret, "POST", "/invocations", nonce, content_type, "", body)
    return {"Content-Type": content_type, NONCE_HEADER: nonce, SIGNATURE_HEADER: mac}


def test_unsigned_requests_are_refused_and_the_secret_stays_private(lab, served):
    import psutil

    secret_file = served["SecretFile"]
    secret = open(secret_file, "rb").read().strip()
    mode = os.stat(secret_file).st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(secret_file)).st_mode) == 0o700
    port = served["Port"]

    status, body, headers = _raw(
        port, "POST", "/invocations", b"nice", {"Content-Type": "text/csv"}
    )
    assert status == 403 and b"signed" in body
    forged = _signed(secrets.token_hex(32).encode(), b"nice")
    status, body, _ = _raw(port, "POST", "/invocations", b"nice", forged)
    assert status == 403 and b"signature does not match" in body
    tampered = _signed(secret, b"nice")
    status, _, _ = _raw(port, "POST", "/invocations", b"awful", tampered)
    assert status == 403
    status, answer, signed_headers = _raw(port, "POST", "/invocations", b"nice",
                                          _signed(secret, b"nice"))  # fmt: skip
    assert status == 200 and answer.count(b"\n") == 1
    status, _, ping_headers = _raw(port, "GET", "/ping")
    assert status == 200  # the health check stays open; it tells only that the model is loaded

    response = lab.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="served-ep", ContentType="text/csv", Body="nice"
    )
    seen = [headers, signed_headers, ping_headers,
            list(response["ResponseMetadata"]["HTTPHeaders"].items())]  # fmt: skip
    text = secret.decode()
    assert not any(text in f"{k}: {v}" for group in seen for k, v in group)
    assert text not in json.dumps(lab.client("sagemaker").describe_endpoint(
        EndpointName="served-ep"), default=str)  # fmt: skip
    assert text not in " ".join(psutil.Process(served["Pid"]).cmdline())
    assert served["Token"] != text  # the id on the command line is no secret
    assert text not in open(served["Log"], encoding="utf-8").read()


class _Squatter(BaseHTTPRequestHandler):
    """Answers everything with 200, echoing every request header back (the old attack)."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []

    def log_message(self, *args):
        pass

    def _answer(self, body: bytes) -> None:
        type(self).seen.append(dict(self.headers))
        self.send_response(200)
        for key, value in self.headers.items():
            if key.lower().startswith("x-"):
                self.send_header(key, value)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(b"1,0.99\n")


def test_a_process_squatting_the_endpoints_port_is_not_trusted(lab, served):
    sm, runtime = lab.client("sagemaker"), lab.client("sagemaker-runtime")
    os.killpg(served["Pid"], signal.SIGKILL)  # the server dies; another process takes its port
    _Squatter.seen = []
    deadline = time.monotonic() + 10
    while True:  # the port is free once the last thread of the killed server has exited
        try:
            fake = ThreadingHTTPServer(("127.0.0.1", served["Port"]), _Squatter)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    thread = threading.Thread(target=fake.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        with pytest.raises(ClientError) as err:
            runtime.invoke_endpoint(EndpointName="served-ep", ContentType="text/csv", Body="nice")
        assert _code(err.value) == "ValidationError"
        assert "could not prove it is the endpoint's server" in str(err.value)
        assert any(h.get(NONCE_HEADER) for h in _Squatter.seen)  # it was asked, and not believed
        desc = sm.describe_endpoint(EndpointName="served-ep")
        assert desc["EndpointStatus"] == "Failed" and "not running" in desc["FailureReason"]
        assert [e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]] == ["Failed"]
    finally:
        fake.shutdown()
        fake.server_close()
        thread.join(10)
    sm.delete_endpoint(EndpointName="served-ep")  # the squatter is not signalled: not ours
    assert sm.list_endpoints()["Endpoints"] == []


# -- BlazingText: a model that answers in its own container's format ------------------------------
def test_a_blazingtext_model_serves_its_own_format(lab, tmp_path):
    from sagemaker import image_uris
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import JSONSerializer

    from utils import datasets
    from utils.local import blazingtext
    from utils.local.automl.model import write_model_tar

    df = datasets.transform(datasets.generate_synthetic(300, seed=3)).df
    train = tmp_path / "train.txt"
    train.write_text("".join(f"__label__{s} {t.lower()}\n"
                             for s, t in zip(df["sentiment"], df["review_body"], strict=True)))  # fmt: skip
    args = {"epoch": 5, "lr": 0.1, "dim": 10, "minCount": 1, "thread": 1, "seed": 0, "verbose": 0}
    blazingtext.train_in_child({"train": str(train)}, args, tmp_path / "model.bin")
    tar = tmp_path / "bt" / "model.tar.gz"
    write_model_tar(tar, {"model.bin": tmp_path / "model.bin"})
    bucket = lab.session.default_bucket()
    lab.client("s3").upload_file(str(tar), bucket, "blazingtext/job/output/model.tar.gz")
    image = image_uris.retrieve("blazingtext", lab.region)
    _model(lab, "bt-model", f"s3://{bucket}/blazingtext/job/output/model.tar.gz", image=image)
    sm = lab.client("sagemaker")
    try:
        desc = _endpoint(lab, "bt-ep", "bt-model")
        assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")
        request = {"instances": ["i love this dress", "terrible fabric"], "configuration": {"k": 2}}
        body = json.dumps(request).encode()
        local = blazingtext.load_model(tmp_path)  # the same model.bin, in-process
        want = json.loads(local.invocations(body, "application/json", "application/json")[0])
        response = lab.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="bt-ep", ContentType="application/json", Body=body
        )
        assert response["ContentType"] == "application/json"
        assert json.loads(response["Body"].read()) == want
        predictor = Predictor("bt-ep", sagemaker_session=lab.session,
                              serializer=JSONSerializer(), deserializer=JSONDeserializer())  # fmt: skip
        assert predictor.predict(request) == want
        with pytest.raises(ClientError) as err:  # BlazingText's container takes JSON only
            predictor.predict("i love it", initial_args={"ContentType": "text/csv"})
        assert err.value.response["OriginalStatusCode"] == 415
    finally:
        sm.delete_endpoint(EndpointName="bt-ep")
