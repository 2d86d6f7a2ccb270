"""The local endpoint's inference server: SageMaker's inference container contract over HTTP.

AWS equivalent: the inference container behind a SageMaker endpoint. Run as
``python -m utils.local.endpoint_server --record <endpoint record> --instance <id>`` by
:mod:`utils.local.sagemaker.hosting` (CreateEndpoint), in its own process session. The
instance id only tells this server process apart from others (it is no secret: it shows in
``ps``). The server binds 127.0.0.1 on a free port, prints ``PORT <n>`` on its standard output
(its only output there), then loads the model: the endpoint model's ``model.tar.gz`` from the
lake, unpacked into the endpoint's own folder and loaded by the image's serve entry
(:mod:`utils.local.sagemaker.images`).

- ``GET /ping``: 200 once the model is loaded and has answered a warm-up prediction, 503 before.
- ``POST /invocations``: ``text/csv`` (one review per line; quote a review that holds a comma)
  or ``application/json`` (``{"instances": [...]}`` or a list; an instance is a string, a
  one-element list, or ``{"features": [text]}``). The answer holds the inference response keys
  the endpoint was deployed with (``predicted_label``, ``probability``, ``probabilities``,
  ``labels``), in the Accept type: ``text/csv`` (one line per review, keys in order, lists
  written as Python lists, as Autopilot's containers write them) or ``application/json``
  (``{"predictions": [{key: value, ...}, ...]}``). Labels are strings, as Autopilot's inverse
  label transform returns them.
- ``GET /execution-parameters``: what a batch transform job asks a container for.

A model that answers in its own container's format (BlazingText's ``{"instances": [...]}`` ->
``[{"label": [...], "prob": [...]}]``) has a hook, ``invocations(body, content_type, accept)
-> (response body, response content type)``: the server hands it every ``/invocations`` request
whose Content-Type is one of the model's ``content_types`` (415 otherwise) and answers its bytes
and content type verbatim; a ``ValueError`` from the hook is a 400 with its message. Such a
model needs no ``predict_proba`` or ``classes_``; it is warmed up with its ``sample_request``
(``(body, content_type)``, by default ``{"instances": ["warm-up review"]}`` as JSON). The
Accept header is the hook's to honour (BlazingText ignores it and answers in the request's type).

Bad requests get a plain-text reason and the server keeps serving: an empty body or malformed
CSV / JSON is 400, a body over SageMaker's 6 MB payload limit 413, an unknown Content-Type 415,
an Accept type it cannot produce 406. Requests are served concurrently (one thread per
connection, HTTP/1.1 keep-alive); the model is called by one thread at a time, so a model that
is not thread-safe is still answered correctly, and the reviews of requests that arrive while it
is busy are scored together in its next call (:class:`Batcher`). Errors and the startup are
logged to the log file that the parent gave as standard error.

Authentication (the endpoint is reachable by every local user on 127.0.0.1): each endpoint has
a secret of its own in a file that only the lab home's owner can read (mode 0600, path in the
endpoint record; never on a command line, never in a response). A client proves it holds the
secret, and the server proves it to the client, with HMAC-SHA256:

- the client sends ``X-Lab-Nonce`` (a fresh random hex string) and ``X-Lab-Signature``, the
  HMAC of the method, path, nonce, Content-Type, Accept and the body's SHA-256
  (:func:`request_signature`). ``POST /invocations`` without a valid signature is refused
  with 403 before the model sees it.
- every answer to a request that carries a nonce has ``X-Lab-Signature``, the HMAC of the
  nonce, the status, the Content-Type and the body's SHA-256 (:func:`response_signature`).
  The runtime trusts an answer only if it checks: a process that squats the port, or echoes
  what it was sent, cannot sign the client's fresh nonce.

``GET /ping`` and ``GET /execution-parameters`` stay open (they reveal only whether the model
is loaded).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import signal
import stat
import sys
import tarfile
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker real-time endpoints: 6 MB per request
_DRAIN_LIMIT = 64 * 1024 * 1024  # read and discard an oversized body up to this, then close
MAX_BATCH_REVIEWS = 256  # reviews of concurrent requests scored in one model call, at most
GATHER_SECONDS = 0.005  # at most this wait for the clients of the last batch to send again
READ_TIMEOUT_ENV = "SAGEMAKER_MODEL_SERVER_TIMEOUT"  # seconds a request may take to arrive (60)
READ_TIMEOUT = 60.0  # SageMaker's model server timeout, and InvokeEndpoint's 60 s
IDLE_TIMEOUT = 300.0  # a kept-alive connection that sends nothing for this long is closed
TOO_DEEP = ("the JSON body is nested too deeply to read (thousands of levels of lists or "
            "objects): send a list of reviews")  # fmt: skip
SUPPORTED_KEYS = ("predicted_label", "probability", "probabilities", "labels")
DEFAULT_KEYS = ("predicted_label",)  # what an Autopilot container answers unless told otherwise
CONTENT_TYPES = ("text/csv", "application/json")
ACCEPT_TYPES = ("text/csv", "application/json")
DEFAULT_ACCEPT = "text/csv"  # Autopilot's SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT
HOOK = "invocations"  # a model with this method answers /invocations itself
SAMPLE_REQUEST = (b'{"instances": ["warm-up review"]}', "application/json")
NONCE_HEADER = "X-Lab-Nonce"
SIGNATURE_HEADER = "X-Lab-Signature"
_NONCE_RE = re.compile(r"^[0-9a-f]{32,128}$")


class RequestError(Exception):
    """A request the server refuses, with the HTTP status and a reason for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- the secret and the signatures ----------------------------------------------------------------
