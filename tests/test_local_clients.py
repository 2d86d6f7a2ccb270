"""The local backend's clients are boto3's own, answered locally: conformance with moto.

The same test body runs on a local client and on moto's (where moto implements the call), and
compares the answers' shapes and error codes. Every local answer is also checked against the
AWS model (LAB_STRICT_SHAPES, set by conftest), as botocore's Stubber does.
"""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

BUCKET = "conformance-bucket"


@pytest.fixture(params=["local", "moto"])
def session(request, tmp_path):
    """A boto3 session whose clients are the local backend's, or moto's."""
    if request.param == "local":
        import utils

        yield utils.connect("local", home=tmp_path / "lake").boto3_session
        return
    from moto import mock_aws

    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def test_s3_objects_round_trip(session):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    put = s3.put_object(Bucket=BUCKET, Key="data/a.csv", Body=b"x,y\n1,2\n", ContentType="text/csv")
    head = s3.head_object(Bucket=BUCKET, Key="data/a.csv")
    assert head["ContentLength"] == 8
    assert head["ContentType"] == "text/csv"
    assert head["ETag"] == put["ETag"]
    got = s3.get_object(Bucket=BUCKET, Key="data/a.csv")
    assert got["Body"].read() == b"x,y\n1,2\n"
    part = s3.get_object(Bucket=BUCKET, Key="data/a.csv", Range="bytes=2-4")
    assert part["Body"].read() == b"y\n1"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    s3.copy_object(
        Bucket=BUCKET, Key="copy/a.csv", CopySource={"Bucket": BUCKET, "Key": "data/a.csv"}
    )
    assert s3.get_object(Bucket=BUCKET, Key="copy/a.csv")["Body"].read() == b"x,y\n1,2\n"
    s3.delete_object(Bucket=BUCKET, Key="copy/a.csv")
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=BUCKET, Key="copy/a.csv")
    assert _code(missing.value) == "NoSuchKey"
    assert isinstance(missing.value, s3.exceptions.NoSuchKey)


def test_s3_errors_have_aws_codes(session):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=BUCKET, Key="nope")
    assert _code(head.value) == "404"
    with pytest.raises(ClientError) as bucket:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert _code(bucket.value) == "NoSuchBucket"
    with pytest.raises(ClientError) as head_bucket:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert _code(head_bucket.value) == "404"
    with pytest.raises(ParamValidationError):
        s3.put_object(Bucket=BUCKET, Keyy="typo")  # botocore checks the request on both


def test_s3_listing_pages_prefixes_and_delimiters(session):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    keys = [f"p/{i:03d}.txt" for i in range(7)] + ["p/sub/x.txt", "p-other.txt", "q/y.txt"]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="p/", PaginationConfig={"PageSize": 3}
    )
    listed = [c["Key"] for page in pages for c in page.get("Contents", [])]
    assert listed == sorted(k for k in keys if k.startswith("p/"))
    top = s3.list_objects_v2(Bucket=BUCKET, Prefix="p", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["p/"]
    assert [c["Key"] for c in top["Contents"]] == ["p-other.txt"]
    v1 = s3.list_objects(Bucket=BUCKET, Prefix="q/")
    assert [c["Key"] for c in v1["Contents"]] == ["q/y.txt"]
    resource = session.resource("s3")
    assert sorted(o.key for o in resource.Bucket(BUCKET).objects.filter(Prefix="p/sub")) == [
        "p/sub/x.txt"
    ]
    deleted = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
    assert len(deleted["Deleted"]) == len(keys)
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_s3_multipart_upload_as_upload_file_does(session, tmp_path):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    blob = bytes(range(256)) * 40_000  # 10 MB: upload_file switches to multipart above 8 MB
    source = tmp_path / "big.bin"
    source.write_bytes(blob)
    s3.upload_file(str(source), BUCKET, "big/big.bin")
    head = s3.head_object(Bucket=BUCKET, Key="big/big.bin")
    assert head["ContentLength"] == len(blob)
    assert head["ETag"].endswith('-2"')  # a multipart ETag: md5 of the parts' md5s, "-2"
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, "big/big.bin", out)
    assert out.getvalue() == blob


