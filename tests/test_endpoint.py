"""The local endpoint: SageMaker's hosting contract over a real HTTP server and a real model.

One endpoint serves a TF-IDF + logistic regression model trained here on synthetic reviews,
wrapped as the local Autopilot's ``CandidateModel`` in a ``model.tar.gz`` in the lab's bucket
(``lab.session.default_bucket()``), deployed with the sagemaker SDK's ``Model(...).deploy`` on
``lab.session``; it starts once for the module and is deleted in the fixture's teardown. The
assertions go through ``lab.client("sagemaker")``, ``lab.client("sagemaker-runtime")`` and the
SDK's ``Predictor``; raw HTTP requests to the server are signed with the endpoint's secret, as
the runtime signs them. Tests that break an endpoint on purpose (kill it, feed it a corrupt
model) start their own and delete them. Every server binds 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError, WaiterError

import utils
from utils import endpoints
from utils.local.endpoint_server import (
    MAX_PAYLOAD_BYTES,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    request_signature,
)
from utils.local.sagemaker.hosting import process_alive

ALL_KEYS = ["predicted_label", "probability", "probabilities", "labels"]
NAME = "reviews-ep"
BUCKET = "lab-endpoint-bucket"
IMAGE = "local/automl-logistic:latest"
MODEL_KEY = "autopilot/endpoint-test/tuning/cand-1/output/model.tar.gz"


@pytest.fixture(scope="module")
def trained():
    """A real model on balanced synthetic reviews (as a CandidateModel), and unseen reviews."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from utils import bias, datasets
    from utils.local.automl.model import CandidateModel, IdentityFeaturizer

    df = datasets.transform(datasets.generate_synthetic(3000, seed=11)).df
    df = bias.balance(df, by=["sentiment"], seed=11).sample(frac=1.0, random_state=0)
    train, holdout = df.iloc[: int(len(df) * 0.8)], df.iloc[int(len(df) * 0.8) :]
    estimator = make_pipeline(
        ColumnTransformer([("tfidf", TfidfVectorizer(ngram_range=(1, 2)), "review_body")]),
        LogisticRegression(max_iter=1000),
    )
    estimator.fit(pd.DataFrame({"review_body": train["review_body"]}), train["sentiment"])
    model = CandidateModel(IdentityFeaturizer(), estimator, "MulticlassClassification",
                           list(estimator.classes_), ["review_body"], "sentiment", name="tfidf-lr")  # fmt: skip
    return {"model": model, "holdout": holdout.reset_index(drop=True)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = utils.connect("local", home=tmp_path_factory.mktemp("home") / "lake", bucket=BUCKET)
    assert lab.session.default_bucket() == BUCKET  # the course's way to have the bucket
    return lab


def _upload(lab, tmp_path, files: dict, key: str) -> str:
    """A model.tar.gz with ``files`` in the lab's bucket; its s3:// URI."""
    from utils.local.automl.model import write_model_tar

    tar = tmp_path / key.replace("/", "_")
    write_model_tar(tar, files)
    lab.client("s3").upload_file(str(tar), lab.session.default_bucket(), key)
    return f"s3://{lab.session.default_bucket()}/{key}"


@pytest.fixture(scope="module")
def model_url(lab, trained, tmp_path_factory):
    from utils.local.automl.model import dump_model

    folder = tmp_path_factory.mktemp("artifacts")
    return _upload(lab, folder, {"model.joblib": dump_model(trained["model"])}, MODEL_KEY)


def _sdk_model(lab, url, name, keys=None, image=IMAGE):
    from sagemaker.model import Model
    from sagemaker.predictor import Predictor

    env = {"SAGEMAKER_INFERENCE_OUTPUT": ",".join(keys)} if keys else {}
    return Model(image_uri=image, model_data=url, role=lab.role, sagemaker_session=lab.session,
                 env=env, name=name, predictor_cls=Predictor)  # fmt: skip


def _deploy(lab, url, name, keys=None, **kwargs):
    """The SDK's ``Model(...).deploy`` on lab.session; the Predictor."""
    return _sdk_model(lab, url, name, keys).deploy(
        initial_instance_count=kwargs.pop("initial_instance_count", 1),
        instance_type="ml.m5.large", endpoint_name=name, **kwargs)  # fmt: skip


def _delete(lab, name):
    """The endpoint, its config and its model, as Predictor.delete_model / delete_endpoint."""
    from sagemaker.predictor import Predictor

    sm = lab.client("sagemaker")
    if not any(
        e["EndpointName"] == name for e in sm.list_endpoints(NameContains=name)["Endpoints"]
    ):
        return
    pred = Predictor(name, sagemaker_session=lab.session)
    pred.delete_model()
    pred.delete_endpoint()


def _local(lab, name):
    """The local part of the endpoint's record: Port, Pid, Token, SecretFile, Log."""
    return json.loads((lab.home / "endpoints" / f"{name}.json").read_text())["Local"]


@pytest.fixture(scope="module")
def served(lab, model_url):
    """The module's endpoint, InService; deleted (server stopped) at the end."""
    _deploy(lab, model_url, NAME, ALL_KEYS)
    local = _local(lab, NAME)
    secret = open(local["SecretFile"], "rb").read().strip()
    yield {"port": local["Port"], "pid": local["Pid"], "secret": secret}
    _delete(lab, NAME)


@pytest.fixture
def runtime(lab):
    client = lab.client("sagemaker-runtime")
    yield client


def _signed(secret: bytes, body: bytes, content_type: str = "", accept: str = "") -> dict:
    """Headers of a request signed with the endpoint's secret (what the runtime sends)."""
    nonce = secrets.token_hex(16)
    mac = request_signature(secret, "POST", "/invocations", nonce, content_type, accept, body)
    headers = {NONCE_HEADER: nonce, SIGNATURE_HEADER: mac}
    if content_type:
        headers["Content-Type"] = content_type
    if accept:
        headers["Accept"] = accept
    return headers


def _raw(port: int, method: str, path: str, body: bytes = b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace"), dict(resp.getheaders())
    finally:
        conn.close()


def _post(served, body: bytes, content_type: str = "", accept: str = ""):
    """A signed POST /invocations straight to the server."""
    headers = _signed(served["secret"], body, content_type, accept)
    return _raw(served["port"], "POST", "/invocations", body, headers)


def _expected(model, texts):
    proba = model.predict_proba(texts)
    labels = [str(c) for c in model.classes_]
    return [labels[i] for i in proba.argmax(axis=1)], proba


# -- deploy, describe, list ------------------------------------------------------------------------
def test_deploy_is_in_service_and_described_with_sagemaker_keys(lab, served):
    sm = lab.client("sagemaker")
    desc = sm.describe_endpoint(EndpointName=NAME)
    assert desc["EndpointName"] == NAME
    assert desc["EndpointStatus"] == "InService"
    assert desc["EndpointArn"] == f"arn:aws:sagemaker:{lab.region}:000000000000:endpoint/{NAME}"
    assert desc["EndpointConfigName"] == NAME
    assert desc["CreationTime"].tzinfo is not None
    assert desc["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    local = _local(lab, NAME)
    assert local["Port"] == served["port"] and local["Pid"] == served["pid"]
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [NAME]
    assert sm.list_endpoints(StatusEquals="Failed")["Endpoints"] == []
    assert endpoints.response_keys(lab, NAME) == ALL_KEYS
    status, body, headers = _raw(served["port"], "GET", "/ping")
    assert status == 200 and headers["X-Endpoint-Name"] == NAME
    model = sm.describe_model(ModelName=NAME)
    env = model["PrimaryContainer"]["Environment"]
    assert env["SAGEMAKER_INFERENCE_OUTPUT"] == ",".join(ALL_KEYS)
    assert model["PrimaryContainer"]["Image"] == IMAGE
    config = sm.describe_endpoint_config(EndpointConfigName=NAME)
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert config["ProductionVariants"][0]["ModelName"] == NAME


# -- invoke: the course's path ---------------------------------------------------------------------
def test_invoke_text_csv_as_the_course_does(runtime, served, trained):
    model = trained["model"]
    reviews = [endpoints.strip_commas(r) for r in endpoints.SAMPLE_REVIEWS]
    labels, proba = _expected(model, reviews)
    for review, label, row in zip(reviews, labels, proba, strict=True):
        response = runtime.invoke_endpoint(
            EndpointName=NAME, ContentType="text/csv", Accept="text/csv", Body=review
        )
        assert response["ContentType"] == "text/csv"
        assert response["InvokedProductionVariant"] == "AllTraffic"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        line = response["Body"].read().decode("utf-8").strip()
        assert line.split(",")[0] == label  # what the course prints as the predicted class
        frame = endpoints.parse_csv_predictions(line, ALL_KEYS)
        assert frame.loc[0, "probability"] == pytest.approx(row.max(), abs=1e-12)
        assert frame.loc[0, "probabilities"] == pytest.approx(list(row), abs=1e-12)
        assert frame.loc[0, "labels"] == ["-1", "0", "1"]


def test_predictions_match_the_model_in_process(lab, served, trained):
    texts = trained["holdout"]["review_body"].head(50).tolist()
    got = endpoints.predict_reviews(lab, NAME, texts)
    labels, proba = _expected(trained["model"], texts)
    assert got["predicted_label"].tolist() == labels
    assert np.allclose(np.array(got["probabilities"].tolist()), proba, atol=1e-12)
    assert got["review"].tolist() == texts


def test_a_quoted_review_with_commas_and_line_breaks_is_one_record(runtime, served, trained):
    text = 'Loved it, really. "Great" fit,\nsoft fabric'
    body = endpoints.csv_body([text, "plain text"])
    response = runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=body)
    frame = endpoints.parse_csv_predictions(response["Body"].read(), ALL_KEYS)
    labels, _ = _expected(trained["model"], [" ".join(text.splitlines()), "plain text"])
    assert frame["predicted_label"].tolist() == labels


@pytest.mark.parametrize(
    "payload",
    [
        {"instances": ["I love it", "awful fit and cheap fabric"]},
        ["I love it", "awful fit and cheap fabric"],
        {"instances": [{"features": ["I love it"]}, ["awful fit and cheap fabric"]]},
    ],
)
def test_invoke_json_forms_answer_predictions(runtime, served, trained, payload):
    response = runtime.invoke_endpoint(
        EndpointName=NAME,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps(payload),
    )
    assert response["ContentType"] == "application/json"
    predictions = json.loads(response["Body"].read())["predictions"]
    labels, proba = _expected(trained["model"], ["I love it", "awful fit and cheap fabric"])
    assert [p["predicted_label"] for p in predictions] == labels
    assert set(predictions[0]) == set(ALL_KEYS)
    assert predictions[1]["probabilities"] == pytest.approx(list(proba[1]))


@pytest.mark.parametrize(
    ("accept", "expected"),
    [(None, "text/csv"), ("*/*", "text/csv"), ("application/json, text/csv", "application/json")],
)
def test_accept_negotiation(runtime, served, accept, expected):
    kwargs = {"Accept": accept} if accept else {}
    response = runtime.invoke_endpoint(
        EndpointName=NAME, ContentType="text/csv; charset=utf-8", Body="nice", **kwargs
    )
    assert response["ContentType"] == expected


def test_sdk_predictor_with_json_and_csv_serializers(lab, served, trained):
    from sagemaker.deserializers import CSVDeserializer, JSONDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer, JSONSerializer

    texts = ["I love this dress", "It is fine I guess", "Terrible quality returned it"]
    labels, _ = _expected(trained["model"], texts)
    pred = Predictor(NAME, sagemaker_session=lab.session, serializer=JSONSerializer(),
                     deserializer=JSONDeserializer())  # fmt: skip
    assert [p["predicted_label"] for p in pred.predict(texts)["predictions"]] == labels
    pred.serializer, pred.deserializer = CSVSerializer(), CSVDeserializer()
    assert [row[0] for row in pred.predict(texts)] == labels


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"", "text/csv", 400, "empty"),
        (b"\n\n", "text/csv", 400, "empty"),
        (b'""\n', "text/csv", 200, ""),
        (b"good dress", "text/plain", 415, "text/plain"),
        (b"good dress", "", 415, "not supported"),
        (b"great, would buy again", "text/csv", 400, "2 fields"),
        (b'"unclosed quote\n', "text/csv", 400, "malformed CSV"),
        (b"\xff\xfe bytes", "text/csv", 400, "UTF-8"),
        (b'{"instances": ["a"', "application/json", 400, "malformed JSON"),
        (b'{"reviews": ["a"]}', "application/json", 400, "instances"),
        (b'{"instances": []}', "application/json", 400, "empty list"),
        (b'{"instances": [42]}', "application/json", 400, "instance 0"),
        (b'"just a string"', "application/json", 400, "expected a JSON list"),
    ],
)
def test_bad_requests_get_a_clear_error_and_the_server_keeps_serving(
    served, body, content_type, status, says
):
    got, text, _ = _post(served, body, content_type)
    assert got == status
    assert says in text
    ok, answer, _ = _post(served, b"lovely", "text/csv")
    assert ok == 200 and answer.count("\n") == 1


