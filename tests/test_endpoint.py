"""The local endpoint: SageMaker's hosting contract over a real HTTP server and a real model.

One endpoint serves a TF-IDF + logistic regression model trained here on synthetic reviews; it
starts once for the module and is deleted in the fixture's teardown. Tests that break an
endpoint on purpose (kill it, feed it a corrupt model) start their own and delete them.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time

import joblib
import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError

import utils
from utils import endpoints
from utils.local.endpoint import (
    EndpointDeployError,
    LocalSageMaker,
    ModelSource,
    process_alive,
)
from utils.local.endpoint_server import MAX_PAYLOAD_BYTES

ALL_KEYS = ["predicted_label", "probability", "probabilities", "labels"]
NAME = "reviews-ep"
BUCKET = "lab-endpoint-bucket"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real model on balanced synthetic reviews, and reviews it never saw."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from utils import bias, datasets

    df = datasets.transform(datasets.generate_synthetic(3000, seed=11)).df
    df = bias.balance(df, by=["sentiment"], seed=11).sample(frac=1.0, random_state=0)
    train, holdout = df.iloc[: int(len(df) * 0.8)], df.iloc[int(len(df) * 0.8) :]
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    model.fit(train["review_body"].tolist(), train["sentiment"].tolist())
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    joblib.dump(model, path)
    return {"model": model, "path": path, "holdout": holdout.reset_index(drop=True)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return utils.connect("local", home=tmp_path_factory.mktemp("home") / "lake", bucket=BUCKET)


@pytest.fixture(scope="module")
def served(lab, trained):
    """The module's endpoint, InService; deleted (server stopped) at the end."""
    endpoints.deploy_model(lab, trained["path"], NAME, ALL_KEYS, predictor_cls=None)
    yield LocalSageMaker.from_lab(lab).endpoint_info(NAME)
    endpoints.delete_endpoint(lab, NAME, delete_model=True, missing_ok=True)


@pytest.fixture
def runtime(lab):
    client = endpoints.sagemaker_runtime(lab)
    yield client
    client.close()


def _raw(port: int, method: str, path: str, body: bytes = b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace"), dict(resp.getheaders())
    finally:
        conn.close()


def _expected(model, texts):
    proba = model.predict_proba(texts)
    labels = [str(c) for c in model.classes_]
    return [labels[i] for i in proba.argmax(axis=1)], proba


# -- deploy, describe, list ------------------------------------------------------------------------
def test_deploy_is_in_service_and_described_with_sagemaker_keys(lab, served):
    desc = endpoints.describe_endpoint(lab, NAME)
    assert desc["EndpointName"] == NAME
    assert desc["EndpointStatus"] == "InService"
    assert desc["EndpointArn"] == f"arn:aws:sagemaker:{lab.region}:000000000000:endpoint/{NAME}"
    assert desc["EndpointConfigName"] == NAME
    assert desc["CreationTime"].tzinfo is not None
    assert desc["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    record = json.loads((lab.home / "endpoints" / f"{NAME}.json").read_text())
    assert record["Local"]["Port"] == served["port"] and record["Local"]["Pid"] == served["pid"]
    assert [e["EndpointName"] for e in endpoints.list_endpoints(lab)] == [NAME]
    assert endpoints.list_endpoints(lab, status_equals="Failed") == []
    assert endpoints.response_keys(lab, NAME) == ALL_KEYS
    status, body, headers = _raw(served["port"], "GET", "/ping")
    assert status == 200 and headers["X-Endpoint-Name"] == NAME
    client = endpoints.sagemaker_client(lab)
    model = client.describe_model(ModelName=NAME)
    env = model["Containers"][0]["Environment"]
    assert env["SAGEMAKER_INFERENCE_OUTPUT"] == ",".join(ALL_KEYS)
    config = client.describe_endpoint_config(EndpointConfigName=NAME)
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"


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
    pred = endpoints.predictor(lab, NAME, JSONSerializer(), JSONDeserializer(), Predictor)
    assert isinstance(pred, Predictor)
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
    headers = {"Content-Type": content_type} if content_type else {}
    got, text, _ = _raw(served["port"], "POST", "/invocations", body, headers)
    assert got == status
    assert says in text
    ok, answer, _ = _raw(
        served["port"], "POST", "/invocations", b"lovely", {"Content-Type": "text/csv"}
    )
    assert ok == 200 and answer.count("\n") == 1


def test_unsupported_accept_and_unknown_path(served):
    got, text, _ = _raw(
        served["port"],
        "POST",
        "/invocations",
        b"x",
        {"Content-Type": "text/csv", "Accept": "image/png"},
    )
    assert got == 406 and "image/png" in text
    got, text, _ = _raw(served["port"], "GET", "/nowhere")
    assert got == 404 and "/ping" in text
    got, text, _ = _raw(served["port"], "GET", "/execution-parameters")
    assert got == 200 and json.loads(text)["MaxPayloadInMB"] == 6


def test_a_body_over_6_mb_is_413_and_the_server_keeps_serving(served, runtime):
    big = b"x" * (MAX_PAYLOAD_BYTES + 1)
    got, text, headers = _raw(
        served["port"], "POST", "/invocations", big, {"Content-Type": "text/csv"}
    )
    assert got == 413 and "6 MB" in text
    with pytest.raises(ClientError) as err:  # the runtime refuses before sending, as AWS does
        runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=big)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    response = runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body="fine")
    assert response["Body"].read()