class SecretError(Exception):
    """The endpoint's secret file is missing, or others could read or replace it."""


def read_secret(path: str | os.PathLike[str]) -> bytes:
    """The endpoint's secret; refused unless the file is ours and nobody else can read it.

    AWS equivalent: the credentials that SigV4 signs InvokeEndpoint requests with."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise SecretError(f"the endpoint's secret file {path} cannot be read: {exc}") from None
    try:
        info = os.fstat(fd)
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise SecretError(f"the endpoint's secret file {path} belongs to another user")
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
            raise SecretError(
                f"the endpoint's secret file {path} has mode {stat.filemode(info.st_mode)}: "
                "only its owner may read it (0600); delete the endpoint and create it again"
            )
        secret = os.read(fd, 1024).strip()
    finally:
        os.close(fd)
    if len(secret) < 32:
        raise SecretError(f"the endpoint's secret file {path} holds no secret")
    return secret


def _digest(body: bytes) -> bytes:
    return hashlib.sha256(body).hexdigest().encode()


def request_signature(secret: bytes, method: str, path: str, nonce: str, content_type: str,
                      accept: str, body: bytes) -> str:  # fmt: skip
    """What a client sends as ``X-Lab-Signature``: it holds the endpoint's secret.

    AWS equivalent: the SigV4 signature of an InvokeEndpoint request."""
    parts = [b"lab-endpoint-request-v1", method.encode(), path.encode(), nonce.encode(),
             content_type.encode(), accept.encode(), _digest(body)]  # fmt: skip
    return hmac.new(secret, b"\n".join(parts), hashlib.sha256).hexdigest()


def response_signature(secret: bytes, nonce: str, status: int, content_type: str,
                       body: bytes) -> str:  # fmt: skip
    """What the server answers as ``X-Lab-Signature``: it is this endpoint's server.

    AWS equivalent: TLS, which proves to the client that it talks to SageMaker."""
    parts = [b"lab-endpoint-response-v1", nonce.encode(), str(int(status)).encode(),
             content_type.encode(), _digest(body)]  # fmt: skip
    return hmac.new(secret, b"\n".join(parts), hashlib.sha256).hexdigest()


def valid_nonce(value: str | None) -> bool:
    """A client's nonce: 32 to 128 lowercase hex digits (AWS: none, TLS does this)."""
    return bool(value) and _NONCE_RE.match(str(value)) is not None


