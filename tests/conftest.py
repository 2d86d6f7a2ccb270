"""Shared fixtures: a Lab on each backend (local in a temp lab home, aws against moto)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# the labs pin the sagemaker SDK at 2.x on purpose (3.x removed AutoML): no deprecation banner
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(
    os.environ.get(
        "LAB_SHARED_DATA",
        ROOT.parent / "shared" / "data" / "womens_clothing_ecommerce_reviews_kaggle.csv",
    )
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's LAB_* settings or real AWS credentials."""
    for var in list(os.environ):
        if var.startswith("LAB_") and var != "LAB_SHARED_DATA":
            monkeypatch.delenv(var, raising=False)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("LAB_OFFLINE", "1")
    # every answer of a local client is checked against the AWS model (as botocore's Stubber)
    monkeypatch.setenv("LAB_STRICT_SHAPES", "1")
    yield
    import boto3

    from utils.local.session import clear_default

    boto3.DEFAULT_SESSION = None  # connect("local") installs the local session as boto3's default
    clear_default()  # and makes the sessions made after it local


_LOOPBACK = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Nothing in a test's process reaches the network: a name lookup or a connection to
    anything but this machine fails the test (the local backend must never go out)."""
    import socket

    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host not in _LOOPBACK and not str(host).startswith("127."):
            raise AssertionError(f"a test tried to look up {host!r}: no network in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else ""
        if (
            self.family in (socket.AF_INET, socket.AF_INET6)
            and host not in _LOOPBACK
            and not (str(host).startswith("127."))
        ):
            raise AssertionError(f"a test tried to connect to {address!r}: no network in tests")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def local_lab(tmp_path):
    import utils

    return utils.connect("local", home=tmp_path / "lake")


@pytest.fixture
def aws_lab():
    """A Lab on the aws backend whose S3 (and Glue) calls go to moto, in-process."""
    import boto3
    from moto import mock_aws

    import utils

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lab-test-bucket")
        yield utils.connect("aws", bucket="lab-test-bucket", region="us-east-1")


@pytest.fixture(params=["local", "aws"])
def any_lab(request):
    """The same test body on both backends: what runs locally must run on AWS."""
    return request.getfixturevalue(f"{request.param}_lab")


@pytest.fixture
def real_data_path():
    if not REAL_DATA.is_file():
        pytest.skip(f"real data not present at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def moto_server():
    """A moto server on 127.0.0.1 for code in other processes (papermill kernels)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    """Execute a notebook with papermill in a fresh kernel; returns its recorded values.

    ``env`` entries are set for the kernel (e.g. AWS_ENDPOINT_URL for a moto server).
    """
    import papermill

    from utils.records import read_records

    def run(name: str, env: dict[str, str] | None = None, **params):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("MPLBACKEND", "Agg")
        monkeypatch.setenv("LAB_PROGRESS", "text")  # as the runner: no browser shows widgets
        out = tmp_path / f"{name}.out.ipynb"
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{name}.ipynb"),
            str(out),
            parameters=params,
            kernel_name="python3",
            cwd=str(ROOT / "notebooks"),
            progress_bar=False,
        )
        return read_records(out)

    return run