def test_sts_caller_identity(session):
    identity = session.client("sts").get_caller_identity()
    assert set(identity) >= {"UserId", "Account", "Arn"}
    assert identity["Account"].isdigit() and len(identity["Account"]) == 12


def test_local_clients_never_reach_the_network(tmp_path):
    import utils

    session = utils.connect("local", home=tmp_path / "lake").boto3_session
    glue = session.client("glue")
    with pytest.raises(NotImplementedError, match="glue client is not available locally.*lab.wr"):
        glue.get_databases()
    with pytest.raises(NotImplementedError, match=r"s3\.get_bucket_policy\(\)"):
        session.client("s3").get_bucket_policy(Bucket=BUCKET)


def test_local_session_is_boto3s_default_after_connect(tmp_path):
    import sagemaker

    import utils

    lab = utils.connect("local", home=tmp_path / "lake")
    assert boto3.client("sts").get_caller_identity()["Account"] == lab.account == "000000000000"
    assert sagemaker.Session().default_bucket() == lab.bucket
    assert sagemaker.get_execution_role() == lab.role
    assert lab.role == "arn:aws:iam::000000000000:role/service-role/LocalSageMakerExecutionRole"


def test_sessions_made_after_connect_are_local_too(tmp_path, monkeypatch):
    """The course's own ``boto3.Session(region_name=region).client("sts")`` (week 1), even without
    any credentials configured (nothing is looked up on the network); ``connect("aws")`` ends it."""
    import utils

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    lab = utils.connect("local", home=tmp_path / "lake")
    region = boto3.Session().region_name
    sts = boto3.Session(region_name=region).client(service_name="sts", region_name=region)
    assert sts.get_caller_identity()["Account"] == lab.account
    s3 = boto3.Session().client("s3")
    s3.create_bucket(Bucket="fresh-session-bucket")
    assert "fresh-session-bucket" in [b["Name"] for b in lab.client("s3").list_buckets()["Buckets"]]
    with pytest.raises(NotImplementedError):  # a call no local service answers is not sent
        boto3.Session().client("s3").get_bucket_policy(Bucket="fresh-session-bucket")

    utils.connect("aws", bucket="some-bucket", region="us-east-1")
    with pytest.raises(Exception, match="no network in tests|Unable to locate credentials"):
        boto3.Session().client("sts").get_caller_identity()  # AWS's again: it would go out


def test_the_sdk_session_works_on_the_lake(tmp_path):
    """``lab.session``'s S3 and account methods, as the course and the SDK's classes call them."""
    import utils

    lab = utils.connect("local", home=tmp_path / "lake")
    sess = lab.session
    bucket = sess.default_bucket()
    assert bucket == lab.bucket == "sagemaker-us-east-1-000000000000"
    assert lab.client("s3").head_bucket(Bucket=bucket)["BucketRegion"] == "us-east-1"
    assert (sess.account_id(), sess.boto_region_name) == ("000000000000", "us-east-1")
    source = tmp_path / "reviews.csv"
    source.write_text("sentiment,review_body\n1,great\n")
    uri = sess.upload_data(path=str(source), bucket=bucket, key_prefix="bias/unbalanced")
    assert uri == f"s3://{bucket}/bias/unbalanced/reviews.csv"
    assert sess.read_s3_file(bucket, "bias/unbalanced/reviews.csv") == source.read_text()
    note = sess.upload_string_as_file_body("hello", bucket=bucket, key="notes/hello.txt")
    assert note == f"s3://{bucket}/notes/hello.txt"
    assert sorted(sess.list_s3_files(bucket, "")) == ["bias/unbalanced/reviews.csv",
                                                      "notes/hello.txt"]  # fmt: skip
    out = tmp_path / "download"
    sess.download_data(str(out), bucket, key_prefix="bias/")
    assert (out / "unbalanced" / "reviews.csv").read_text() == source.read_text()
    # what wr.s3 and the S3 client see is the same object
    assert lab.wr.s3.read_csv(uri)["review_body"].tolist() == ["great"]
    with pytest.raises(ClientError) as missing:
        sess.read_s3_file(bucket, "nothing/here.csv")
    assert _code(missing.value) == "NoSuchKey"