def test_unsupported_accept_and_unknown_path(served):
    got, text, _ = _post(served, b"x", "text/csv", "image/png")
    assert got == 406 and "image/png" in text
    got, text, _ = _raw(served["port"], "GET", "/nowhere")
    assert got == 404 and "/ping" in text
    got, text, _ = _raw(served["port"], "GET", "/execution-parameters")
    assert got == 200 and json.loads(text)["MaxPayloadInMB"] == 6


def test_a_body_over_6_mb_is_413_and_the_server_keeps_serving(served, runtime):
    big = b"x" * (MAX_PAYLOAD_BYTES + 1)
    got, text, headers = _post(served, big, "text/csv")
    assert got == 413 and "6 MB" in text
    with pytest.raises(ClientError) as err:  # the runtime refuses before sending, as AWS does
        runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=big)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    response = runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body="fine")
    assert response["Body"].read()


def test_runtime_raises_model_error_with_the_servers_reason(runtime, served):
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body="a,b,c")
    assert isinstance(err.value, runtime.exceptions.ModelError)
    error = err.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert (
        "3 fields" in error["Error"]["Message"]
        and "client error (400)" in error["Error"]["Message"]
    )


def test_unknown_endpoint_is_a_validation_error(lab, runtime):
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName="no-such-ep", ContentType="text/csv", Body="x")
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert "no-such-ep" in str(err.value)
    sm = lab.client("sagemaker")
    for call in (sm.describe_endpoint, sm.delete_endpoint):
        with pytest.raises(ClientError) as err:
            call(EndpointName="no-such-ep")
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert "Could not find endpoint" in err.value.response["Error"]["Message"]


