"""Requests that used to break the endpoint server (issue 14, the endpoint parts of item 9).

- A JSON body nested 100,000 levels deep was a 500 (Python's RecursionError): it is the
  caller's mistake, a 400 with the reason, through the runtime a ModelError.
- A request whose Content-Length exceeds its body held a server thread forever: the body must
  arrive within the model server's timeout (``SAGEMAKER_MODEL_SERVER_TIMEOUT``, 60 s by
  default, 2 s for this module's endpoint), else the answer is 408 and the connection closes;
  a body cut short by the client closing is a 400. The threads are released either way, and
  the server answers other clients meanwhile.

One endpoint (a small TF-IDF + logistic regression CandidateModel, deployed with the SDK's
``Model.deploy`` on ``lab.session``) serves the module; every request goes to 127.0.0.1, and
every wait is bounded. Each test asserts the error a user sees and that the lake is unchanged.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

import utils
from utils.local.endpoint_server import NONCE_HEADER, SIGNATURE_HEADER, request_signature

NAME = "faults-ep"
TIMEOUT = 2  # the endpoint's SAGEMAKER_MODEL_SERVER_TIMEOUT, seconds
DEEP = 100_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return utils.connect("local", home=tmp_path_factory.mktemp("faults") / "lake")


@pytest.fixture(scope="module")
def served(lab, tmp_path_factory):
    """The module's endpoint; its port, pid, secret and log; deleted at the end."""
    import pandas as pd
    from sagemaker.model import Model
    from sagemaker.predictor import Predictor
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from utils import datasets
    from utils.local.automl.model import (
        CandidateModel,
        IdentityFeaturizer,
        dump_model,
        write_model_tar,
    )

    df = datasets.transform(datasets.generate_synthetic(600, seed=9)).df
    estimator = make_pipeline(
        ColumnTransformer([("tfidf", TfidfVectorizer(), "review_body")]),
        LogisticRegression(max_iter=300),
    )
    estimator.fit(pd.DataFrame({"review_body": df["review_body"]}), df["sentiment"])
    model = CandidateModel(IdentityFeaturizer(), estimator, "MulticlassClassification",
                           list(estimator.classes_), ["review_body"], "sentiment")  # fmt: skip
    tar = tmp_path_factory.mktemp("model") / "model.tar.gz"
    write_model_tar(tar, {"model.joblib": dump_model(model)})
    bucket = lab.session.default_bucket()
    lab.client("s3").upload_file(str(tar), bucket, "autopilot/faults/model.tar.gz")
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability",
           "SAGEMAKER_MODEL_SERVER_TIMEOUT": str(TIMEOUT)}  # fmt: skip
    sdk_model = Model(image_uri="local/automl-logistic:latest", role=lab.role, env=env,
                      model_data=f"s3://{bucket}/autopilot/faults/model.tar.gz",
                      sagemaker_session=lab.session, name=NAME, predictor_cls=Predictor)  # fmt: skip
    predictor = sdk_model.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                                 endpoint_name=NAME)  # fmt: skip
    local = json.loads((lab.home / "endpoints" / f"{NAME}.json").read_text())["Local"]
    yield {"port": local["Port"], "pid": local["Pid"], "log": local["Log"],
           "secret": open(local["SecretFile"], "rb").read().strip()}  # fmt: skip
    predictor.delete_model()
    predictor.delete_endpoint()


def _request(served, body: bytes, content_type: str, length: int | None = None,
             signed: bool = True, full: bytes | None = None) -> bytes:  # fmt: skip
    """The bytes of a POST /invocations: headers (Content-Length ``length``, by default the
    body's), signed over ``full`` (the body it announces), then ``body``."""
    headers = {"Host": "127.0.0.1", "Content-Type": content_type,
               "Content-Length": str(len(body) if length is None else length)}  # fmt: skip
    if signed:
        nonce = secrets.token_hex(16)
        headers[NONCE_HEADER] = nonce
        headers[SIGNATURE_HEADER] = request_signature(
            served["secret"], "POST", "/invocations", nonce, content_type, "", full or body
        )
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST /invocations HTTP/1.1\r\n{head}\r\n".encode() + body


