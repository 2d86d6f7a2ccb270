"""The local lake: S3 objects stored as files under ``<lab home>/s3/<bucket>/<key>``.

AWS equivalent: Amazon S3. Every local service that reads or writes "S3" (the ``s3`` client,
``wr.s3``, the local Athena, the SageMaker workers) resolves its ``s3://`` URIs through
:class:`LocalLake`, so nothing can be written outside the lab home and every one of them maps a
key to the same file.

How a key maps to a file: each ``/``-separated segment of the key is one folder or file name, as
it always was (``data/raw/x.csv`` is ``data/raw/x.csv``). A segment a file system cannot hold
as a name is written as one or more names that start with ``~s3~`` and read back as the
segment: an empty segment (``a//b.csv``, ``/abs``, the folder marker ``data/``) is ``~s3~=``; a
segment longer than 255 bytes is cut into ``~s3~+<part>`` folders ending in ``~s3~=<rest>``; a
segment that itself starts with ``~s3~`` is ``~s3~=<segment>``. So every legal S3 key up to
1,024 bytes has a file, distinct keys have distinct files, and listings give the keys back.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from utils.errors import LabError, LakePathError

COURSE_BUCKET = "dlai-practical-data-science"  # the course's public bucket: read-only
MAX_KEY_BYTES = 1024  # S3's limit on a key (UTF-8 bytes)
NAME_MAX_BYTES = 255  # the longest file name the common file systems hold
_MARK = "~s3~"  # names that start with it encode a key segment
_MORE = _MARK + "+"  # a part of a long segment; the segment goes on in the next name
_LAST = _MARK + "="  # the (last part of a) segment
_PART_BYTES = 200  # bytes of a long segment per name
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


class KeyTooLongError(LakePathError, ClientError):
    """A key over 1,024 bytes: S3's ``KeyTooLongError`` (a ``ClientError``, as on AWS)."""

    def __init__(self, uri: str, n_bytes: int, operation: str = "PutObject") -> None:
        self.uri = uri
        self.n_bytes = n_bytes
        ClientError.__init__(self, {
            "Error": {"Code": "KeyTooLongError", "Message": (
                f"Your key is too long: {uri[:80]}... has a key of {n_bytes:,} bytes; S3 allows "
                f"at most {MAX_KEY_BYTES:,} bytes (UTF-8) in a key")},
            "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)  # fmt: skip


class NoSuchBucketError(LabError, ClientError):
    """A write into a bucket that was never created: S3's ``NoSuchBucket`` (404)."""

    def __init__(self, bucket: str, operation: str = "PutObject") -> None:
        self.bucket = bucket
        ClientError.__init__(self, {
            "Error": {"Code": "NoSuchBucket", "BucketName": bucket, "Message": (
                f"The specified bucket does not exist: s3://{bucket}/ (create it first, e.g. "
                "lab.ensure_bucket() or s3.create_bucket(Bucket=...))")},
            "ResponseMetadata": {"HTTPStatusCode": 404}}, operation)  # fmt: skip


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """An exclusive lock on the file ``path`` (made if missing), across processes and threads:
    the catalog's writes, the job records, the AutoML job creators."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: msvcrt byte-range lock
            import msvcrt

            deadline = time.monotonic() + timeout
            while True:
                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise LabError(f"timed out waiting for the lock {path}") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def write_atomic(target: Path, data: bytes, staging: Path | None = None) -> None:
    """Write ``data`` to ``target`` so that a reader sees the old file or the new one, never
    half of one: a temporary file in ``staging`` (default: beside ``target``), then a rename."""
    import tempfile

    folder = staging or target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def bucket_name_problem(bucket: str) -> str | None:
    """Return why ``bucket`` is not a valid S3 bucket name, or None if it is valid."""
    if not isinstance(bucket, str) or not bucket:
        return "a bucket name must be a non-empty string"
    if not 3 <= len(bucket) <= 63:
        return f"a bucket name has 3 to 63 characters, {bucket!r} has {len(bucket)}"
    if not _BUCKET_RE.match(bucket):
        return (
            f"{bucket!r}: a bucket name uses lowercase letters, digits, dots and hyphens, "
            "and starts and ends with a letter or digit"
        )
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return f"{bucket!r}: a bucket name has no '..', '.-' or '-.'"
    if _IP_RE.match(bucket):
        return f"{bucket!r}: a bucket name is not an IP address"
    if bucket.startswith("xn--") or bucket.endswith("-s3alias"):
        return f"{bucket!r}: a bucket name does not start with 'xn--' or end with '-s3alias'"
    return None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into ``(bucket, key)``; the key may be empty or a prefix."""
    if not isinstance(uri, str):
        raise LakePathError(f"expected an s3:// path as a string, got {type(uri).__name__}")
    if not uri.startswith("s3://"):
        raise LakePathError(f"{uri!r} is not an S3 path: it must start with 's3://'")
    bucket, _, key = uri[len("s3://") :].partition("/")
    problem = bucket_name_problem(bucket)
    if problem:
        raise LakePathError(f"{uri!r}: {problem}")
    check_key(key, uri)
    return bucket, key


def read_only_error(uri: str, operation: str) -> Exception:
    """S3's answer to a write into the course's public bucket: AccessDenied."""
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": "AccessDenied", "Message": (
            f"Access Denied: {uri} is in the course's public bucket s3://{COURSE_BUCKET}/, "
            "readable by anyone and writable by no one; write to your own bucket instead")},
         "ResponseMetadata": {"HTTPStatusCode": 403}},
        operation,
    )  # fmt: skip