# -- the model -----------------------------------------------------------------------------------
def load_model(source: dict[str, Any]) -> Any:
    """Unpack the model container's ``model.tar.gz`` from the lake into the endpoint's folder
    and load it with the image's serve entry.

    ``source`` is ``{"image", "model_data", "home", "folder"}`` (the endpoint record's
    ``ModelSource``). AWS equivalent: SageMaker copying the model data to ``/opt/ml/model``
    and starting the inference container."""
    from utils.local.lake import LocalLake

    archive = LocalLake(Path(source["home"])).path_for(source["model_data"])
    if not archive.is_file():
        raise FileNotFoundError(f"Could not find model data at {source['model_data']}.")
    folder = Path(source["folder"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(folder, filter="data")
    return open_model(source["image"], folder)


def open_model(image: str, folder: Path) -> Any:
    """The model in an unpacked ``model.tar.gz``, loaded by the image's serve entry.

    AWS equivalent: the inference container loading ``/opt/ml/model``."""
    from utils.local.sagemaker import images

    return images.find(image, "serve", "CreateEndpoint").entry("serve")(folder)


def has_hook(model: Any) -> bool:
    """True when the model answers ``/invocations`` itself (its container's own format)."""
    return callable(getattr(model, HOOK, None))


class Scorer:
    """Turns review texts into the requested response keys with one model call per request.

    For a model with the ``invocations`` hook it only serializes the calls (:meth:`invoke`).
    """

    def __init__(self, model: Any, keys: list[str]) -> None:
        self.model = model
        self.keys = list(keys)
        self.lock = threading.Lock()
        self._batcher: Batcher | None = None
        self.hook = has_hook(model)
        if self.hook:
            types = getattr(model, "content_types", CONTENT_TYPES)
            self.content_types = tuple(media_type(t) for t in types)
            classes = getattr(model, "classes_", None)
            self.labels = [str(c) for c in classes] if classes is not None else None
            self.use_proba = False
            return
        self.content_types = CONTENT_TYPES
        has_proba = callable(getattr(model, "predict_proba", None))
        needs_proba = any(k != "predicted_label" for k in self.keys)
        if needs_proba and not has_proba:
            raise TypeError(
                f"the model ({type(model).__name__}) has no predict_proba, so it cannot answer "
                f"{self.keys}; deploy it with inference_response_keys=['predicted_label']"
            )
        if has_proba and getattr(model, "classes_", None) is None:
            raise TypeError(f"the model ({type(model).__name__}) has predict_proba but no classes_")
        self.use_proba = has_proba
        self.labels = [str(c) for c in model.classes_] if has_proba else None

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """The hook's answer: ``(body, content type)``; a ValueError is the caller's mistake."""
        with self.lock:
            answer = getattr(self.model, HOOK)(body, content_type, accept)
        if (
            not isinstance(answer, tuple)
            or len(answer) != 2
            or not isinstance(answer[0], bytes | bytearray)
            or not isinstance(answer[1], str)
        ):
            raise TypeError(
                f"{type(self.model).__name__}.{HOOK} returned {type(answer).__name__}; expected "
                "(body bytes, content type)"
            )
        return bytes(answer[0]), answer[1]

    def warm_up(self) -> None:
        """One prediction before InService: a model that cannot answer never serves."""
        if self.hook:
            body, content_type = getattr(self.model, "sample_request", SAMPLE_REQUEST)
            self.invoke(body, media_type(content_type), content_type)
        else:
            self.score(["warm-up review"])

    def batched(self, texts: list[str]) -> list[dict[str, Any]]:
        """:meth:`score` for one request, in one model call with the requests waiting beside
        it (see :class:`Batcher`): what the handler threads call."""
        with self.lock:
            if self._batcher is None:
                self._batcher = Batcher(self)
        return self._batcher.score(texts)

    def score(self, texts: list[str]) -> list[dict[str, Any]]:
        """The response keys for each text, from one model call (under the lock)."""
        if self.use_proba:
            with self.lock:
                proba = self.model.predict_proba(texts)
            rows = [list(map(float, row)) for row in proba]
            if len(rows) != len(texts) or any(len(r) != len(self.labels) for r in rows):
                raise RuntimeError(
                    f"predict_proba returned {len(rows)} rows for {len(texts)} reviews "
                    f"(expected {len(self.labels)} columns, one per class)"
                )
            out = []
            for row in rows:
                best = max(range(len(row)), key=row.__getitem__)
                item: dict[str, Any] = {}
                for key in self.keys:
                    if key == "predicted_label":
                        item[key] = self.labels[best]
                    elif key == "probability":
                        item[key] = row[best]
                    elif key == "probabilities":
                        item[key] = row
                    else:  # labels
                        item[key] = list(self.labels)
                out.append(item)
            return out
        with self.lock:
            predicted = list(self.model.predict(texts))
        return [{"predicted_label": str(p)} for p in predicted]


class _Pending:
    """One request's reviews waiting for the batcher, and its answer once scored."""

    __slots__ = ("done", "error", "result", "texts")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.done = threading.Event()
        self.result: list[dict[str, Any]] | None = None
        self.error: BaseException | None = None


class Batcher:
    """Scores the reviews of concurrent requests in one model call (dynamic batching).

    A request's reviews wait in a queue; the model's one thread takes everything that waits
    (up to :data:`MAX_BATCH_REVIEWS` reviews; a larger request goes alone), scores it with one
    call of :meth:`Scorer.score` and hands each request its own rows. A request that finds the
    model idle is scored at once, alone; while the model is busy, the requests that arrive form
    the next batch, and the clients of the last batch get up to :data:`GATHER_SECONDS` to send
    their next request (a round trip, not a model call) and join it. A model call costs mostly
    the same for one review or ten (the per-call work of the featurizers, the stacked models
    and the ensemble), so under load this multiplies what the server answers. Models score rows
    independently, so a review's answer is the same alone or in a batch (the benchmark checks
    it byte for byte). If a batch fails, each of its requests is scored again alone, so one bad
    request fails only itself, with the model's own error. AWS equivalent: the server-side
    batching of SageMaker's model servers (TorchServe's and Triton's dynamic batching).
    """

    def __init__(self, scorer: Scorer, max_reviews: int | None = None) -> None:
        self.scorer = scorer
        self.max_reviews = max_reviews or MAX_BATCH_REVIEWS
        self._queue: collections.deque[_Pending] = collections.deque()
        self._ready = threading.Condition(threading.Lock())
        self._last = 1  # requests in the last batch
        self.batches = 0
        self.requests = 0
        threading.Thread(target=self._run, name="batcher", daemon=True).start()

    def score(self, texts: list[str]) -> list[dict[str, Any]]:
        """This request's rows, once the batch that holds it is scored."""
        pending = _Pending(texts)
        with self._ready:
            self._queue.append(pending)
            self._ready.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _take(self) -> list[_Pending]:
        with self._ready:
            while not self._queue:
                self._ready.wait()
            deadline = time.monotonic() + GATHER_SECONDS
            while len(self._queue) < self._last and (left := deadline - time.monotonic()) > 0:
                self._ready.wait(left)
            batch = [self._queue.popleft()]
            size = len(batch[0].texts)
            while self._queue and size + len(self._queue[0].texts) <= self.max_reviews:
                size += len(self._queue[0].texts)
                batch.append(self._queue.popleft())
            self._last = len(batch)
            self.batches += 1
            self.requests += len(batch)
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                if len(batch) == 1:
                    self._alone(batch[0])
                    continue
                try:
                    rows = self.scorer.score([t for p in batch for t in p.texts])
                except Exception:  # noqa: BLE001 - one request may be what broke the call
                    for pending in batch:
                        self._alone(pending)
                    continue
                start = 0
                for pending in batch:
                    pending.result = rows[start : start + len(pending.texts)]
                    start += len(pending.texts)
            finally:
                for pending in batch:
                    pending.done.set()

    def _alone(self, pending: _Pending) -> None:
        try:
            pending.result = self.scorer.score(pending.texts)
        except Exception as exc:  # noqa: BLE001 - handed to the request's thread
            pending.error = exc


# -- request bodies ------------------------------------------------------------------------------
def media_type(header: str | None) -> str:
    """``'text/csv; charset=utf-8'`` -> ``'text/csv'``."""
    return (header or "").split(";", 1)[0].strip().lower()


def choose_accept(header: str | None) -> str:
    """The response type for an Accept header (a list, q-values ignored; ``*/*`` -> CSV)."""
    if not header or not header.strip():
        return DEFAULT_ACCEPT
    offered = [media_type(part) for part in header.split(",")]
    for kind in offered:
        if kind in ACCEPT_TYPES:
            return kind
        if kind in ("*/*", "text/*"):
            return DEFAULT_ACCEPT
        if kind == "application/*":
            return "application/json"
    raise RequestError(
        HTTPStatus.NOT_ACCEPTABLE,
        f"Accept {header!r} is not supported: this endpoint answers {', '.join(ACCEPT_TYPES)}",
    )


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"the body is not UTF-8 text (byte {exc.start}: {body[exc.start : exc.start + 1]!r})",
        ) from None


def parse_csv(body: bytes) -> list[str]:
    """One review per CSV record (blank lines skipped); a record must have exactly one field."""
    reader = csv.reader(io.StringIO(_text(body), newline=""), strict=True)
    texts: list[str] = []
    try:
        for record in reader:
            if not record:
                continue
            if len(record) != 1:
                raise RequestError(
                    HTTPStatus.BAD_REQUEST,
                    f"malformed CSV: line {reader.line_num} has {len(record)} fields; the model "
                    "takes one column, the review text (remove its commas, or quote it)",
                )
            texts.append(record[0])
    except csv.Error as exc:
        raise RequestError(
            HTTPStatus.BAD_REQUEST, f"malformed CSV at line {reader.line_num}: {exc}"
        ) from None
    if not texts:
        raise RequestError(
            HTTPStatus.BAD_REQUEST, "the CSV body holds no review (only blank lines)"
        )
    return texts


def parse_json(body: bytes) -> list[str]:
    """``{"instances": [...]}`` or a list of instances.

    An instance is a text, ``[text]`` or ``{"features": [text]}``.
    """
    try:
        data = json.loads(_text(body))
    except json.JSONDecodeError as exc:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from None
    except RecursionError:
        raise RequestError(HTTPStatus.BAD_REQUEST, TOO_DEEP) from None
    if isinstance(data, dict):
        if "instances" not in data:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f'a JSON object must be {{"instances": [...]}}; it has the keys {sorted(data)}',
            )
        data = data["instances"]
    if not isinstance(data, list):
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            'expected a JSON list of reviews (or {"instances": [...]}), '
            f"got {type(data).__name__}",
        )
    if not data:
        raise RequestError(HTTPStatus.BAD_REQUEST, "the JSON body holds no instance (empty list)")
    texts: list[str] = []
    for i, item in enumerate(data):
        if isinstance(item, dict) and "features" in item:
            item = item["features"]
        if isinstance(item, list) and len(item) == 1:
            item = item[0]
        if not isinstance(item, str):
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f'instance {i}: expected a review text, [text] or {{"features": [text]}}, '
                f"got {json.dumps(item)[:80]}",
            )
        texts.append(item)
    return texts