def _answer(sock: socket.socket, closes: bool = True) -> tuple[int, str, bool]:
    """Status, body text, and (``closes``) whether the server then closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed without an answer: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(v) for k, _, v in (h.partition(": ") for h in lines[1:])
                  if k.lower() == "content-length")  # fmt: skip
    while len(rest) < length:
        rest += sock.recv(65536)
    closed = closes and sock.recv(1) == b""
    return int(lines[0].split()[1]), rest[:length].decode("utf-8", "replace"), closed


def _connect(served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served["port"]), timeout=TIMEOUT + 20)
    return sock


def _threads(served) -> int:
    import psutil

    return psutil.Process(served["pid"]).num_threads()


def _still_serves(lab) -> None:
    response = lab.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=NAME, ContentType="text/csv", Body="lovely soft dress"
    )
    assert response["Body"].read().decode().count(",") == 1  # label, probability


NESTED = [
    "[" * DEEP + "]" * DEEP,
    '{"instances": ' + "[" * DEEP + '"x"' + "]" * DEEP + "}",
    '{"a": ' * DEEP + "1" + "}" * DEEP,
]


@pytest.mark.parametrize("body", NESTED, ids=["lists", "instances", "objects"])
def test_a_json_body_nested_100000_deep_is_a_400(lab, served, lake_state, body):
    before = lake_state(lab.home)
    log_before = open(served["log"], encoding="utf-8").read()
    runtime = lab.client("sagemaker-runtime")
    with pytest.raises(ClientError) as err:
        runtime.invoke_endpoint(EndpointName=NAME, ContentType="application/json", Body=body)
    assert isinstance(err.value, runtime.exceptions.ModelError)
    assert err.value.response["OriginalStatusCode"] == 400
    assert "nested too deeply" in err.value.response["OriginalMessage"]
    with _connect(served) as sock:  # straight to the server: the same 400, and it keeps serving
        sock.sendall(_request(served, body.encode(), "application/json"))
        status, text, _ = _answer(sock, closes=False)
    assert status == 400 and "nested too deeply" in text
    _still_serves(lab)
    new_log = open(served["log"], encoding="utf-8").read()[len(log_before) :]
    assert "-> 400" in new_log and "Traceback" not in new_log and "-> 500" not in new_log
    assert lake_state(lab.home) == before


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_body_shorter_than_its_content_length_is_408_and_frees_the_thread(
    lab, served, lake_state, signed
):
    before = lake_state(lab.home)
    _still_serves(lab)
    baseline = _threads(served)
    full = b"lovely soft dress\n" * 50
    with _connect(served) as sock:
        started = time.monotonic()
        sock.sendall(_request(served, full[:10], "text/csv", len(full), signed, full))
        _still_serves(lab)  # another client is answered while this body never arrives
        status, text, closed = _answer(sock)
        waited = time.monotonic() - started
    if signed:
        assert status == 408 and f"10 of the {len(full)} bytes" in text
        assert "SAGEMAKER_MODEL_SERVER_TIMEOUT" in text
    else:  # refused before the body matters; the connection still does not hang
        assert status == 403
    assert closed  # the server hung up: nothing more is read from this connection
    assert TIMEOUT - 0.5 <= waited < TIMEOUT + 10
    deadline = time.monotonic() + 10
    while _threads(served) > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads(served) <= baseline  # the handler thread ended
    _still_serves(lab)
    assert lake_state(lab.home) == before


def test_a_body_cut_short_by_the_client_is_a_400(lab, served, lake_state):
    before = lake_state(lab.home)
    full = b"lovely soft dress\n" * 50
    with _connect(served) as sock:
        sock.sendall(_request(served, full[:10], "text/csv", len(full), True, full))
        sock.shutdown(socket.SHUT_WR)  # the client is done sending, short of its Content-Length
        status, text, closed = _answer(sock)
    assert status == 400 and f"ended after 10 of the {len(full)} bytes" in text
    assert closed
    _still_serves(lab)
    assert lake_state(lab.home) == before


def test_many_stalled_requests_at_once_are_all_released(lab, served):
    count = 20
    _still_serves(lab)
    baseline = _threads(served)
    full = b"lovely soft dress\n" * 50
    socks = [_connect(served) for _ in range(count)]
    statuses: list[int] = []
    try:
        for sock in socks:
            sock.sendall(_request(served, full[:5], "text/csv", len(full), True, full))
        for _ in range(3):  # the server answers others while 20 of its threads wait for bytes
            _still_serves(lab)
        threads = [threading.Thread(target=lambda s=sock: statuses.append(_answer(s)[0]))
                   for sock in socks]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT + 20)
    finally:
        for sock in socks:
            sock.close()
    assert statuses == [408] * count
    deadline = time.monotonic() + 10
    while _threads(served) > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads(served) <= baseline
    _still_serves(lab)


def test_a_model_server_timeout_that_is_not_a_number_is_refused(lab, served):
    sm = lab.client("sagemaker")
    models = sm.list_models()["Models"]
    container = dict(sm.describe_model(ModelName=NAME)["PrimaryContainer"])
    variable = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
    for value in ("soon", "0", "-1", "1.5"):
        bad = {**container, "Environment": {**container["Environment"], variable: value}}
        with pytest.raises(ClientError) as err:
            sm.create_model(ModelName="bad-env-model", PrimaryContainer=bad,
                            ExecutionRoleArn=lab.role)  # fmt: skip
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert variable in str(err.value) and repr(value) in str(err.value)
    assert sm.list_models()["Models"] == models
