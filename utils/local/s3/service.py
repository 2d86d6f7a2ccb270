"""The ``s3`` client of the local backend: boto3's S3 calls over the lake.

AWS equivalent: ``boto3.client("s3")``. What the sagemaker SDK and the course call:
buckets (ListBuckets, CreateBucket, HeadBucket, GetBucketLocation, DeleteBucket), objects
(PutObject, GetObject with ranges, HeadObject, DeleteObject(s), CopyObject, ListObjects and
ListObjectsV2 with prefixes, delimiters, pages and URL encoding) and multipart uploads (what
``upload_file`` uses above 8 MB). Objects are the lake's files, so ``wr.s3``, the local Athena
and these calls see the same data: a key maps to its file by the lake's one mapping
(:func:`utils.local.lake.key_names`), so keys of up to 1,024 bytes, keys with empty segments
(``a//b.csv``) and folder markers (``data/``) are stored and listed as themselves; a longer key is
S3's ``KeyTooLongError``. Writes are atomic (a reader sees the old object or the new one), and the
course's public bucket is read-only, as on AWS.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from botocore.response import StreamingBody

from utils.errors import LakePathError
from utils.local.lake import (
    COURSE_BUCKET,
    KeyTooLongError,
    LocalLake,
    bucket_name_problem,
    read_only_error,
    write_atomic,
)
from utils.local.service import Service, ServiceError, metadata

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
OWNER = {"DisplayName": "local-lab", "ID": "0" * 64}
MAX_KEYS = 1000
_ETAGS: dict[tuple[str, int, int, int, int], str] = {}
_ETAGS_LOCK = threading.Lock()


def _no_bucket(bucket: str) -> ServiceError:
    return ServiceError("NoSuchBucket", f"The specified bucket does not exist: s3://{bucket}/",
                        404, BucketName=bucket)  # fmt: skip


def _no_key(bucket: str, key: str) -> ServiceError:
    return ServiceError("NoSuchKey", f"The specified key does not exist: s3://{bucket}/{key}",
                        404, Key=key)  # fmt: skip


def _read_only(bucket: str, key: str = "") -> ServiceError:
    error = read_only_error(f"s3://{bucket}/{key}", "").response["Error"]
    return ServiceError(error["Code"], error["Message"], 403)


def _mtime(st: os.stat_result) -> dt.datetime:
    moment = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
    return moment.replace(microsecond=0)


def _version(st: os.stat_result) -> tuple[int, int, int, int]:
    """What tells one version of a file from another: a rewrite changes the inode or the
    change time even when it keeps the size and the modification time."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _etag_of(path: Path, st: os.stat_result) -> str:
    key = (str(path), *_version(st))
    with _ETAGS_LOCK:
        if key in _ETAGS:
            return _ETAGS[key]
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    etag = f'"{digest.hexdigest()}"'
    with _ETAGS_LOCK:
        if len(_ETAGS) > 10_000:
            _ETAGS.clear()
        _ETAGS[key] = etag
    return etag


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise ServiceError("InvalidArgument", f"Body: expected bytes or a file object, got "
                       f"{type(body).__name__}")  # fmt: skip