def encode(predictions: list[dict[str, Any]], keys: list[str], accept: str) -> bytes:
    """The response body: CSV lines with the keys in order, or ``{"predictions": [...]}``."""
    if accept == "application/json":
        return json.dumps({"predictions": predictions}).encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for item in predictions:
        writer.writerow([item[k] for k in keys])
    return buffer.getvalue().encode("utf-8")


# -- HTTP ----------------------------------------------------------------------------------------
class State:
    """What the handler threads share: the scorer once loaded, and the endpoint's identity."""

    def __init__(self, name: str, secret: bytes, keys: list[str],
                 read_timeout: float = READ_TIMEOUT) -> None:  # fmt: skip
        self.name = name
        self.read_timeout = float(read_timeout)
        self.secret = secret
        self.keys = keys
        self.scorer: Scorer | None = None
        self.requests = 0
        self.errors = 0
        self.count_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per client, no handshake per call
    disable_nagle_algorithm = True  # small responses leave at once (no 40 ms delayed-ACK stall)
    server_version = "LocalSageMakerEndpoint/1.0"
    timeout = IDLE_TIMEOUT  # the socket's timeout between requests (headers included)
    state: State  # set on the subclass made in serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # no access log: errors are logged where they happen

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        close: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Endpoint-Name", self.state.name)
        nonce = self.headers.get(NONCE_HEADER)
        if valid_nonce(nonce):  # prove to the client that this is the endpoint's server
            mac = response_signature(self.state.secret, nonce, status, content_type, body)
            self.send_header(SIGNATURE_HEADER, mac)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, close: bool = False) -> None:
        with self.state.count_lock:
            self.state.errors += 1
        _log(f"{self.command} {self.path} -> {int(status)}: {message}")
        self._send(status, (message + "\n").encode("utf-8"), close=close)

    def do_GET(self) -> None:
        if self.path == "/ping":
            if self.state.scorer is None:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"loading the model\n")
            else:
                self._send(HTTPStatus.OK, b"")
        elif self.path == "/execution-parameters":
            body = {
                "MaxConcurrentTransforms": 4,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": MAX_PAYLOAD_BYTES // (1024 * 1024),
            }
            self._send(HTTPStatus.OK, json.dumps(body).encode(), "application/json")
        else:
            self._error(
                HTTPStatus.NOT_FOUND, f"no such path {self.path!r}: use /ping or /invocations"
            )

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._discard_body()
            self._error(HTTPStatus.NOT_FOUND, f"no such path {self.path!r}: POST to /invocations")
            return
        with self.state.count_lock:
            self.state.requests += 1
        signed = valid_nonce(self.headers.get(NONCE_HEADER)) and self.headers.get(SIGNATURE_HEADER)
        if not signed:
            self._discard_body()
            self._error(HTTPStatus.FORBIDDEN, "this endpoint takes only signed requests: call it "
                        "through the sagemaker-runtime client (invoke_endpoint)")  # fmt: skip
            return
        try:
            body = self._read_body()
            if not self._signature_ok(body):
                raise RequestError(HTTPStatus.FORBIDDEN, "the request's signature does not "
                                   "match: it was not signed with this endpoint's secret")  # fmt: skip
            scorer = self.state.scorer
            if scorer is None:
                raise RequestError(HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading")
            kind = media_type(self.headers.get("Content-Type"))
            if kind not in scorer.content_types:
                raise RequestError(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"Content-Type {self.headers.get('Content-Type')!r} is not supported: send "
                    f"{' or '.join(scorer.content_types)}",
                )
            if not body.strip():
                raise RequestError(
                    HTTPStatus.BAD_REQUEST, "the request body is empty: send reviews"
                )
            if scorer.hook:
                try:
                    answer, answer_type = scorer.invoke(body, kind, self.headers.get("Accept", ""))
                except ValueError as exc:  # the request's fault, in the model's own words
                    raise RequestError(HTTPStatus.BAD_REQUEST, str(exc)) from None
                except RecursionError:  # the model's parser met a body nested too deep
                    raise RequestError(HTTPStatus.BAD_REQUEST, TOO_DEEP) from None
                self._send(HTTPStatus.OK, answer, answer_type)
                return
            accept = choose_accept(self.headers.get("Accept"))
            texts = parse_csv(body) if kind == "text/csv" else parse_json(body)
            predictions = scorer.batched(texts)
            keys = scorer.keys if scorer.use_proba else ["predicted_label"]
            self._send(HTTPStatus.OK, encode(predictions, keys, accept), accept)
        except RequestError as exc:
            self._error(
                exc.status, exc.message, close=exc.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            )
        except Exception as exc:  # noqa: BLE001 - a model failure is a 500, and the server lives on
            _log(traceback.format_exc())
            self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, f"the model failed: {type(exc).__name__}: {exc}"
            )

    def _signature_ok(self, body: bytes) -> bool:
        expected = request_signature(
            self.state.secret, self.command, self.path, self.headers.get(NONCE_HEADER, ""),
            self.headers.get("Content-Type", ""), self.headers.get("Accept", ""), body,
        )  # fmt: skip
        return hmac.compare_digest(expected, self.headers.get(SIGNATURE_HEADER, ""))

    def _content_length(self) -> int:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise RequestError(
                HTTPStatus.LENGTH_REQUIRED,
                "send a Content-Length (chunked bodies are not accepted)",
            )
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0
        try:
            length = int(raw)
        except ValueError:
            raise RequestError(
                HTTPStatus.BAD_REQUEST, f"Content-Length {raw!r} is not a number"
            ) from None
        if length < 0:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length {length} is negative")
        return length

    def _read_body(self) -> bytes:
        length = self._content_length()
        if length > MAX_PAYLOAD_BYTES:
            if length <= _DRAIN_LIMIT:  # read it, so the client sees the answer, not a reset
                self._receive(length, keep=False)
            else:
                self.close_connection = True
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body has {length} bytes, over the 6 MB ({MAX_PAYLOAD_BYTES} bytes) limit of "
                "a real-time endpoint: send fewer reviews per request, or use batch predictions",
            )
        return self._receive(length) if length else b""

    def _receive(self, length: int, keep: bool = True) -> bytes:
        """The body's ``length`` bytes, all within the model server's timeout: a body that
        stops short (the client sent less than its Content-Length) is a 408 once the time is
        up, or a 400 if the client closed; either way the connection closes, so no thread
        waits for bytes that never come."""
        deadline = time.monotonic() + self.state.read_timeout
        parts: list[bytes] = []
        remaining = length
        try:
            while remaining > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(remaining, 1 << 20))
                if not chunk:
                    self.close_connection = True
                    raise RequestError(
                        HTTPStatus.BAD_REQUEST,
                        f"the body ended after {length - remaining} of the {length} bytes its "
                        "Content-Length announced",
                    )
                remaining -= len(chunk)
                if keep:
                    parts.append(chunk)
        except TimeoutError:
            self.close_connection = True
            raise RequestError(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the body did not arrive: {length - remaining} of the {length} bytes its "
                f"Content-Length announced came in {self.state.read_timeout:g} s "
                f"({READ_TIMEOUT_ENV}); send a Content-Length that matches the body",
            ) from None
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.timeout)
        return b"".join(parts)

    def _discard_body(self) -> None:
        try:
            length = self._content_length()
        except RequestError:
            self.close_connection = True
            return
        if length > _DRAIN_LIMIT:
            self.close_connection = True
        elif length:
            try:
                self._receive(length, keep=False)
            except RequestError:
                pass  # the connection closes; the caller answers the request's real fault


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 16 clients connecting at once must not overflow the backlog
    allow_reuse_address = False


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    sys.stderr.write(f"{stamp} [endpoint] {message.rstrip()}\n")
    sys.stderr.flush()


