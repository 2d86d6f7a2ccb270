"""``sagemaker-runtime`` on the local backend: InvokeEndpoint over HTTP to the endpoint's server.

AWS equivalent: ``boto3.client("sagemaker-runtime").invoke_endpoint`` (what the sagemaker SDK's
``Predictor.predict`` calls). The endpoint is a local server (:mod:`utils.local.sagemaker.hosting`
starts it) on 127.0.0.1; this client sends each request signed with the endpoint's secret and
trusts an answer only when the server has signed it over the request's fresh nonce
(:mod:`utils.local.endpoint_server` describes the scheme), so a process that took over the
port is never taken for the endpoint. Connections are kept alive, one pool per thread (a client
shared by threads, as boto3's is, opens one connection per thread and server).

Errors are SageMaker Runtime's: ``ValidationError`` for a body over 6 MB, an unknown endpoint
(the name's case must match, as on AWS) or one that is not in service; ``ModelError`` (HTTP
424) when the server refuses the request, with ``OriginalStatusCode``, ``OriginalMessage`` and
``LogStreamArn``. Any other runtime call raises NotImplementedError naming it.
"""

from __future__ import annotations

import http.client
import io
import secrets
import socket
import threading
from typing import Any

from botocore.response import StreamingBody

from utils.local.endpoint_server import (
    MAX_PAYLOAD_BYTES,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SecretError,
    read_secret,
    request_signature,
    response_signature,
)
from utils.local.s3.service import _body_bytes as body_bytes
from utils.local.sagemaker.hosting import HostingStore, live_status, log_group, unsupported
from utils.local.service import Service, ServiceError, metadata

INVOKE_TIMEOUT = 60.0  # SageMaker real-time endpoints answer within 60 s
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
          http.client.CannotSendRequest, http.client.ResponseNotReady)  # fmt: skip


class Connections:
    """Kept-alive HTTP connections to local servers, one pool per thread.

    AWS equivalent: botocore's connection pool to the runtime endpoint."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _pool(self) -> dict[int, http.client.HTTPConnection]:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _connection(self, port: int, fresh: bool) -> http.client.HTTPConnection:
        pool = self._pool()
        conn = pool.get(port)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=INVOKE_TIMEOUT)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pool[port] = conn
        return conn

    def post(self, port: int, path: str, body: bytes,
             headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:  # fmt: skip
        """POST on this thread's connection to ``port`` (a fresh one if it went stale)."""
        for attempt in (0, 1):
            try:
                conn = self._connection(port, fresh=attempt == 1)
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if (resp.getheader("Connection") or "").lower() == "close":
                    conn.close()
                    self._pool().pop(port, None)
                return resp, data
            except _STALE:
                self._pool().pop(port, None)
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close this thread's connections."""
        for conn in self._pool().values():
            conn.close()
        self._local.pool = {}