# -- concurrency ---------------------------------------------------------------------------------
def test_concurrent_clients_each_get_their_own_answers(lab, served, trained):
    texts = trained["holdout"]["review_body"].head(64).tolist()
    labels, _ = _expected(trained["model"], texts)
    expected = dict(zip(texts, labels, strict=True))
    failures: list[str] = []
    runtime = lab.client("sagemaker-runtime")  # one client shared by the threads, as boto3's

    def client(worker: int) -> None:
        for i in range(24):
            text = texts[(worker * 7 + i) % len(texts)]
            batch = [text] if i % 3 else [text, texts[i % len(texts)]]
            try:
                response = runtime.invoke_endpoint(
                    EndpointName=NAME, ContentType="text/csv", Body=endpoints.csv_body(batch)
                )
                got = endpoints.parse_csv_predictions(response["Body"].read(), ALL_KEYS)
                if got["predicted_label"].tolist() != [expected[t] for t in batch]:
                    failures.append(f"worker {worker} request {i}: wrong answer")
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(f"worker {worker} request {i}: {exc}")

    threads = [threading.Thread(target=client, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert failures == []


# -- batch predictions and scoring ---------------------------------------------------------------
def test_batch_predict_writes_out_file_and_scores(lab, served, trained):
    holdout = trained["holdout"]
    assert len(holdout) > 100
    uri = lab.s3_uri("data/balanced/holdout.csv")
    lab.wr.s3.to_csv(holdout, uri, index=False)
    result = endpoints.batch_predict(lab, NAME, uri, batch_size=100, progress=False)
    assert result.requests == -(-len(holdout) // 100)  # mini-batches of at most 100 reviews
    assert result.output_uri == lab.s3_uri(f"models/batch-predictions/{NAME}/holdout.csv.out")
    lines = lab.local_path(result.output_uri).read_text().splitlines()
    assert len(lines) == len(holdout)
    labels, _ = _expected(trained["model"], holdout["review_body"].tolist())
    frame = result.predictions
    assert list(frame.columns) == list(holdout.columns) + ALL_KEYS
    assert frame["predicted_label"].tolist() == labels
    scores = endpoints.evaluate(frame["sentiment"], frame["predicted_label"])
    truth = holdout["sentiment"].astype(str).tolist()
    assert scores.accuracy == pytest.approx(
        np.mean([a == b for a, b in zip(truth, labels, strict=True)])
    )
    assert scores.accuracy > 0.5  # a real model on real-looking text: well above chance (1/3)
    assert scores.per_class["label"].tolist() == ["-1", "0", "1"]
    assert int(scores.confusion.to_numpy().sum()) == len(holdout)
    fig = endpoints.plot_confusion_matrix(scores.confusion)
    assert fig.axes[0].get_xlabel() == "predicted sentiment"
    wrong = endpoints.misclassified(frame, n=3)
    assert len(wrong) <= 3 and (wrong["sentiment"].astype(str) != wrong["predicted_label"]).all()
    parallel = endpoints.batch_predict(
        lab, NAME, uri, output_path=lab.s3_uri("models/p/"), batch_size=64, max_concurrent=3
    )
    assert parallel.predictions["predicted_label"].tolist() == labels


def test_batch_predict_names_a_missing_column(lab, served):
    uri = lab.s3_uri("data/balanced/other.csv")
    lab.wr.s3.to_csv(pd.DataFrame({"text": ["a"]}), uri, index=False)
    with pytest.raises(ValueError, match="review_body"):
        endpoints.batch_predict(lab, NAME, uri, progress=False)


# -- lifecycle: failure, deletion ----------------------------------------------------------------
def _gone(lab, name):
    """Nothing of the endpoint is left: no endpoint, config or model, no record."""
    sm = lab.client("sagemaker")
    for call, kwargs in ((sm.describe_endpoint, {"EndpointName": name}),
                         (sm.describe_endpoint_config, {"EndpointConfigName": name}),
                         (sm.describe_model, {"ModelName": name})):  # fmt: skip
        with pytest.raises(ClientError, match="Could not find"):
            call(**kwargs)
    assert not (lab.home / "endpoints" / f"{name}.json").exists()


def test_dead_server_is_failed_not_in_service_and_can_be_deleted(lab, model_url):
    name = "doomed-ep"
    sm = lab.client("sagemaker")
    try:
        _deploy(lab, model_url, name)
        local = _local(lab, name)
        os.killpg(local["Pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(local["Pid"], local["Token"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        desc = sm.describe_endpoint(EndpointName=name)
        assert desc["EndpointStatus"] == "Failed"
        assert "not running" in desc["FailureReason"]
        listed = sm.list_endpoints(NameContains=name)["Endpoints"]
        assert [e["EndpointStatus"] for e in listed] == ["Failed"]
        with pytest.raises(WaiterError, match="Failed"):
            sm.get_waiter("endpoint_in_service").wait(EndpointName=name)
        with pytest.raises(ClientError) as err:
            lab.client("sagemaker-runtime").invoke_endpoint(
                EndpointName=name, ContentType="text/csv", Body="x"
            )
        assert err.value.response["Error"]["Code"] == "ValidationError"
        assert "not in service" in str(err.value)
    finally:
        _delete(lab, name)
    _gone(lab, name)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=name)


def test_a_model_that_cannot_load_fails_the_deploy_with_its_reason(lab, tmp_path):
    from sagemaker.exceptions import UnexpectedStatusException

    url = _upload(lab, tmp_path, {"model.joblib": b"not a pickle"}, "autopilot/bad/model.tar.gz")
    name = "broken-ep"
    try:
        with pytest.raises(UnexpectedStatusException, match="Failed.*MODEL LOAD FAILED"):
            _deploy(lab, url, name)
        desc = lab.client("sagemaker").describe_endpoint(EndpointName=name)
        assert desc["EndpointStatus"] == "Failed"
        assert "MODEL LOAD FAILED" in desc["FailureReason"]
    finally:
        _delete(lab, name)
    _gone(lab, name)


def test_wait_false_predicted_label_only_and_delete_stops_the_server(lab, model_url, trained):
    sm = lab.client("sagemaker")
    name = "plain-ep"
    try:
        returned = _deploy(lab, model_url, name, wait=False)  # no SAGEMAKER_INFERENCE_OUTPUT
        assert returned.endpoint_name == name  # the SDK's Predictor, without waiting
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] in ("Creating",
                                                                             "InService")  # fmt: skip
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name)
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        response = lab.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Body="so soft and pretty"
        )
        labels, _ = _expected(trained["model"], ["so soft and pretty"])
        assert response["Body"].read().decode().strip() == labels[0]  # predicted_label only
        assert endpoints.response_keys(lab, name) == ["predicted_label"]
        local = _local(lab, name)
        assert process_alive(local["Pid"], local["Token"]) is True
    finally:
        _delete(lab, name)
    # deleting stopped the server and removed its record, secret and unpacked model
    assert process_alive(local["Pid"], local["Token"]) is False
    with pytest.raises(OSError):
        _raw(local["Port"], "GET", "/ping")
    assert not os.path.exists(local["SecretFile"])
    assert not (lab.home / "endpoints" / "serving" / name).exists()
    _gone(lab, name)


def test_deploy_refuses_duplicates_bad_names_keys_and_counts(lab, served, model_url):
    sm = lab.client("sagemaker")
    before = {k: len(v) for k, v in (("models", sm.list_models()["Models"]),
                                     ("configs", sm.list_endpoint_configs()["EndpointConfigs"]))}  # fmt: skip
    with pytest.raises(ClientError, match="Cannot create already existing endpoint"):
        _deploy(lab, model_url, NAME)  # the SDK reuses the model; the config exists
    with pytest.raises(ClientError, match="Cannot create already existing endpoint"):
        sm.create_endpoint(EndpointName=NAME.upper(), EndpointConfigName=NAME)
    assert sm.describe_endpoint(EndpointName=NAME)["EndpointStatus"] == "InService"  # untouched
    with pytest.raises(ClientError, match="1 to 63 letters"):
        _deploy(lab, model_url, "bad_name!")
    with pytest.raises(ClientError, match=r"SAGEMAKER_INFERENCE_OUTPUT names \['score'\]"):
        _deploy(lab, model_url, "x-ep", ["score"])
    with pytest.raises(NotImplementedError, match="initial_instance_count=2"):
        _deploy(lab, model_url, "x-ep", initial_instance_count=2)
    sm.delete_model(ModelName="x-ep")  # the SDK's CreateModel came before the refused config
    missing = f"s3://{BUCKET}/autopilot/no/such/model.tar.gz"
    with pytest.raises(ClientError, match=f"Could not find model data at {missing}"):
        _deploy(lab, missing, "x-ep")
    assert not (lab.home / "endpoints" / "x-ep.json").exists()
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [NAME]
    after = {k: len(v) for k, v in (("models", sm.list_models()["Models"]),
                                    ("configs", sm.list_endpoint_configs()["EndpointConfigs"]))}  # fmt: skip
    assert after == before


# -- a model that answers in its own container's format -------------------------------------------
HOOK_MODULE = """
import json
from pathlib import Path


class EchoModel:
    # no predict_proba, no classes_: the server must not ask for them
    content_types = ("application/json", "application/x-echo")

    def __init__(self, log):
        self.log = str(log)

    def bind(self, folder):  # what the local/automl-* images' serve entry calls
        return self

    def invocations(self, body, content_type, accept):
        with Path(self.log).open("a") as fh:
            fh.write(json.dumps([body.decode(), content_type, accept]) + "\\n")
        data = json.loads(body)  # a JSONDecodeError is a ValueError: the server answers 400
        if data == "crash":
            raise RuntimeError("the model broke")
        if not isinstance(data, dict) or "instances" not in data:
            raise ValueError('send {"instances": [...]}, please')
        answer = [{"echo": t, "accept": accept} for t in data["instances"]]
        return json.dumps(answer).encode(), "application/vnd.echo+json"


class FailingWarmUp(EchoModel):
    sample_request = (b'"crash"', "application/json")
"""


@pytest.fixture
def hook_url(lab, tmp_path, monkeypatch):
    """``hook_url(cls)``: a model.tar.gz in the lake holding an EchoModel (the hook model) or
    its failing variant, importable by the server (PYTHONPATH); and the hook's call log."""
    import importlib

    from utils.local.automl.model import write_model_tar

    (tmp_path / "endpoint_hook_model.py").write_text(HOOK_MODULE)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("endpoint_hook_model")
    log = tmp_path / "calls.jsonl"

    def url(cls: str) -> str:
        import joblib

        folder = tmp_path / cls
        folder.mkdir()
        joblib.dump(getattr(module, cls)(log), folder / "model.joblib")
        write_model_tar(folder / "model.tar.gz", {"model.joblib": folder / "model.joblib"})
        key = f"autopilot/hook/{cls}/model.tar.gz"
        lab.client("s3").upload_file(str(folder / "model.tar.gz"), BUCKET, key)
        return f"s3://{BUCKET}/{key}"

    yield url, log
    sys.modules.pop("endpoint_hook_model", None)


def test_a_model_with_an_invocations_hook_answers_verbatim(lab, hook_url, runtime):
    url, log = hook_url
    name = "hook-ep"
    try:
        _deploy(lab, url("EchoModel"), name)
        # warmed up through the hook (the model has no predict_proba to warm up with)
        warm_up = [json.loads(line) for line in log.read_text().splitlines()]
        assert warm_up == [['{"instances": ["warm-up review"]}', "application/json",
                            "application/json"]]  # fmt: skip
        local = _local(lab, name)
        hook = {"port": local["Port"], "secret": open(local["SecretFile"], "rb").read().strip()}
        body = b'{"instances": ["good", "bad"]}'
        status, text, headers = _post(hook, body, "application/json; charset=utf-8", "text/csv")
        assert status == 200 and headers["Content-Type"] == "application/vnd.echo+json"
        assert json.loads(text) == [{"echo": "good", "accept": "text/csv"},
                                    {"echo": "bad", "accept": "text/csv"}]  # fmt: skip
        # the hook saw the media type without its parameters, and the Accept header as sent
        assert json.loads(log.read_text().splitlines()[-1])[1:] == ["application/json", "text/csv"]
        # through the runtime, as boto3's invoke_endpoint: the same bytes and content type
        response = runtime.invoke_endpoint(EndpointName=name, ContentType="application/x-echo",
                                           Body=b'{"instances": ["x"]}')  # fmt: skip
        assert response["ContentType"] == "application/vnd.echo+json"
        assert json.loads(response["Body"].read()) == [{"echo": "x", "accept": ""}]

        # the hook's ValueError is a 400 with its message; the server keeps serving
        for bad, says in ((b'{"instances": ["a"', "Expecting"), (b'{"x": 1}', "please")):
            status, text, _ = _post(hook, bad, "application/json")
            assert status == 400 and says in text
        with pytest.raises(ClientError) as err:
            runtime.invoke_endpoint(EndpointName=name, ContentType="application/json",
                                    Body=b'{"x": 1}')  # fmt: skip
        assert err.value.response["OriginalStatusCode"] == 400
        assert "please" in err.value.response["Error"]["Message"]
        # a content type the model does not take is 415 before the hook is called; empty is 400
        calls = len(log.read_text().splitlines())
        status, text, _ = _post(hook, b"good", "text/csv")
        assert status == 415 and "application/json or application/x-echo" in text
        status, text, _ = _post(hook, b" ", "application/json")
        assert status == 400 and "empty" in text
        assert len(log.read_text().splitlines()) == calls
        # any other failure of the hook is a 500, and the server still serves
        status, text, _ = _post(hook, b'"crash"', "application/json")
        assert status == 500 and "RuntimeError: the model broke" in text
        status, text, _ = _post(hook, b'{"instances": ["still"]}', "application/json")
        assert status == 200 and json.loads(text)[0]["echo"] == "still"
        assert lab.client("sagemaker").describe_endpoint(EndpointName=name)[
            "EndpointStatus"] == "InService"  # fmt: skip
    finally:
        _delete(lab, name)


def test_a_hook_model_that_fails_its_warm_up_never_serves(lab, hook_url):
    from sagemaker.exceptions import UnexpectedStatusException

    url, _ = hook_url
    name = "hook-broken-ep"
    try:
        with pytest.raises(UnexpectedStatusException, match="MODEL LOAD FAILED: RuntimeError"):
            _deploy(lab, url("FailingWarmUp"), name)
        desc = lab.client("sagemaker").describe_endpoint(EndpointName=name)
        assert desc["EndpointStatus"] == "Failed" and "the model broke" in desc["FailureReason"]
    finally:
        _delete(lab, name)
    _gone(lab, name)


# -- the aws branch (moto) -----------------------------------------------------------------------
def test_aws_backend_uses_boto3_clients_and_sagemaker_keys(aws_lab):
    from botocore.client import BaseClient

    sm = aws_lab.client("sagemaker")  # boto3's own client, answered by moto
    assert isinstance(sm, BaseClient) and sm.meta.service_model.service_name == "sagemaker"
    assert sm.meta.region_name == "us-east-1"
    autopilot = "s3://lab-test-bucket/autopilot/job-1/model.tar.gz"
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability"}
    sm.create_model(
        ModelName="job-1-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/lab",
        Containers=[
            {"Image": "fe", "ModelDataUrl": autopilot},
            {"Image": "algo", "ModelDataUrl": autopilot, "Environment": env},
        ],
    )
    sm.create_endpoint_config(
        EndpointConfigName="job-1-ep",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "job-1-model", "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}
        ],
    )  # fmt: skip
    sm.create_endpoint(EndpointName="job-1-ep", EndpointConfigName="job-1-ep")
    assert sm.describe_endpoint(EndpointName="job-1-ep")["EndpointStatus"] == "InService"
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["job-1-ep"]
    assert endpoints.response_keys(aws_lab, "job-1-ep") == ["predicted_label", "probability"]
    runtime = aws_lab.client("sagemaker-runtime")
    assert runtime.meta.service_model.service_name == "sagemaker-runtime"
    from sagemaker.predictor import Predictor

    pred = Predictor("job-1-ep", sagemaker_session=aws_lab.session)
    pred.delete_model()
    pred.delete_endpoint()
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []


def test_latest_automl_job_on_aws_picks_the_labs_jobs(aws_lab):
    import boto3

    sm = boto3.client("sagemaker", region_name="us-east-1")
    source = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://x/train.csv"}}
    tabular = {
        "TargetAttributeName": "sentiment",
        "ProblemType": "MulticlassClassification",
        "CompletionCriteria": {"MaxCandidates": 1},
    }
    common = {
        "AutoMLJobInputDataConfig": [{"ChannelType": "training", "DataSource": source}],
        "AutoMLProblemTypeConfig": {"TabularJobConfig": tabular},
        "RoleArn": "arn:aws:iam::123456789012:role/lab",
    }
    sm.create_auto_ml_job_v2(
        AutoMLJobName="automl-dm-1",
        OutputDataConfig={"S3OutputPath": "s3://lab-test-bucket/autopilot"},
        **common,
    )
    sm.create_auto_ml_job_v2(
        AutoMLJobName="someone-else",
        OutputDataConfig={"S3OutputPath": "s3://other-bucket/out"},
        **common,
    )
    jobs = endpoints.list_automl_jobs(aws_lab)
    assert [j["AutoMLJobName"] for j in jobs] == ["automl-dm-1"]
    assert jobs[0]["S3OutputPath"] == "s3://lab-test-bucket/autopilot"
    assert jobs[0]["AutoMLJobStatus"] == "InProgress"  # moto's jobs never complete
    with pytest.raises(utils.errors.LabError, match="run 05_autopilot"):
        endpoints.latest_automl_job(aws_lab)


