"""S3 keys the lake could not hold, and writes S3 would refuse (issue 14, the S3 parts of item 9).

The lake maps each key to a file with one function (utils.local.lake.key_names), which the s3
client, wr.s3 and the local Athena all use: a key that was legal on S3 but not as a file name
(1,024 characters, an empty segment, a folder marker) is stored and listed under its own key;
a key over 1,024 bytes and a write into a bucket never created get S3's errors. Where moto
implements the call, the same body runs on moto (AWS's behaviour) and on the local backend.
"""

from __future__ import annotations

import io

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from utils.local.lake import LocalLake, key_names, key_of_names

BUCKET = "fault-bucket"
LONG_KEYS = [
    "k" * 1024,  # one segment of 1,024 characters (a file name holds 255 bytes)
    "data/" + "é" * 508 + ".cs",  # 1,024 bytes, multi-byte characters
    "/".join(["abcdefg"] * 128),  # 1,023 bytes, 128 levels deep
]
ODD_KEYS = ["a//b.csv", "/abs.csv", "folder/", "a/b.csv", "~s3~=looks-encoded", "x/~s3~+y"]


@pytest.fixture(params=["local", "moto"])
def s3(request, tmp_path):
    """An ``s3`` client of the local backend (with its lab home) or of moto; the bucket made."""
    if request.param == "local":
        import utils

        lab = utils.connect("local", home=tmp_path / "lake")
        client = lab.boto3_session.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
        return
    from moto import mock_aws

    with mock_aws():
        client = boto3.Session(region_name="us-east-1").client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _keys(client, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [c["Key"] for page in pages for c in page.get("Contents", [])]


def test_keys_up_to_1024_bytes_round_trip(s3):
    assert [len(k.encode()) for k in LONG_KEYS] == [1024, 1024, 1023]
    for i, key in enumerate(LONG_KEYS):
        s3.put_object(Bucket=BUCKET, Key=key, Body=f"body {i}".encode())
    assert sorted(_keys(s3)) == sorted(LONG_KEYS)
    for i, key in enumerate(LONG_KEYS):
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == f"body {i}".encode()
        assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == len(f"body {i}")
    assert _keys(s3, "k" * 1000) == [LONG_KEYS[0]]
    s3.delete_object(Bucket=BUCKET, Key=LONG_KEYS[0])
    assert sorted(_keys(s3)) == sorted(LONG_KEYS[1:])


def test_empty_segments_and_folder_markers_are_their_own_keys(s3):
    for key in ODD_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    assert _keys(s3) == sorted(ODD_KEYS, key=str.encode)
    for key in ODD_KEYS:
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode()
    top = s3.list_objects_v2(Bucket=BUCKET, Prefix="a/", Delimiter="/")
    assert [c["Key"] for c in top["Contents"]] == ["a/b.csv"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a//"]


def test_a_key_over_1024_bytes_is_key_too_long(local_lab, lake_state):
    local_lab.ensure_bucket()
    s3, wr = local_lab.client("s3"), local_lab.wr
    before = lake_state(local_lab.home)
    for key in ("k" * 1025, "data/" + "é" * 510):
        with pytest.raises(ClientError) as err:
            s3.put_object(Bucket=local_lab.bucket, Key=key, Body=b"x")
        assert err.value.response["Error"]["Code"] == "KeyTooLongError"
        assert "1,024 bytes" in err.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as err:
            wr.s3.to_csv(pd.DataFrame({"a": [1]}), local_lab.s3_uri(key), index=False)
        assert err.value.response["Error"]["Code"] == "KeyTooLongError"
    assert lake_state(local_lab.home) == before


def test_wr_s3_lists_a_double_slash_key_as_written(any_lab):
    wr = any_lab.wr
    frame = pd.DataFrame({"a": [1, 2]})
    wr.s3.to_csv(frame, any_lab.s3_uri("dd//b.csv"), index=False)
    wr.s3.to_csv(frame.head(1), any_lab.s3_uri("dd/b.csv"), index=False)
    assert wr.s3.list_objects(any_lab.s3_uri("dd/")) == [any_lab.s3_uri("dd//b.csv"),
                                                          any_lab.s3_uri("dd/b.csv")]  # fmt: skip
    assert len(wr.s3.read_csv(any_lab.s3_uri("dd//b.csv"))) == 2
    assert len(wr.s3.read_csv(any_lab.s3_uri("dd/b.csv"))) == 1
    wr.s3.delete_objects(any_lab.s3_uri("dd//"))
    assert wr.s3.list_objects(any_lab.s3_uri("dd/")) == [any_lab.s3_uri("dd/b.csv")]


def test_writing_into_a_bucket_never_created_is_no_such_bucket(any_lab, lake_state, tmp_path):
    wr = any_lab.wr
    before = lake_state(any_lab.home) if any_lab.is_local else None
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(ClientError) as err:
        wr.s3.to_csv(frame, "s3://never-created-bucket-14/x.csv", index=False)
    assert err.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError) as err:
        wr.s3.upload(local_file=io.BytesIO(b"x"), path="s3://never-created-bucket-14/y.bin")
    assert err.value.response["Error"]["Code"] == "NoSuchBucket"
    if any_lab.is_local:
        assert lake_state(any_lab.home) == before
        assert not (any_lab.home / "s3" / "never-created-bucket-14").exists()


def test_one_key_mapping_for_the_s3_client_wr_s3_and_athena(local_lab):
    """An object the s3 client writes under a long or odd key is the file wr.s3 and the local
    Athena read, and a table over such a prefix answers from it."""
    local_lab.ensure_bucket()
    s3, wr = local_lab.client("s3"), local_lab.wr
    long_dir = "t" * 300
    prefix = f"tables//{long_dir}/reviews/"
    s3.put_object(Bucket=local_lab.bucket, Key=prefix + "part-0.csv",
                  Body=b"sentiment,review_body\n1,good\n-1,bad\n")  # fmt: skip
    s3.put_object(Bucket=local_lab.bucket, Key=prefix + "_SUCCESS", Body=b"x")  # hidden to Athena
    uri = local_lab.s3_uri(prefix + "part-0.csv")
    assert wr.s3.list_objects(local_lab.s3_uri(prefix)) == [local_lab.s3_uri(prefix + "_SUCCESS"),
                                                             uri]  # fmt: skip
    assert wr.s3.read_csv(uri)["review_body"].tolist() == ["good", "bad"]
    lake = LocalLake(local_lab.home)
    assert lake.path_for(uri).read_bytes().startswith(b"sentiment,")
    assert lake.uri_for(lake.path_for(uri)) == uri
    wr.catalog.create_database(name="faults", exist_ok=True)
    wr.catalog.create_csv_table(database="faults", table="t", path=local_lab.s3_uri(prefix),
                                columns_types={"sentiment": "int", "review_body": "string"},
                                skip_header_line_count=1)  # fmt: skip
    df = wr.athena.read_sql_query("SELECT review_body FROM t ORDER BY sentiment", database="faults")
    assert df["review_body"].tolist() == ["bad", "good"]


def test_ordinary_keys_map_to_the_same_files_as_before(local_lab):
    """Existing lab homes keep working: a file placed at <home>/s3/<bucket>/<key> is <key>."""
    local_lab.ensure_bucket()
    path = local_lab.home / "s3" / local_lab.bucket / "data" / "raw" / "old.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a\n1\n")
    uri = local_lab.s3_uri("data/raw/old.csv")
    assert local_lab.wr.s3.list_objects(local_lab.s3_uri("data/")) == [uri]
    assert [c["Key"] for c in local_lab.client("s3").list_objects_v2(
        Bucket=local_lab.bucket)["Contents"]] == ["data/raw/old.csv"]  # fmt: skip
    assert local_lab.local_path(uri) == path.resolve()
    for key in ["data/raw/old.csv", "a b/ü.csv", "x" * 255, "_hidden/.dot"]:
        assert key_names(key) == key.split("/") and key_of_names(key.split("/")) == key