def test_runtime_raises_model_error_with_the_servers_reason(runtime, served):
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body="a,b,c")
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
    with pytest.raises(ClientError) as err:
        endpoints.describe_endpoint(lab, "no-such-ep")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert endpoints.delete_endpoint(lab, "no-such-ep", missing_ok=True) == []


# -- concurrency ---------------------------------------------------------------------------------
def test_concurrent_clients_each_get_their_own_answers(lab, served, trained):
    texts = trained["holdout"]["review_body"].head(64).tolist()
    labels, _ = _expected(trained["model"], texts)
    expected = dict(zip(texts, labels, strict=True))
    failures: list[str] = []
    runtime = endpoints.sagemaker_runtime(lab)  # one client shared by the threads, as boto3's

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
def test_dead_server_is_failed_not_in_service_and_can_be_deleted(lab, trained):
    name = "doomed-ep"
    endpoints.deploy_model(lab, trained["path"], name, predictor_cls=None)
    try:
        info = LocalSageMaker.from_lab(lab).endpoint_info(name)
        os.killpg(info["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(info["pid"], None) is not False and time.monotonic() < deadline:
            time.sleep(0.05)
        desc = endpoints.describe_endpoint(lab, name)
        assert desc["EndpointStatus"] == "Failed"
        assert "not running" in desc["FailureReason"]
        assert [e["EndpointStatus"] for e in endpoints.list_endpoints(lab, name_contains=name)] == [
            "Failed"
        ]
        with pytest.raises(ClientError) as err:
            endpoints.sagemaker_runtime(lab).invoke_endpoint(
                EndpointName=name, ContentType="text/csv", Body="x"
            )
        assert "not in service" in str(err.value)
    finally:
        deleted = endpoints.delete_endpoint(lab, name, delete_model=True)
    assert deleted == [f"endpoint {name}", f"endpoint config {name}", f"model {name}"]
    assert not (lab.home / "endpoints" / f"{name}.json").exists()


def test_a_model_that_cannot_load_fails_the_deploy_with_its_reason(lab, tmp_path):
    bad = tmp_path / "model.joblib"
    bad.write_bytes(b"not a pickle")
    name = "broken-ep"
    try:
        with pytest.raises(EndpointDeployError, match="Failed. Reason: .*MODEL LOAD FAILED"):
            endpoints.deploy_model(lab, bad, name, predictor_cls=None)
        desc = endpoints.describe_endpoint(lab, name)
        assert desc["EndpointStatus"] == "Failed"
        assert "MODEL LOAD FAILED" in desc["FailureReason"]
    finally:
        endpoints.delete_endpoint(lab, name, delete_model=True, missing_ok=True)


LOADER_MODULE = """
import joblib
from pathlib import Path


def load_test_model(lab, path):
    assert lab.is_local and Path(lab.home).is_dir()
    return joblib.load(path)
"""


def test_loader_source_wait_false_and_delete_stops_the_server(lab, trained, tmp_path, monkeypatch):
    by_function = ModelSource.from_loader(endpoints.describe_endpoint)
    assert by_function.loader == "utils.endpoints:describe_endpoint"
    # a loader as the local Autopilot's load_candidate_model(lab, ...), imported by the server
    (tmp_path / "endpoint_test_loader.py").write_text(LOADER_MODULE)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    source = ModelSource.from_loader(
        "endpoint_test_loader:load_test_model", path=str(trained["path"])
    )
    name = "loader-ep"
    try:
        endpoints.deploy_model(
            lab, source, name, ["predicted_label"], wait=False, predictor_cls=None
        )
        assert endpoints.describe_endpoint(lab, name)["EndpointStatus"] in ("Creating", "InService")
        assert endpoints.wait_for_endpoint(lab, name, timeout=120)["EndpointStatus"] == "InService"
        response = endpoints.sagemaker_runtime(lab).invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Body="so soft and pretty"
        )
        labels, _ = _expected(trained["model"], ["so soft and pretty"])
        assert response["Body"].read().decode().strip() == labels[0]  # predicted_label only
        info = LocalSageMaker.from_lab(lab).endpoint_info(name)
        token = json.loads((lab.home / "endpoints" / f"{name}.json").read_text())["Local"]["Token"]
        assert process_alive(info["pid"], token) is True
    finally:
        endpoints.delete_endpoint(lab, name, delete_model=True, missing_ok=True)
    # deleting stopped the server and removed its record
    assert process_alive(info["pid"], token) is False
    with pytest.raises(OSError):
        _raw(info["port"], "GET", "/ping")
    with pytest.raises(ClientError):
        endpoints.describe_endpoint(lab, name)


def test_deploy_refuses_duplicates_bad_names_keys_and_counts(lab, served, trained):
    with pytest.raises(ClientError, match="already existing endpoint"):
        endpoints.deploy_model(lab, trained["path"], NAME, predictor_cls=None)
    assert endpoints.describe_endpoint(lab, NAME)["EndpointStatus"] == "InService"  # untouched
    with pytest.raises(ClientError, match="1 to 63 letters"):
        endpoints.deploy_model(lab, trained["path"], "bad_name!", predictor_cls=None)
    with pytest.raises(ValueError, match=r"Requested inference output keys \[score\]"):
        endpoints.deploy_model(lab, trained["path"], "x-ep", ["score"], predictor_cls=None)
    with pytest.raises(NotImplementedError, match="initial_instance_count=2"):
        endpoints.deploy_model(lab, trained["path"], "x-ep", initial_instance_count=2)
    with pytest.raises(FileNotFoundError):
        endpoints.deploy_model(lab, "/no/such/model.joblib", "x-ep")
    assert not (lab.home / "endpoints" / "x-ep.json").exists()


# -- a model that answers in its own container's format -------------------------------------------
HOOK_MODULE = """
import json
from pathlib import Path


class EchoModel:
    # no predict_proba, no classes_: the server must not ask for them
    content_types = ("application/json", "application/x-echo")

    def __init__(self, log):
        self.log = Path(log)

    def invocations(self, body, content_type, accept):
        with self.log.open("a") as fh:
            fh.write(json.dumps([body.decode(), content_type, accept]) + "\\n")
        data = json.loads(body)  # a JSONDecodeError is a ValueError: the server answers 400
        if data == "crash":
            raise RuntimeError("the model broke")
        if not isinstance(data, dict) or "instances" not in data:
            raise ValueError('send {"instances": [...]}, please')
        answer = [{"echo": t, "accept": accept} for t in data["instances"]]
        return json.dumps(answer).encode(), "application/vnd.echo+json"


def load_echo(lab, log):
    return EchoModel(log)


class FailingWarmUp(EchoModel):
    sample_request = (b'"crash"', "application/json")


def load_failing(lab, log):
    return FailingWarmUp(log)
"""


@pytest.fixture
def hook_source(tmp_path, monkeypatch):
    (tmp_path / "endpoint_hook_loader.py").write_text(HOOK_MODULE)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    log = tmp_path / "calls.jsonl"
    return log, lambda fn: ModelSource.from_loader(f"endpoint_hook_loader:{fn}", log=str(log))


def test_a_model_with_an_invocations_hook_answers_verbatim(lab, hook_source, runtime):
    log, source = hook_source
    name = "hook-ep"
    try:
        endpoints.deploy_model(lab, source("load_echo"), name, predictor_cls=None)
        # warmed up through the hook (the model has no predict_proba to warm up with)
        warm_up = [json.loads(line) for line in log.read_text().splitlines()]
        assert warm_up == [['{"instances": ["warm-up review"]}', "application/json",
                            "application/json"]]  # fmt: skip
        port = LocalSageMaker.from_lab(lab).endpoint_info(name)["port"]
        body = b'{"instances": ["good", "bad"]}'
        status, text, headers = _raw(port, "POST", "/invocations", body,
                                     {"Content-Type": "application/json; charset=utf-8",
                                      "Accept": "text/csv"})  # fmt: skip
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
            status, text, _ = _raw(port, "POST", "/invocations", bad,
                                   {"Content-Type": "application/json"})  # fmt: skip
            assert status == 400 and says in text
        with pytest.raises(ClientError) as err:
            runtime.invoke_endpoint(EndpointName=name, ContentType="application/json",
                                    Body=b'{"x": 1}')  # fmt: skip
        assert err.value.response["OriginalStatusCode"] == 400
        assert "please" in err.value.response["Error"]["Message"]
        # a content type the model does not take is 415 before the hook is called; empty is 400
        calls = len(log.read_text().splitlines())
        status, text, _ = _raw(port, "POST", "/invocations", b"good", {"Content-Type": "text/csv"})
        assert status == 415 and "application/json or application/x-echo" in text
        status, text, _ = _raw(port, "POST", "/invocations", b" ",
                               {"Content-Type": "application/json"})  # fmt: skip
        assert status == 400 and "empty" in text
        assert len(log.read_text().splitlines()) == calls
        # any other failure of the hook is a 500, and the server still serves
        status, text, _ = _raw(port, "POST", "/invocations", b'"crash"',
                               {"Content-Type": "application/json"})  # fmt: skip
        assert status == 500 and "RuntimeError: the model broke" in text
        status, text, _ = _raw(port, "POST", "/invocations", b'{"instances": ["still"]}',
                               {"Content-Type": "application/json"})  # fmt: skip
        assert status == 200 and json.loads(text)[0]["echo"] == "still"
        assert endpoints.describe_endpoint(lab, name)["EndpointStatus"] == "InService"
    finally:
        endpoints.delete_endpoint(lab, name, delete_model=True, missing_ok=True)


def test_a_hook_model_that_fails_its_warm_up_never_serves(lab, hook_source):
    _, source = hook_source
    name = "hook-broken-ep"
    try:
        with pytest.raises(EndpointDeployError, match="MODEL LOAD FAILED: RuntimeError"):
            endpoints.deploy_model(lab, source("load_failing"), name, predictor_cls=None)
    finally:
        endpoints.delete_endpoint(lab, name, delete_model=True, missing_ok=True)


# -- the aws branch (moto) -----------------------------------------------------------------------
def test_aws_backend_uses_boto3_clients_and_sagemaker_keys(aws_lab):
    import boto3

    sm = boto3.client("sagemaker", region_name="us-east-1")
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
    assert endpoints.describe_endpoint(aws_lab, "job-1-ep")["EndpointStatus"] == "InService"
    assert [e["EndpointName"] for e in endpoints.list_endpoints(aws_lab)] == ["job-1-ep"]
    assert endpoints.response_keys(aws_lab, "job-1-ep") == ["predicted_label", "probability"]
    runtime = endpoints.sagemaker_runtime(aws_lab)
    assert runtime.meta.service_model.service_name == "sagemaker-runtime"
    with pytest.raises(utils.errors.ConfigError, match="AutoML.deploy"):
        endpoints.deploy_model(aws_lab, "/tmp/model.joblib", "x")
    deleted = endpoints.delete_endpoint(aws_lab, "job-1-ep", delete_model=True)
    assert deleted == ["endpoint job-1-ep", "endpoint config job-1-ep", "model job-1-model"]
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []


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
def test_local_calls_take_boto3s_arguments(local_lab, service, operation, method):
    import inspect

    import botocore.session

    from utils.local.endpoint import LocalSageMakerRuntime

    shape = botocore.session.get_session().get_service_model(service).operation_model(operation)
    members = set(shape.input_shape.members)
    required = set(shape.input_shape.required_members)
    owner = LocalSageMakerRuntime if service == "sagemaker-runtime" else LocalSageMaker
    params = inspect.signature(getattr(owner, method)).parameters
    names = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert names <= members, f"not boto3 arguments: {names - members}"
    assert required <= names, f"boto3 requires {required - names}"
    if service == "sagemaker-runtime":
        assert names == members  # every InvokeEndpoint argument is accepted (or refused clearly)