class RuntimeService(Service):
    """Amazon SageMaker Runtime on the local backend: InvokeEndpoint.

    AWS equivalent: ``boto3.client("sagemaker-runtime")``."""

    service_name = "sagemaker-runtime"

    def __init__(self, account: Any) -> None:
        super().__init__(account)
        self._store = HostingStore(account)
        self._cache: dict[str, tuple[int, int, dict[str, Any], bytes | None]] = {}
        self._cache_lock = threading.Lock()
        self._connections = Connections()

    def _endpoint(self, name: Any) -> tuple[dict[str, Any], bytes | None] | None:
        """The endpoint's record and secret, re-read only when the record changed."""
        record = None
        path = self._store.path("endpoint", str(name))
        try:
            info = path.stat()
        except (FileNotFoundError, OSError):
            return None
        key = str(name).lower()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached and cached[:2] == (info.st_mtime_ns, info.st_size):
            return cached[2], cached[3]
        record = self._store.read("endpoint", name)
        if record is None:
            return None
        try:
            secret: bytes | None = read_secret(record["Local"]["SecretFile"])
        except (SecretError, KeyError):
            secret = None
        with self._cache_lock:
            self._cache[key] = (info.st_mtime_ns, info.st_size, record, secret)
        return record, secret

    def _not_in_service(self, name: str, why: str) -> ServiceError:
        return ServiceError("ValidationError", f"Endpoint {name} of account "
                            f"{self.account.account} is not in service: {why}")  # fmt: skip

    def invoke_endpoint(self, EndpointName: str, Body: Any, ContentType: str | None = None,
                        Accept: str | None = None, CustomAttributes: str | None = None,
                        TargetModel: str | None = None, TargetVariant: str | None = None,
                        TargetContainerHostname: str | None = None,
                        InferenceId: str | None = None, EnableExplanations: str | None = None,
                        InferenceComponentName: str | None = None, SessionId: str | None = None,
                        PrefixAwareId: str | None = None) -> dict[str, Any]:  # fmt: skip
        """InvokeEndpoint: {"Body": StreamingBody, "ContentType", "InvokedProductionVariant"}.

        A request the server refuses raises ``ModelError`` with the server's reason; an unknown
        or failed endpoint ``ValidationError``, as on AWS.
        """
        unsupported("InvokeEndpoint", TargetModel=TargetModel,
                    TargetContainerHostname=TargetContainerHostname,
                    EnableExplanations=EnableExplanations,
                    InferenceComponentName=InferenceComponentName, SessionId=SessionId,
                    PrefixAwareId=PrefixAwareId)  # fmt: skip
        data = body_bytes(Body)
        if len(data) > MAX_PAYLOAD_BYTES:
            raise ServiceError(
                "ValidationError",
                f"Body of {len(data)} bytes is over the {MAX_PAYLOAD_BYTES} bytes (6 MB) limit of "
                "InvokeEndpoint: send fewer reviews per request, or use batch predictions",
            )
        found = self._endpoint(EndpointName)
        if found is None or found[0]["EndpointName"] != EndpointName:
            raise ServiceError("ValidationError", f"Endpoint {EndpointName} of account "
                               f"{self.account.account} not found.")  # fmt: skip
        record, secret = found
        variant = record["ProductionVariants"][0]["VariantName"]
        if TargetVariant not in (None, variant):
            raise ServiceError("ValidationError", f"TargetVariant {TargetVariant!r}: the endpoint "
                               f"{EndpointName} has only the variant {variant!r}")  # fmt: skip
        local = record["Local"]
        if record.get("EndpointStatus") != "InService" or not local.get("Port") or not secret:
            status, reason = live_status(record)
            raise self._not_in_service(EndpointName, f"it is {status}. {reason or ''}".strip())
        answer = self._post(record, secret, data, ContentType, Accept, CustomAttributes,
                            InferenceId)  # fmt: skip
        status, content_type, payload, attributes = answer
        if status == 503:
            raise self._not_in_service(EndpointName, "it is Creating (the model is still loading)")
        if status != 200:
            text = payload.decode("utf-8", errors="replace").strip()
            group = log_group(EndpointName)
            raise ServiceError(
                "ModelError",
                f'Received {"client" if status < 500 else "server"} error ({status}) from primary '
                f'with message "{text}". See the log group {group} in account '
                f"{self.account.account} for more information (locally {local.get('Log')}).",
                424,
                Response={"OriginalStatusCode": status, "OriginalMessage": text,
                          "LogStreamArn": self.account.arn("logs", f"log-group:{group}")},
            )  # fmt: skip
        headers = {"content-type": content_type, "content-length": str(len(payload)),
                   "x-amzn-invoked-production-variant": variant}  # fmt: skip
        out: dict[str, Any] = {
            "ResponseMetadata": metadata(200, headers),
            "ContentType": content_type,
            "InvokedProductionVariant": variant,
            "Body": StreamingBody(io.BytesIO(payload), len(payload)),
        }
        if attributes is not None:
            out["CustomAttributes"] = attributes
        return out

    def _post(self, record: dict[str, Any], secret: bytes, data: bytes, content_type: str | None,
              accept: str | None, attributes: str | None,
              inference_id: str | None) -> tuple[int, str, bytes, str | None]:  # fmt: skip
        """Send the signed request; the answer only if the server proved it is the endpoint's."""
        name, port = record["EndpointName"], int(record["Local"]["Port"])
        nonce = secrets.token_hex(16)
        content_type = content_type or "application/octet-stream"
        headers = {"Content-Type": content_type, NONCE_HEADER: nonce}
        if accept:
            headers["Accept"] = accept
        if attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = attributes
        if inference_id:
            headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
        headers[SIGNATURE_HEADER] = request_signature(secret, "POST", "/invocations", nonce,
                                                      content_type, accept or "", data)  # fmt: skip
        try:
            resp, payload = self._connections.post(port, "/invocations", data, headers)
        except OSError as exc:
            state, reason = live_status(record)
            raise self._not_in_service(name, f"it is {state} ({exc}). {reason or ''}") from exc
        answer_type = resp.getheader("Content-Type", "")
        expected = response_signature(secret, nonce, resp.status, answer_type, payload)
        if not secrets.compare_digest(expected, resp.getheader(SIGNATURE_HEADER) or ""):
            self._connections.close()
            raise self._not_in_service(name, (
                f"the process answering on 127.0.0.1:{port} could not prove it is the endpoint's "
                "server (its answer is not signed with the endpoint's secret), so its answer was "
                "not used; delete the endpoint and create it again"))  # fmt: skip
        attributes_back = resp.getheader("X-Amzn-SageMaker-Custom-Attributes")
        return resp.status, answer_type or "application/octet-stream", payload, attributes_back

    def close(self) -> None:
        """Close this thread's kept-alive connections (boto3 clients have ``close()`` too)."""
        self._connections.close()


__all__ = ["RuntimeService", "body_bytes"]