def test_latest_automl_job_without_any_local_job_names_05(local_lab):
    with pytest.raises(utils.errors.LabError, match="run 05_autopilot"):
        endpoints.latest_automl_job(local_lab)


def test_autopilot_ready_names_what_05_must_leave(local_lab):
    assert "no completed AutoML job" in endpoints.autopilot_ready(local_lab)


# -- parity with boto3 -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "operation", "method"),
    [
        ("sagemaker-runtime", "InvokeEndpoint", "invoke_endpoint"),
        ("sagemaker", "CreateModel", "create_model"),
        ("sagemaker", "CreateEndpointConfig", "create_endpoint_config"),
        ("sagemaker", "CreateEndpoint", "create_endpoint"),
        ("sagemaker", "DescribeEndpoint", "describe_endpoint"),
        ("sagemaker", "ListEndpoints", "list_endpoints"),
        ("sagemaker", "DeleteEndpoint", "delete_endpoint"),
        ("sagemaker", "DescribeEndpointConfig", "describe_endpoint_config"),
        ("sagemaker", "ListEndpointConfigs", "list_endpoint_configs"),
        ("sagemaker", "DeleteEndpointConfig", "delete_endpoint_config"),
        ("sagemaker", "DescribeModel", "describe_model"),
        ("sagemaker", "ListModels", "list_models"),
        ("sagemaker", "DeleteModel", "delete_model"),
    ],
)
def test_local_calls_take_boto3s_arguments(service, operation, method):
    """The local services' methods take exactly boto3's parameter names (botocore validates the
    request before it reaches them, so a name outside the model could never be passed)."""
    import inspect

    import botocore.session

    from utils.local.runtime import RuntimeService
    from utils.local.sagemaker.hosting import HostingAPI

    shape = botocore.session.get_session().get_service_model(service).operation_model(operation)
    members = set(shape.input_shape.members)
    required = set(shape.input_shape.required_members)
    owner = RuntimeService if service == "sagemaker-runtime" else HostingAPI
    params = inspect.signature(getattr(owner, method)).parameters
    names = {n for n in params if n != "self"}
    assert names <= members, f"not boto3 arguments: {names - members}"
    assert required <= names, f"boto3 requires {required - names}"
    required_here = {n for n, p in params.items() if n != "self" and p.default is p.empty}
    assert required_here <= required, f"optional on AWS, required here: {required_here - required}"
    if service == "sagemaker-runtime":
        assert names == members  # every InvokeEndpoint argument is accepted (or refused clearly)