def check_writable(uri: str, operation: str) -> None:
    """Refuse a write into the course's public bucket, as S3 does (AccessDenied)."""
    if parse_s3_uri(uri)[0] == COURSE_BUCKET:
        raise read_only_error(uri, operation)


def check_key(key: str, where: str) -> None:
    """Refuse keys the lake cannot hold: '.' and '..' segments (they would name another
    folder), NUL and backslash characters, and keys over 1,024 bytes (S3's KeyTooLongError)."""
    if "\x00" in key or "\\" in key:
        raise LakePathError(f"{where!r}: the key holds a NUL or backslash character")
    if any(p in ("..", ".") for p in key.split("/")):
        raise LakePathError(f"{where!r}: '.' and '..' segments are refused in a key")
    n_bytes = len(key.encode("utf-8", "surrogatepass"))
    if n_bytes > MAX_KEY_BYTES:
        raise KeyTooLongError(where, n_bytes)


def _segment_names(segment: str) -> list[str]:
    """The file-system name(s) of one key segment (see the module's docstring)."""
    if segment and not segment.startswith(_MARK) and len(segment.encode()) <= NAME_MAX_BYTES:
        return [segment]
    parts, current, size = [], "", 0
    for ch in segment:
        n = len(ch.encode())
        if size + n > _PART_BYTES:
            parts.append(current)
            current, size = "", 0
        current += ch
        size += n
    parts.append(current)
    return [_MORE + p for p in parts[:-1]] + [_LAST + parts[-1]]


def key_names(key: str) -> list[str]:
    """The folder and file names that stand for ``key`` inside its bucket's folder.

    The one mapping of the lake: ordinary keys map segment by segment (``data/x.csv`` ->
    ``["data", "x.csv"]``); see the module's docstring for the others. ``""`` is the bucket.
    """
    if key == "":
        return []
    return [name for segment in key.split("/") for name in _segment_names(segment)]


def key_of_names(names: list[str] | tuple[str, ...]) -> str:
    """The key a file stands for, from its names below the bucket's folder (inverse of
    :func:`key_names`)."""
    segments: list[str] = []
    pending: str | None = None
    for name in names:
        if name.startswith(_MORE):
            pending = (pending or "") + name[len(_MORE) :]
            continue
        if name.startswith(_LAST):
            name = name[len(_LAST) :]
        segments.append((pending or "") + name)
        pending = None
    if pending is not None:
        segments.append(pending)
    return "/".join(segments)