class S3Service(Service):
    """Amazon S3 over the lake; one instance per local boto3 session."""

    service_name = "s3"

    @property
    def lake(self) -> LocalLake:
        return LocalLake(self.home)

    # -- paths and metadata --------------------------------------------------------------------
    def _bucket_dir(self, bucket: str, must_exist: bool = True) -> Path:
        problem = bucket_name_problem(bucket)
        if problem:
            raise ServiceError("InvalidBucketName", f"The specified bucket is not valid: {problem}")
        path = self.lake.root / bucket
        if must_exist and not path.is_dir():
            raise _no_bucket(bucket)
        return path

    def _key_path(self, bucket: str, key: str) -> Path:
        if not key:
            raise ServiceError("InvalidArgument", "the object key must not be empty")
        try:
            return self.lake.object_path(bucket, key)
        except KeyTooLongError as exc:
            raise ServiceError("KeyTooLongError", exc.response["Error"]["Message"]) from None
        except LakePathError as exc:
            raise NotImplementedError(f"local backend: {exc}") from None

    def _meta_path(self, bucket: str, key: str) -> Path:
        digest = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()
        return self.home / "s3-metadata" / bucket / digest[:2] / f"{digest}.json"

    def _read_meta(self, bucket: str, key: str, st: os.stat_result) -> dict[str, Any]:
        path = self._meta_path(bucket, key)
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        # metadata written for an older version of the file (rewritten by wr.s3) is stale
        if meta.get("size") != st.st_size or meta.get("mtime_ns") != st.st_mtime_ns:
            return {}
        if "ino" in meta and (meta["ino"], meta.get("ctime_ns")) != (st.st_ino, st.st_ctime_ns):
            return {}
        return meta

    def _write_meta(self, bucket: str, key: str, target: Path, fields: dict[str, Any]) -> None:
        path = self._meta_path(bucket, key)
        fields = {k: v for k, v in fields.items() if v not in (None, {}, "")}
        if not fields:
            path.unlink(missing_ok=True)
            return
        st = target.stat()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**fields, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                    "ctime_ns": st.st_ctime_ns, "ino": st.st_ino}),
                        encoding="utf-8")  # fmt: skip

    def _writable(self, bucket: str, key: str = "") -> None:
        if bucket == COURSE_BUCKET:
            raise _read_only(bucket, key)

    def _staging(self) -> Path:
        staging = self.lake.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return staging

    def _store(self, bucket: str, key: str, source: Path | bytes) -> Path:
        """Move ``source`` (a staged file) or write bytes to the object, atomically."""
        target = self._key_path(bucket, key)
        if target.is_dir():
            raise NotImplementedError(f"local backend: s3://{bucket}/{key} is already a prefix "
                                      "of other objects; the lake cannot hold both")  # fmt: skip
        bucket_dir = self.lake.bucket_path(bucket).resolve()
        for parent in target.relative_to(bucket_dir).parents:
            if str(parent) != "." and (bucket_dir / parent).is_file():
                inner = self.lake.key_for(bucket, bucket_dir / parent)
                raise NotImplementedError(
                    f"local backend: s3://{bucket}/{inner} is an object, so "
                    f"s3://{bucket}/{key} cannot be stored under it in the lake"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            write_atomic(target, source, self._staging())
        else:
            os.replace(source, target)
        return target

    def _object(self, bucket: str, key: str) -> tuple[Path, os.stat_result]:
        self._bucket_dir(bucket)
        path = self._key_path(bucket, key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise _no_key(bucket, key) from None
        if not path.is_file():
            raise _no_key(bucket, key)
        return path, st

    def _head(self, bucket: str, key: str, path: Path, st: os.stat_result) -> dict[str, Any]:
        meta = self._read_meta(bucket, key, st)
        out: dict[str, Any] = {
            "AcceptRanges": "bytes",
            "LastModified": _mtime(st),
            "ContentLength": st.st_size,
            "ETag": meta.get("ETag") or _etag_of(path, st),
            "ContentType": meta.get("ContentType") or DEFAULT_CONTENT_TYPE,
            "Metadata": meta.get("Metadata", {}),
        }
        for field in ("ContentEncoding", "ContentDisposition", "CacheControl", "ContentLanguage"):
            if meta.get(field):
                out[field] = meta[field]
        return out

    # -- buckets -------------------------------------------------------------------------------
    def list_buckets(self, MaxBuckets: int | None = None, ContinuationToken: str | None = None,
                     Prefix: str | None = None, BucketRegion: str | None = None,
                     **_: Any) -> dict[str, Any]:  # fmt: skip
        """ListBuckets: every bucket of the lake (the course's public one is not yours)."""
        root = self.lake.root
        names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                       and p.name != COURSE_BUCKET) if root.is_dir() else []  # fmt: skip
        if Prefix:
            names = [n for n in names if n.startswith(Prefix)]
        if ContinuationToken:
            names = [n for n in names if n > ContinuationToken]
        out: dict[str, Any] = {"Owner": dict(OWNER)}
        if MaxBuckets and len(names) > MaxBuckets:
            names = names[:MaxBuckets]
            out["ContinuationToken"] = names[-1]
        buckets = []
        for name in names:
            st = (root / name).stat()
            buckets.append({"Name": name, "CreationDate": _mtime(st), "BucketRegion": self.region})
        out["Buckets"] = buckets
        if Prefix:
            out["Prefix"] = Prefix
        return out

    def create_bucket(self, Bucket: str, CreateBucketConfiguration: dict | None = None,
                      **_: Any) -> dict[str, Any]:  # fmt: skip
        """CreateBucket. Outside us-east-1 the region must be given, as on AWS."""
        path = self._bucket_dir(Bucket, must_exist=False)
        if Bucket == COURSE_BUCKET:
            raise ServiceError("BucketAlreadyExists", f"The requested bucket name {Bucket!r} is "
                               "not available: it is the course's public bucket", 409)  # fmt: skip
        location = (CreateBucketConfiguration or {}).get("LocationConstraint")
        if self.region != "us-east-1" and location != self.region:
            raise ServiceError(
                "IllegalLocationConstraintException",
                f"The {location or 'unspecified'} location constraint is incompatible for the "
                f"region specific endpoint this request was sent to ({self.region}): pass "
                f"CreateBucketConfiguration={{'LocationConstraint': '{self.region}'}}",
            )
        if path.is_dir():
            if self.region == "us-east-1":  # S3 answers 200 to its owner there (legacy)
                return {"Location": f"/{Bucket}"}
            raise ServiceError("BucketAlreadyOwnedByYou", f"Your previous request to create the "
                               f"named bucket succeeded and you already own it: {Bucket}",
                               409)  # fmt: skip
        path.mkdir(parents=True)
        return {"Location": f"/{Bucket}"}

    def head_bucket(self, Bucket: str, ExpectedBucketOwner: str | None = None,
                    **_: Any) -> dict[str, Any]:  # fmt: skip
        """HeadBucket: 404 for a missing bucket, 403 for another owner, as S3's HEAD answers."""
        if bucket_name_problem(Bucket):
            raise ServiceError("400", "Bad Request", 400)
        path = self.lake.root / Bucket
        if not path.is_dir():
            raise ServiceError("404", "Not Found", 404)
        owner = self.account.account
        if Bucket == COURSE_BUCKET:
            owner = "course"
        if ExpectedBucketOwner is not None and ExpectedBucketOwner != owner:
            raise ServiceError("403", "Forbidden", 403)
        return {"BucketRegion": self.region, "AccessPointAlias": False}

    def get_bucket_location(self, Bucket: str, **_: Any) -> dict[str, Any]:
        """GetBucketLocation: None for us-east-1, else the region."""
        self._bucket_dir(Bucket)
        return {"LocationConstraint": None if self.region == "us-east-1" else self.region}

    def delete_bucket(self, Bucket: str, **_: Any) -> dict[str, Any]:
        """DeleteBucket: only an empty bucket, as on AWS."""
        path = self._bucket_dir(Bucket)
        self._writable(Bucket)
        if any(p.is_file() for p in path.rglob("*")):
            raise ServiceError("BucketNotEmpty", f"The bucket you tried to delete is not empty: "
                               f"s3://{Bucket}/", 409)  # fmt: skip
        shutil.rmtree(path)
        return {"ResponseMetadata": metadata(204)}

    # -- objects -------------------------------------------------------------------------------
    def put_object(self, Bucket: str, Key: str, Body: Any = None, ContentType: str | None = None,
                   Metadata: dict[str, str] | None = None, ContentEncoding: str | None = None,
                   ContentDisposition: str | None = None, CacheControl: str | None = None,
                   ContentMD5: str | None = None, **_: Any) -> dict[str, Any]:  # fmt: skip
        """PutObject: the whole body, atomically; returns its ETag."""
        self._bucket_dir(Bucket)
        self._writable(Bucket, Key)
        data = _body_bytes(Body)
        if ContentMD5 is not None:
            actual = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            if actual != ContentMD5:
                raise ServiceError("BadDigest", "The Content-MD5 you specified did not match "
                                   "what we received.")  # fmt: skip
        target = self._store(Bucket, Key, data)
        etag = f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
        self._write_meta(Bucket, Key, target, {
            "ContentType": ContentType, "Metadata": Metadata, "ContentEncoding": ContentEncoding,
            "ContentDisposition": ContentDisposition, "CacheControl": CacheControl})  # fmt: skip
        return {"ETag": etag}

    def get_object(self, Bucket: str, Key: str, Range: str | None = None,
                   IfMatch: str | None = None, IfNoneMatch: str | None = None,
                   **_: Any) -> dict[str, Any]:  # fmt: skip
        """GetObject: the body as a StreamingBody; ``Range='bytes=a-b'`` answers 206."""
        path, st = self._object(Bucket, Key)
        out = self._head(Bucket, Key, path, st)
        if IfMatch is not None and IfMatch.strip('"') != out["ETag"].strip('"'):
            raise ServiceError("PreconditionFailed", "At least one of the pre-conditions you "
                               "specified did not hold (If-Match)", 412)  # fmt: skip
        if IfNoneMatch is not None and IfNoneMatch.strip('"') == out["ETag"].strip('"'):
            raise ServiceError("304", "Not Modified", 304)
        size = st.st_size
        start, end, status = 0, size - 1, 200
        if Range:
            start, end = _parse_range(Range, size)
            status = 206
            out["ContentRange"] = f"bytes {start}-{end}/{size}"
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(max(0, end - start + 1))
        out["ContentLength"] = len(data)
        out["Body"] = StreamingBody(io.BytesIO(data), len(data))
        out["ResponseMetadata"] = metadata(status)
        return out

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        """HeadObject: 404 "Not Found" for a missing key (a HEAD answer has no body)."""
        try:
            path, st = self._object(Bucket, Key)
        except ServiceError as exc:
            if exc.code == "NoSuchKey":
                raise ServiceError("404", "Not Found", 404) from None
            raise
        return self._head(Bucket, Key, path, st)

    def delete_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        """DeleteObject: 204, whether or not the key existed."""
        self._bucket_dir(Bucket)
        self._writable(Bucket, Key)
        self._delete(Bucket, Key)
        return {"ResponseMetadata": metadata(204)}

    def _delete(self, bucket: str, key: str) -> None:
        path = self._key_path(bucket, key)
        if path.is_file():
            path.unlink()
            self._meta_path(bucket, key).unlink(missing_ok=True)
            root = self.lake.root / bucket
            parent = path.parent
            while parent != root and root in parent.parents:
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

    def delete_objects(self, Bucket: str, Delete: dict[str, Any], **_: Any) -> dict[str, Any]:
        """DeleteObjects: up to 1,000 keys; each is reported Deleted (unless Quiet)."""
        self._bucket_dir(Bucket)
        self._writable(Bucket)
        objects = Delete.get("Objects", [])
        if len(objects) > MAX_KEYS:
            raise ServiceError("MalformedXML", f"DeleteObjects takes at most {MAX_KEYS} keys, "
                               f"got {len(objects)}")  # fmt: skip
        deleted, errors = [], []
        for obj in objects:
            try:
                self._delete(Bucket, obj["Key"])
                deleted.append({"Key": obj["Key"]})
            except (ServiceError, NotImplementedError) as exc:
                errors.append({"Key": obj["Key"], "Code": getattr(exc, "code", "InternalError"),
                               "Message": str(exc)})  # fmt: skip
        out: dict[str, Any] = {}
        if not Delete.get("Quiet"):
            out["Deleted"] = deleted
        if errors:
            out["Errors"] = errors
        return out

    def copy_object(self, Bucket: str, Key: str, CopySource: str,
                    MetadataDirective: str | None = None, ContentType: str | None = None,
                    Metadata: dict[str, str] | None = None, **_: Any) -> dict[str, Any]:  # fmt: skip
        """CopyObject within the lake; metadata copied unless MetadataDirective='REPLACE'."""
        src_bucket, src_key = _copy_source(CopySource)
        path, st = self._object(src_bucket, src_key)
        self._bucket_dir(Bucket)
        self._writable(Bucket, Key)
        if (src_bucket, src_key) == (Bucket, Key) and MetadataDirective != "REPLACE":
            raise ServiceError("InvalidRequest", "This copy request is illegal because it is "
                               "trying to copy an object to itself without changing the "
                               "object's metadata")  # fmt: skip
        meta = self._read_meta(src_bucket, src_key, st)
        fd, tmp = tempfile.mkstemp(dir=self._staging(), prefix="copy-")
        os.close(fd)
        shutil.copyfile(path, tmp)
        target = self._store(Bucket, Key, Path(tmp))
        if MetadataDirective == "REPLACE":
            meta = {"ContentType": ContentType, "Metadata": Metadata}
        meta.pop("size", None)
        meta.pop("mtime_ns", None)
        self._write_meta(Bucket, Key, target, meta)
        new = target.stat()
        return {"CopyObjectResult": {"ETag": meta.get("ETag") or _etag_of(target, new),
                                     "LastModified": _mtime(new)}}  # fmt: skip

    # -- listing -------------------------------------------------------------------------------
    def _keys(self, bucket: str, prefix: str) -> list[tuple[str, Path, os.stat_result]]:
        self._bucket_dir(bucket)
        found = list(self.lake.walk(bucket, prefix))
        found.sort(key=lambda item: item[0].encode("utf-8"))
        return found

    def _listing(self, bucket: str, prefix: str, delimiter: str | None, after: str,
                 max_keys: int) -> tuple[list[dict], list[str], bool, str]:  # fmt: skip
        contents: list[dict[str, Any]] = []
        common: list[str] = []
        last = ""
        truncated = False
        for key, path, st in self._keys(bucket, prefix):
            if after and key.encode("utf-8") <= after.encode("utf-8"):
                continue
            if delimiter:
                rest = key[len(prefix) :]
                cut = rest.find(delimiter)
                if cut >= 0:
                    group = prefix + rest[: cut + len(delimiter)]
                    if common and common[-1] == group:
                        continue
                    if after and group.encode() <= after.encode():
                        continue
                    if len(contents) + len(common) >= max_keys:
                        truncated = True
                        break
                    common.append(group)
                    last = group
                    continue
            if len(contents) + len(common) >= max_keys:
                truncated = True
                break
            contents.append({"Key": key, "LastModified": _mtime(st), "ETag": _etag_of(path, st),
                             "Size": st.st_size, "StorageClass": "STANDARD"})  # fmt: skip
            last = key
        return contents, common, truncated, last

    def list_objects_v2(self, Bucket: str, Prefix: str = "", Delimiter: str | None = None,
                        MaxKeys: int = MAX_KEYS, ContinuationToken: str | None = None,
                        StartAfter: str | None = None, EncodingType: str | None = None,
                        FetchOwner: bool = False, **_: Any) -> dict[str, Any]:  # fmt: skip
        """ListObjectsV2: keys in UTF-8 order, 1,000 a page, CommonPrefixes with a Delimiter."""
        max_keys = max(0, min(int(MaxKeys), MAX_KEYS))
        after = StartAfter or ""
        if ContinuationToken:
            try:
                after = base64.urlsafe_b64decode(ContinuationToken.encode()).decode("utf-8")
            except ValueError:
                raise ServiceError("InvalidArgument", "The continuation token provided is "
                                   "incorrect") from None  # fmt: skip
        contents, common, truncated, last = self._listing(Bucket, Prefix or "", Delimiter, after,
                                                          max_keys)  # fmt: skip
        enc = _encoder(EncodingType)
        if FetchOwner:
            for item in contents:
                item["Owner"] = dict(OWNER)
        out: dict[str, Any] = {
            "IsTruncated": truncated, "Name": Bucket, "Prefix": enc(Prefix or ""),
            "MaxKeys": max_keys, "KeyCount": len(contents) + len(common),
        }  # fmt: skip
        if contents:
            out["Contents"] = [{**c, "Key": enc(c["Key"])} for c in contents]
        if common:
            out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in common]
        if Delimiter:
            out["Delimiter"] = enc(Delimiter)
        if EncodingType:
            out["EncodingType"] = EncodingType
        if ContinuationToken:
            out["ContinuationToken"] = ContinuationToken
        if StartAfter:
            out["StartAfter"] = enc(StartAfter)
        if truncated:
            out["NextContinuationToken"] = base64.urlsafe_b64encode(last.encode()).decode()
        return out

    def list_objects(self, Bucket: str, Prefix: str = "", Delimiter: str | None = None,
                     MaxKeys: int = MAX_KEYS, Marker: str | None = None,
                     EncodingType: str | None = None, **_: Any) -> dict[str, Any]:  # fmt: skip
        """ListObjects (version 1): Marker / NextMarker pages, as boto3's resources use it."""
        max_keys = max(0, min(int(MaxKeys), MAX_KEYS))
        contents, common, truncated, last = self._listing(Bucket, Prefix or "", Delimiter,
                                                          Marker or "", max_keys)  # fmt: skip
        enc = _encoder(EncodingType)
        out: dict[str, Any] = {"IsTruncated": truncated, "Name": Bucket, "Prefix": enc(Prefix or ""),
                               "MaxKeys": max_keys, "Marker": enc(Marker or "")}  # fmt: skip
        if contents:
            out["Contents"] = [{**c, "Key": enc(c["Key"]), "Owner": dict(OWNER)} for c in contents]
        if common:
            out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in common]
        if Delimiter:
            out["Delimiter"] = enc(Delimiter)
            if truncated:
                out["NextMarker"] = enc(last)
        if EncodingType:
            out["EncodingType"] = EncodingType
        return out

    # -- multipart uploads (upload_file above 8 MB) --------------------------------------------
    def _upload_dir(self, bucket: str, upload_id: str) -> Path:
        if not upload_id or not all(c.isalnum() or c == "-" for c in upload_id):
            raise ServiceError("NoSuchUpload", f"The specified upload does not exist: {upload_id}",
                               404)  # fmt: skip
        return self._staging() / "multipart" / bucket / upload_id

    def create_multipart_upload(self, Bucket: str, Key: str, ContentType: str | None = None,
                                Metadata: dict[str, str] | None = None,
                                **_: Any) -> dict[str, Any]:  # fmt: skip
        """CreateMultipartUpload: parts are staged under the lake until completed."""
        self._bucket_dir(Bucket)
        self._writable(Bucket, Key)
        self._key_path(Bucket, Key)
        upload_id = uuid.uuid4().hex
        folder = self._upload_dir(Bucket, upload_id)
        folder.mkdir(parents=True)
        (folder / "upload.json").write_text(json.dumps({"Key": Key, "ContentType": ContentType,
                                                        "Metadata": Metadata}))  # fmt: skip
        return {"Bucket": Bucket, "Key": Key, "UploadId": upload_id}

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[Path, dict[str, Any]]:
        folder = self._upload_dir(bucket, upload_id)
        try:
            info = json.loads((folder / "upload.json").read_text())
        except FileNotFoundError:
            raise ServiceError("NoSuchUpload", f"The specified upload does not exist: "
                               f"{upload_id}", 404) from None  # fmt: skip
        if info["Key"] != key:
            raise ServiceError("NoSuchUpload", f"upload {upload_id} is for key {info['Key']!r}, "
                               f"not {key!r}", 404)  # fmt: skip
        return folder, info

    def upload_part(self, Bucket: str, Key: str, PartNumber: int, UploadId: str, Body: Any = None,
                    **_: Any) -> dict[str, Any]:  # fmt: skip
        """UploadPart: part numbers 1 to 10,000."""
        folder, _info = self._upload(Bucket, Key, UploadId)
        if not 1 <= int(PartNumber) <= 10_000:
            raise ServiceError("InvalidArgument", f"Part number must be an integer between 1 and "
                               f"10000, inclusive (got {PartNumber})")  # fmt: skip
        data = _body_bytes(Body)
        part = folder / f"part-{int(PartNumber):05d}"
        tmp = folder / f".{part.name}.{uuid.uuid4().hex}"
        tmp.write_bytes(data)
        os.replace(tmp, part)
        return {"ETag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'}

    def complete_multipart_upload(self, Bucket: str, Key: str, UploadId: str,
                                  MultipartUpload: dict[str, Any] | None = None,
                                  **_: Any) -> dict[str, Any]:  # fmt: skip
        """CompleteMultipartUpload: join the listed parts into the object, atomically."""
        folder, info = self._upload(Bucket, Key, UploadId)
        parts = (MultipartUpload or {}).get("Parts") or []
        if not parts:
            raise ServiceError("MalformedXML", "CompleteMultipartUpload lists no parts")
        numbers = [int(p["PartNumber"]) for p in parts]
        if numbers != sorted(numbers):
            raise ServiceError("InvalidPartOrder", "The list of parts was not in ascending order")
        fd, tmp = tempfile.mkstemp(dir=self._staging(), prefix="multipart-")
        digests = b""
        try:
            with os.fdopen(fd, "wb") as out:
                for p in parts:
                    part = folder / f"part-{int(p['PartNumber']):05d}"
                    if not part.is_file():
                        raise ServiceError("InvalidPart", f"part {p['PartNumber']} was not "
                                           "uploaded")  # fmt: skip
                    data = part.read_bytes()
                    digest = hashlib.md5(data, usedforsecurity=False)
                    if p.get("ETag") and p["ETag"].strip('"') != digest.hexdigest():
                        raise ServiceError("InvalidPart", f"part {p['PartNumber']}: the ETag "
                                           "does not match the uploaded part")  # fmt: skip
                    digests += digest.digest()
                    out.write(data)
            target = self._store(Bucket, Key, Path(tmp))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        etag = f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(parts)}"'
        self._write_meta(Bucket, Key, target, {"ContentType": info.get("ContentType"),
                                               "Metadata": info.get("Metadata"), "ETag": etag})  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
        return {"Location": f"s3://{Bucket}/{Key}", "Bucket": Bucket, "Key": Key, "ETag": etag}

    def abort_multipart_upload(self, Bucket: str, Key: str, UploadId: str,
                               **_: Any) -> dict[str, Any]:  # fmt: skip
        """AbortMultipartUpload: drop the staged parts."""
        folder, _info = self._upload(Bucket, Key, UploadId)
        shutil.rmtree(folder, ignore_errors=True)
        return {"ResponseMetadata": metadata(204)}


