"""wr.s3 on both backends: the same calls, the same answers (aws runs against moto)."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from utils.errors import LakePathError

FRAME = pd.DataFrame(
    {"sentiment": [1, 0, -1], "review_body": ["Love it", "It is ok, I guess", "Too small"],
     "product_category": ["Dresses", "Knits", "Dresses"]}
)  # fmt: skip


def test_to_csv_read_csv_round_trip(any_lab):
    wr, uri = any_lab.wr, any_lab.s3_uri("data/transformed/reviews.csv")
    out = wr.s3.to_csv(df=FRAME, path=uri, index=False)
    assert out == {"paths": [uri], "partitions_values": {}}
    back = wr.s3.read_csv(uri)
    pd.testing.assert_frame_equal(back, FRAME)
    assert wr.s3.does_object_exist(uri)
    assert not wr.s3.does_object_exist(uri + ".missing")


def test_list_objects_is_a_string_prefix_with_wildcards(any_lab):
    wr = any_lab.wr
    for key in ("data/raw/a.csv", "data/raw/b.txt", "data/transformed/c.csv", "images/d.png"):
        wr.s3.upload(local_file=io.BytesIO(b"x,y\n1,2\n"), path=any_lab.s3_uri(key))
    uri = any_lab.s3_uri
    assert wr.s3.list_objects(uri("data/")) == [uri("data/raw/a.csv"), uri("data/raw/b.txt"),
                                                uri("data/transformed/c.csv")]  # fmt: skip
    assert wr.s3.list_objects(uri("data/tr")) == [uri("data/transformed/c.csv")]
    assert wr.s3.list_objects(uri("data/"), suffix=".csv") == [uri("data/raw/a.csv"),
                                                               uri("data/transformed/c.csv")]  # fmt: skip
    assert wr.s3.list_objects(uri("data/"), ignore_suffix=[".csv"]) == [uri("data/raw/b.txt")]
    assert wr.s3.list_objects(uri("*/raw/*.csv")) == [uri("data/raw/a.csv")]
    assert wr.s3.list_objects(uri("nothing/")) == []
    chunks = list(wr.s3.list_objects(uri(""), chunked=True))
    assert sum(len(c) for c in chunks) == 4
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert wr.s3.list_objects(uri("data/"), last_modified_begin=soon) == []


def test_read_csv_of_a_prefix_concatenates(any_lab):
    wr = any_lab.wr
    wr.s3.to_csv(FRAME.iloc[:2], any_lab.s3_uri("data/parts/1.csv"), index=False)
    wr.s3.to_csv(FRAME.iloc[2:], any_lab.s3_uri("data/parts/2.csv"), index=False)
    both = wr.s3.read_csv(any_lab.s3_uri("data/parts/"))
    pd.testing.assert_frame_equal(both, FRAME)
    first = wr.s3.read_csv([any_lab.s3_uri("data/parts/1.csv")], usecols=["sentiment"])
    assert first["sentiment"].tolist() == [1, 0]
    chunks = list(wr.s3.read_csv(any_lab.s3_uri("data/parts/"), chunksize=1))
    assert len(chunks) == 3


def test_read_csv_of_nothing_raises_no_files_found(any_lab):
    with pytest.raises(any_lab.wr.exceptions.NoFilesFound):
        any_lab.wr.s3.read_csv(any_lab.s3_uri("data/none/"))


def test_upload_download_and_delete(any_lab, tmp_path):
    wr = any_lab.wr
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,2\n")
    wr.s3.upload(local_file=str(src), path=any_lab.s3_uri("data/raw/in.csv"))
    wr.s3.upload(local_file=str(src), path=any_lab.s3_uri("data/raw/in.csv"))  # again: replaces
    assert wr.s3.list_objects(any_lab.s3_uri("data/raw/")) == [any_lab.s3_uri("data/raw/in.csv")]
    wr.s3.download(path=any_lab.s3_uri("data/raw/in.csv"), local_file=str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_bytes() == b"a,b\n1,2\n"
    buf = io.BytesIO()
    wr.s3.download(path=any_lab.s3_uri("data/raw/in.csv"), local_file=buf)
    assert buf.getvalue() == b"a,b\n1,2\n"
    wr.s3.upload(local_file=str(src), path=any_lab.s3_uri("data/raw2/x.csv"))
    wr.s3.delete_objects(any_lab.s3_uri("data/raw/"))
    assert wr.s3.list_objects(any_lab.s3_uri("data/")) == [any_lab.s3_uri("data/raw2/x.csv")]
    wr.s3.delete_objects([any_lab.s3_uri("data/raw2/x.csv")])
    assert wr.s3.list_objects(any_lab.s3_uri("")) == []


def test_dataset_mode_partitions_and_overwrite(any_lab):
    wr, root = any_lab.wr, any_lab.s3_uri("data/ds/")
    out = wr.s3.to_csv(FRAME, root, dataset=True, partition_cols=["product_category"], index=False)
    assert sorted(out["partitions_values"]) == [root + "product_category=Dresses/",
                                                root + "product_category=Knits/"]  # fmt: skip
    back = wr.s3.read_csv(root, dataset=True).sort_values("sentiment").reset_index(drop=True)
    assert back["product_category"].astype(str).tolist() == ["Dresses", "Knits", "Dresses"]
    assert sorted(back["review_body"]) == sorted(FRAME["review_body"])
    wr.s3.to_csv(FRAME.iloc[:1], root, dataset=True, mode="overwrite", index=False)
    assert len(wr.s3.read_csv(root)) == 1


def test_local_objects_live_under_the_lab_home(local_lab):
    uri = local_lab.s3_uri("data/raw/x.csv")
    local_lab.wr.s3.upload(local_file=io.BytesIO(b"1"), path=uri)
    path = local_lab.home / "s3" / local_lab.bucket / "data" / "raw" / "x.csv"
    assert path.read_bytes() == b"1" and local_lab.local_path(uri) == path.resolve()


@pytest.mark.parametrize("bad", ["s3://b/x", "s3://bucket/../../etc/passwd", "/tmp/file.csv",
                                 "s3://bucket/a/./b"])  # fmt: skip
def test_local_refuses_bad_or_escaping_paths(local_lab, bad):
    with pytest.raises(LakePathError):
        local_lab.wr.s3.upload(local_file=io.BytesIO(b"1"), path=bad)
    assert not any((local_lab.home.parent).glob("etc"))


def test_local_unsupported_arguments_say_so(local_lab):
    with pytest.raises(NotImplementedError, match="version_id"):
        local_lab.wr.s3.download(local_lab.s3_uri("a.csv"), io.BytesIO(), version_id="v1")
    with pytest.raises(NotImplementedError, match="database"):
        local_lab.wr.s3.to_csv(FRAME, local_lab.s3_uri("x/"), dataset=True, database="d", table="t")


def test_local_missing_object_is_a_clear_error(local_lab, tmp_path):
    with pytest.raises(FileNotFoundError, match="NoSuchKey"):
        local_lab.wr.s3.download(local_lab.s3_uri("nope.csv"), str(tmp_path / "x"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        local_lab.wr.s3.upload(str(tmp_path / "absent.csv"), local_lab.s3_uri("a.csv"))