@dataclass(frozen=True)
class LocalLake:
    """Maps ``s3://`` URIs to files under ``<home>/s3`` and back."""

    home: Path

    @property
    def root(self) -> Path:
        return Path(self.home) / "s3"

    def bucket_path(self, bucket: str) -> Path:
        """The folder of a bucket (whether or not it exists)."""
        problem = bucket_name_problem(bucket)
        if problem:
            raise LakePathError(f"s3://{bucket}/: {problem}")
        return self.root / bucket

    def object_path(self, bucket: str, key: str) -> Path:
        """The file of the object ``key`` (a key ending in '/' is a folder-marker object)."""
        check_key(key, f"s3://{bucket}/{key}")
        return self._inside(
            self.bucket_path(bucket).joinpath(*key_names(key)), f"s3://{bucket}/{key}"
        )

    def prefix_path(self, bucket: str, prefix: str) -> Path:
        """The folder that holds the objects of ``prefix`` up to its last '/' (the bucket's
        folder for a prefix without one)."""
        head = prefix[: prefix.rfind("/")] if "/" in prefix else ""
        check_key(head, f"s3://{bucket}/{prefix}")
        names = [n for s in head.split("/") for n in _segment_names(s)] if "/" in prefix else []
        return self._inside(self.bucket_path(bucket).joinpath(*names), f"s3://{bucket}/{prefix}")

    def _inside(self, path: Path, uri: str) -> Path:
        root = self.root.resolve()
        resolved = path.resolve()
        if root not in resolved.parents and resolved != root:
            raise LakePathError(f"{uri!r} resolves outside the lab home {root}")
        return resolved

    def path_for(self, uri: str) -> Path:
        """The local file (or folder, for a prefix ending in '/' or a bucket) of ``uri``."""
        bucket, key = parse_s3_uri(uri)
        if key == "" or key.endswith("/"):
            return self.prefix_path(bucket, key)
        return self.object_path(bucket, key)

    def key_for(self, bucket: str, path: Path) -> str:
        """The key of a file stored in ``bucket``'s folder."""
        rel = Path(path).resolve().relative_to(self.bucket_path(bucket).resolve())
        return key_of_names(rel.parts)

    def walk(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, Path, os.stat_result]]:
        """Every object of ``bucket`` whose key starts with ``prefix``: (key, file, stat), in
        no particular order. AWS: the objects ListObjectsV2 pages through."""
        try:
            start = self.prefix_path(bucket, prefix)
        except LakePathError:
            return
        if not start.is_dir():
            return
        base = self.bucket_path(bucket).resolve()
        for dirpath, _dirs, files in os.walk(start):
            folder = Path(dirpath)
            for name in files:
                full = folder / name
                key = key_of_names(full.relative_to(base).parts)
                if key.startswith(prefix):
                    try:
                        yield key, full, full.stat()
                    except FileNotFoundError:  # deleted while listing
                        continue

    def write_course_bucket(self, keys: list[str], stamp: str,
                            make: Callable[[], dict[str, bytes]]) -> list[str]:  # fmt: skip
        """Write the course's public bucket's objects into the lake: ``make()`` gives
        ``key -> content`` for ``keys``; it is called only when ``stamp`` (what the objects are
        derived from) changed or an object is missing. Returns the objects' URIs.

        The local backend's own step: its clients get AccessDenied there, as on AWS.
        """
        uris = [f"s3://{COURSE_BUCKET}/{key}" for key in keys]
        marker = Path(self.home) / "s3-metadata" / f"{COURSE_BUCKET}.source"
        if marker.is_file() and marker.read_text() == stamp and all(
                self.path_for(u).is_file() for u in uris):  # fmt: skip
            return uris
        files = make()
        for uri, key in zip(uris, keys, strict=True):
            target = self.path_for(uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, files[key])
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(stamp)
        return uris

    def uri_for(self, path: Path) -> str:
        """The ``s3://`` URI of a file stored in the lake."""
        rel = Path(path).resolve().relative_to(self.root.resolve())
        parts = rel.parts
        if not parts:
            raise LakePathError(f"{path} is the lake root, not an object")
        return f"s3://{parts[0]}/" + key_of_names(parts[1:])
