"""The local lake: S3 objects stored as files under ``<lab home>/s3/<bucket>/<key>``.

AWS equivalent: Amazon S3. Every local service that reads or writes "S3" resolves its
``s3://`` URIs through :class:`LocalLake`, so nothing can be written outside the lab home.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from utils.errors import LakePathError

COURSE_BUCKET = "dlai-practical-data-science"  # the course's public bucket: read-only
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


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
    """Refuse keys that would escape the lab home: '..' segments, absolute paths, NUL."""
    if key.startswith("/"):
        raise LakePathError(f"{where!r}: the key starts with '/' (an absolute path is refused)")
    if "\x00" in key or "\\" in key:
        raise LakePathError(f"{where!r}: the key holds a NUL or backslash character")
    parts = PurePosixPath(key).parts if key else ()
    if any(p in ("..", ".") for p in key.split("/")) or ".." in parts:
        raise LakePathError(f"{where!r}: '.' and '..' segments are refused in a key")


@dataclass(frozen=True)
class LocalLake:
    """Maps ``s3://`` URIs to files under ``<home>/s3`` and back."""

    home: Path

    @property
    def root(self) -> Path:
        return Path(self.home) / "s3"

    def path_for(self, uri: str) -> Path:
        """The local file (or folder, for a prefix) that stands for ``uri``."""
        bucket, key = parse_s3_uri(uri)
        root = self.root.resolve()
        path = (root / bucket / key).resolve() if key else (root / bucket).resolve()
        if root not in path.parents and path != root:
            raise LakePathError(f"{uri!r} resolves outside the lab home {root}")
        return path

    def write_course_bucket(self, keys: list[str], stamp: str,
                            make: Callable[[], dict[str, bytes]]) -> list[str]:  # fmt: skip
        """Write the course's public bucket's objects into the lake: ``make()`` gives
        ``key -> content`` for ``keys``; it is called only when ``stamp`` (what the objects are
        derived from) changed or an object is missing. Returns the objects' URIs.

        The local backend's own step: its clients get AccessDenied there, as on AWS.
        """
        import os
        import tempfile

        uris = [f"s3://{COURSE_BUCKET}/{key}" for key in keys]
        marker = Path(self.home) / "s3-metadata" / f"{COURSE_BUCKET}.source"
        if marker.is_file() and marker.read_text() == stamp and all(
                self.path_for(u).is_file() for u in uris):  # fmt: skip
            return uris
        files = make()
        for uri, key in zip(uris, keys, strict=True):
            target = self.path_for(uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(files[key])
            os.replace(tmp, target)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(stamp)
        return uris

    def uri_for(self, path: Path) -> str:
        """The ``s3://`` URI of a file stored in the lake."""
        rel = Path(path).resolve().relative_to(self.root.resolve())
        parts = rel.parts
        if not parts:
            raise LakePathError(f"{path} is the lake root, not an object")
        return "s3://" + "/".join(parts)
