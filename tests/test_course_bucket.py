"""The course's public bucket on the local backend: derived from the raw data, read-only."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from utils import datasets

BUCKET = datasets.COURSE_BUCKET


@pytest.fixture
def lab_with_course_bucket(local_lab, tmp_path):
    raw = tmp_path / "raw.csv"
    raw.write_bytes(datasets.generate_synthetic(2_000, seed=7).to_csv().encode())
    uris = local_lab.provide_course_bucket(raw)
    return local_lab, raw, uris


def test_the_course_calls_read_the_course_bucket(lab_with_course_bucket):
    lab, raw, uris = lab_with_course_bucket
    assert uris == [f"s3://{BUCKET}/{key}" for key in datasets.COURSE_KEYS.values()]
    s3 = lab.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="data/raw/")["Contents"]
    assert [o["Key"] for o in listed] == ["data/raw/womens_clothing_ecommerce_reviews.csv"]
    course_form = datasets.read_raw(lab.local_path(uris[0]))
    assert course_form.form == "course" and len(course_form.df) == 2_000
    transformed = lab.wr.s3.read_csv(uris[1])
    assert list(transformed.columns) == ["sentiment", "review_body", "product_category"]
    assert len(transformed) == len(datasets.transform(datasets.read_raw(raw)).df)
    balanced = lab.wr.s3.read_csv(uris[2])
    counts = balanced["sentiment"].value_counts()
    assert counts.nunique() == 1 and set(counts.index) == {-1, 0, 1}
    # the course's session call downloads it, as `aws s3 cp` does in the labs
    target = lab.home.parent / "download"
    lab.session.download_data(str(target), BUCKET, "data/balanced/")
    assert (target / "womens_clothing_ecommerce_reviews_balanced.csv").is_file()


def test_the_course_bucket_is_read_only(lab_with_course_bucket):
    lab, _, uris = lab_with_course_bucket
    before = lab.local_path(uris[1]).read_bytes()
    s3 = lab.client("s3")
    for call in (
        lambda: s3.put_object(Bucket=BUCKET, Key=datasets.COURSE_KEYS["transformed"], Body=b"x"),
        lambda: s3.delete_object(Bucket=BUCKET, Key=datasets.COURSE_KEYS["transformed"]),
        lambda: lab.wr.s3.to_csv(lab.wr.s3.read_csv(uris[2]), uris[1], index=False),
        lambda: lab.wr.s3.delete_objects(uris[1]),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "AccessDenied"
        assert BUCKET in str(err.value)
    assert lab.local_path(uris[1]).read_bytes() == before
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # not yours


def test_real_data_gives_the_course_files(local_lab, real_data_path):
    uris = local_lab.provide_course_bucket(real_data_path)
    head = local_lab.client("s3").head_object(Bucket=BUCKET, Key=datasets.COURSE_KEYS["raw"])
    assert head["ContentLength"] == datasets.COURSE_COPY_BYTES  # the course's 8,457,214 bytes
    assert len(local_lab.wr.s3.read_csv(uris[1])) == 22_626
    counts = local_lab.wr.s3.read_csv(uris[2])["sentiment"].value_counts().to_dict()
    assert counts == {-1: 2370, 0: 2370, 1: 2370}