def _parse_range(value: str, size: int) -> tuple[int, int]:
    spec = value.strip()
    if not spec.startswith("bytes=") or "," in spec:
        raise ServiceError("InvalidRange", f"Range {value!r}: use one range 'bytes=start-end'",
                           416)  # fmt: skip
    first, _, last = spec[len("bytes=") :].partition("-")
    try:
        if first == "":
            length = int(last)
            start, end = max(0, size - length), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        raise ServiceError("InvalidRange", f"Range {value!r} is not a byte range", 416) from None
    end = min(end, size - 1)
    if start >= size or start > end:
        raise ServiceError("InvalidRange", f"The requested range {value!r} is not satisfiable "
                           f"for an object of {size} bytes", 416)  # fmt: skip
    return start, end


def _copy_source(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return value["Bucket"], value["Key"]
    text = urllib.parse.unquote(str(value).split("?versionId=")[0]).lstrip("/")
    bucket, _, key = text.partition("/")
    if not bucket or not key:
        raise ServiceError("InvalidArgument", f"CopySource {value!r}: expected 'bucket/key'")
    return bucket, key


def _encoder(encoding: str | None) -> Any:
    if encoding is None:
        return lambda text: text
    if encoding != "url":
        raise ServiceError("InvalidArgument", f"Invalid Encoding Method specified in Request: "
                           f"{encoding!r}")  # fmt: skip
    return lambda text: urllib.parse.quote_plus(text, safe="/")