# -- the batcher: concurrent requests in one model call -----------------------------------------
class _SlowModel:
    """Answers one row per text after a pause per call; 'boom' breaks the whole call."""

    classes_ = ["neg", "pos"]

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict_proba(self, texts):
        self.calls.append(list(texts))
        time.sleep(0.05)
        if "boom" in texts:
            raise ValueError("the model cannot read 'boom'")
        return np.array([[0.25, 0.75] if "good" in t else [0.9, 0.1] for t in texts])


def test_the_batcher_scores_concurrent_requests_together_and_isolates_a_failure():
    from utils.local.endpoint_server import Scorer

    model = _SlowModel()
    scorer = Scorer(model, ["predicted_label", "probability"])
    requests = [[f"good {i}"] if i % 2 else [f"bad {i}", f"good {i}"] for i in range(12)]
    requests[5] = ["boom"]
    answers: dict[int, object] = {}

    def send(i: int) -> None:
        try:
            answers[i] = scorer.batched(requests[i])
        except ValueError as exc:
            answers[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert isinstance(answers.pop(5), ValueError)  # the failing request fails alone
    for i, rows in answers.items():
        assert rows == [{"predicted_label": "pos" if "good" in t else "neg",
                         "probability": 0.75 if "good" in t else 0.9} for t in requests[i]]  # fmt: skip
    assert any(len(call) > 2 for call in model.calls)  # requests shared a model call
    assert len(model.calls) < len(requests) + 3
    assert scorer.batched(["good again"]) == [{"predicted_label": "pos", "probability": 0.75}]