def serve(record_path: Path, instance: str) -> int:
    """Read the secret, bind, announce the port, load the model, serve until SIGTERM."""
    record = json.loads(record_path.read_text(encoding="utf-8"))
    name = record["EndpointName"]
    local = record["Local"]
    if local.get("Token") != instance:
        _log(f"the record {record_path} is not this server's (instance {instance}); exiting")
        return 2
    try:
        secret = read_secret(local["SecretFile"])
    except (SecretError, KeyError) as exc:
        _log(f"MODEL LOAD FAILED: {exc}")
        return 1
    state = State(name, secret, list(local["InferenceResponseKeys"]),
                  float(local.get("ModelServerTimeout") or READ_TIMEOUT))  # fmt: skip
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = Server(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # later prints go to the log, not the pipe

    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            _log(f"signal {signum}: shutting down")
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True
    )
    thread.start()
    _log(f"endpoint {name!r} listening on 127.0.0.1:{port} (pid {os.getpid()}); loading the model")
    started = time.perf_counter()
    try:
        model = load_model(local["ModelSource"])
        scorer = Scorer(model, state.keys)
        scorer.warm_up()  # a model that cannot predict never goes InService
    except Exception as exc:  # noqa: BLE001 - any load failure fails the endpoint
        _log(traceback.format_exc())
        _log(f"MODEL LOAD FAILED: {type(exc).__name__}: {exc}")
        server.shutdown()
        server.server_close()
        return 1
    state.scorer = scorer
    answers = (
        f"its own format ({HOOK} hook; {', '.join(scorer.content_types)})"
        if scorer.hook
        else f"response keys {state.keys}"
    )
    _log(
        f"model loaded in {time.perf_counter() - started:.2f} s: {type(model).__name__}, "
        f"labels {scorer.labels}, {answers}; InService"
    )
    while thread.is_alive():
        thread.join(0.5)
    server.server_close()
    _log(f"stopped after {state.requests} invocations ({state.errors} errors)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local SageMaker endpoint's HTTP server.")
    parser.add_argument("--record", required=True, help="the endpoint's JSON record")
    parser.add_argument("--instance", required=True, help="tells this server process apart "
                        "(not a secret: the secret is read from the file the record names)")  # fmt: skip
    args = parser.parse_args(argv)
    return serve(Path(args.record), args.instance)


if __name__ == "__main__":
    sys.exit(main())
