"""``wr.s3`` on the local backend: awswrangler's S3 calls over a folder.

AWS equivalent: ``awswrangler.s3`` on Amazon S3. Each method keeps awswrangler's name, argument
names, defaults and return types; objects live under ``<lab home>/s3/<bucket>/<key>``. A prefix
is a string prefix, as on S3 (``s3://b/data/tr`` matches ``s3://b/data/transformed/x.csv``), and
Unix shell-style wildcards (``*``, ``?``, ``[``) filter keys as awswrangler does. Keys map to
files as for the ``s3`` client and the local Athena (:mod:`utils.local.lake`). A write into a
bucket that was never created is S3's ``NoSuchBucket``, except for the lab's own bucket (the
SageMaker session's default bucket), which is created on first use as
``sagemaker.Session().default_bucket()`` creates it on AWS.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import io
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from awswrangler import exceptions as wr_exceptions

from utils.errors import LakePathError, NoSuchKey
from utils.local.lake import (
    LocalLake,
    NoSuchBucketError,
    check_writable,
    parse_s3_uri,
    write_atomic,
)

_WILDCARDS = ("*", "?", "[")
# SageMaker's default bucket of the local account: the SDK creates it on first use
_DEFAULT_BUCKET_RE = re.compile(r"^sagemaker-[a-z]{2}(-[a-z]+)+-\d+-000000000000$")


def _not_supported(call: str, **given: Any) -> None:
    """Raise NotImplementedError for arguments the local backend does not implement."""
    for name, value in given.items():
        if value not in (None, False):
            raise NotImplementedError(
                f"local backend: {call}({name}=...) is not implemented; "
                f"it runs on the aws backend. Leave {name} at its default locally."
            )


def _as_list(value: str | list[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


def _check_window(begin: dt.datetime | None, end: dt.datetime | None) -> None:
    for name, value in (("last_modified_begin", begin), ("last_modified_end", end)):
        if value is not None and value.tzinfo is None:
            raise wr_exceptions.InvalidArgumentValue(f"Timezone is not defined for {name}.")
    if begin is not None and end is not None and begin > end:
        raise wr_exceptions.InvalidArgumentValue(
            "last_modified_begin is bigger than last_modified_end."
        )


class LocalS3:
    """The ``wr.s3`` namespace of the local backend, bound to one lake."""

    def __init__(self, lake: LocalLake, default_bucket: str | None = None) -> None:
        self._lake = lake
        self._default_bucket = default_bucket

    # -- helpers ---------------------------------------------------------------------------
    def _object_path(self, path: str, call: str) -> Path:
        bucket, key = parse_s3_uri(path)
        if not key or key.endswith("/"):
            raise LakePathError(f"{call}: {path!r} names a prefix, not an object (it needs a key)")
        return self._lake.object_path(bucket, key)

    def _file(self, uri: str) -> Path:
        """The file of a listed object (a key ending in '/' is a folder-marker object)."""
        return self._lake.object_path(*parse_s3_uri(uri))

    def _require_bucket(self, bucket: str, operation: str) -> None:
        """S3's NoSuchBucket for a write into a bucket never created (the lab's own bucket is
        created on first use, as the SageMaker SDK's ``default_bucket()`` does)."""
        folder = self._lake.bucket_path(bucket)
        if folder.is_dir():
            return
        if bucket == self._default_bucket or _DEFAULT_BUCKET_RE.match(bucket):
            folder.mkdir(parents=True, exist_ok=True)
            return
        raise NoSuchBucketError(bucket, operation)

    def _staging(self) -> Path:
        staging = self._lake.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return staging

    def _write_bytes(self, path: str, data: bytes, call: str) -> None:
        """Write an object atomically: readers see the old object or the new one, never half."""
        target = self._object_path(path, call)
        check_writable(path, "PutObject")
        self._require_bucket(parse_s3_uri(path)[0], "PutObject")
        if target.is_dir():
            raise LakePathError(f"{call}: {path!r} is already used as a prefix (a folder) locally")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data, self._staging())

    def _iter_objects(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, os.stat_result]]:
        found = sorted(self._lake.walk(bucket, prefix), key=lambda item: item[0].encode("utf-8"))
        for key, _path, st in found:
            yield key, st

    def _list(
        self,
        path: str,
        suffix: list[str] | None = None,
        ignore_suffix: list[str] | None = None,
        last_modified_begin: dt.datetime | None = None,
        last_modified_end: dt.datetime | None = None,
        ignore_empty: bool = False,
    ) -> list[str]:
        _check_window(last_modified_begin, last_modified_end)
        bucket, pattern = parse_s3_uri(path)
        cut = min((pattern.find(c) for c in _WILDCARDS if c in pattern), default=len(pattern))
        prefix = pattern[:cut]
        out: list[str] = []
        for key, st in self._iter_objects(bucket, prefix):
            if not key.startswith(prefix):
                continue
            if ignore_empty and st.st_size == 0:
                continue
            if suffix is not None and not key.endswith(tuple(suffix)):
                continue
            modified = dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC)
            if last_modified_begin is not None and modified < last_modified_begin:
                continue
            if last_modified_end is not None and modified > last_modified_end:
                continue
            out.append(f"s3://{bucket}/{key}")
        if prefix != pattern:
            out = fnmatch.filter(out, f"s3://{bucket}/{pattern}")
        if ignore_suffix is not None:
            out = [p for p in out if not p.endswith(tuple(ignore_suffix))]
        return sorted(out)

    def _path2list(
        self,
        path: str | list[str],
        suffix: str | list[str] | None = None,
        ignore_suffix: str | list[str] | None = None,
        ignore_empty: bool = False,
        last_modified_begin: dt.datetime | None = None,
        last_modified_end: dt.datetime | None = None,
    ) -> list[str]:
        sfx, ign = _as_list(suffix), _as_list(ignore_suffix)
        if isinstance(path, str):
            return self._list(path, sfx, ign, last_modified_begin, last_modified_end, ignore_empty)
        if isinstance(path, list):
            if last_modified_begin or last_modified_end:
                raise wr_exceptions.InvalidArgumentCombination(
                    "Specify a list of files or (last_modified_begin and last_modified_end)"
                )
            paths = path if sfx is None else [p for p in path if p.endswith(tuple(sfx))]
            return paths if ign is None else [p for p in paths if not p.endswith(tuple(ign))]
        raise wr_exceptions.InvalidArgumentType(
            f"{type(path)} is not a valid path type. Please, use str or List[str]."
        )

    # -- awswrangler's calls ---------------------------------------------------------------
    def upload(
        self,
        local_file: str | Any,
        path: str,
        use_threads: bool | int = True,
        boto3_session: Any = None,
        s3_additional_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Upload a local file (path or binary file object) to ``path``. AWS: ``wr.s3.upload``."""
        if isinstance(local_file, str | os.PathLike):
            source = Path(local_file)
            if not source.is_file():
                raise FileNotFoundError(f"upload: the local file {str(source)!r} does not exist")
            data = source.read_bytes()
        else:
            data = local_file.read()
            if isinstance(data, str):
                raise TypeError("upload: open the local file in binary mode ('rb')")
        self._write_bytes(path, data, "upload")

    def download(
        self,
        path: str,
        local_file: str | Any,
        version_id: str | None = None,
        use_threads: bool | int = True,
        boto3_session: Any = None,
        s3_additional_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Download the object at ``path`` to a local file or binary file object."""
        _not_supported("wr.s3.download", version_id=version_id)
        source = self._object_path(path, "download")
        if not source.is_file():
            raise NoSuchKey(f"download: no object at {path!r} (NoSuchKey)")
        if isinstance(local_file, str | os.PathLike):
            Path(local_file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, local_file)
        else:
            local_file.write(source.read_bytes())

    def list_objects(
        self,
        path: str,
        suffix: str | list[str] | None = None,
        ignore_suffix: str | list[str] | None = None,
        last_modified_begin: dt.datetime | None = None,
        last_modified_end: dt.datetime | None = None,
        ignore_empty: bool = False,
        chunked: bool = False,
        s3_additional_kwargs: dict[str, Any] | None = None,
        boto3_session: Any = None,
    ) -> list[str] | Iterator[list[str]]:
        """List the objects under a prefix (wildcards allowed). AWS: ``wr.s3.list_objects``."""
        paths = self._list(
            path, _as_list(suffix), _as_list(ignore_suffix),
            last_modified_begin, last_modified_end, ignore_empty,
        )  # fmt: skip
        if chunked:
            return (paths[i : i + 1000] for i in range(0, len(paths), 1000))
        return paths

    def does_object_exist(
        self,
        path: str,
        s3_additional_kwargs: dict[str, Any] | None = None,
        boto3_session: Any = None,
        version_id: str | None = None,
    ) -> bool:
        """True if an object exists at exactly ``path``. AWS: ``wr.s3.does_object_exist``."""
        _not_supported("wr.s3.does_object_exist", version_id=version_id)
        bucket, key = parse_s3_uri(path)
        if not key:
            raise wr_exceptions.InvalidArgumentValue(f"{path!r} has no key: name an object")
        return self._lake.object_path(bucket, key).is_file()

    def delete_objects(
        self,
        path: str | list[str],
        use_threads: bool | int = True,
        last_modified_begin: dt.datetime | None = None,
        last_modified_end: dt.datetime | None = None,
        s3_additional_kwargs: dict[str, Any] | None = None,
        boto3_session: Any = None,
    ) -> None:
        """Delete a list of objects, or every object under a prefix. AWS: ``wr.s3.delete_objects``."""
        paths = self._path2list(
            path, last_modified_begin=last_modified_begin, last_modified_end=last_modified_end
        )
        for uri in paths:
            check_writable(uri, "DeleteObjects")
        for uri in paths:
            target = self._file(uri)
            if target.is_file():
                target.unlink()
                self._prune(target.parent, uri)

    def _prune(self, folder: Path, uri: str) -> None:
        """Remove folders left empty by a delete, up to the bucket (S3 has no folders)."""
        bucket_dir = self._lake.bucket_path(parse_s3_uri(uri)[0]).resolve()
        while folder != bucket_dir and bucket_dir in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def read_csv(
        self,
        path: str | list[str],
        path_suffix: str | list[str] | None = None,
        path_ignore_suffix: str | list[str] | None = None,
        version_id: str | dict[str, str] | None = None,
        ignore_empty: bool = True,
        use_threads: bool | int = True,
        last_modified_begin: dt.datetime | None = None,
        last_modified_end: dt.datetime | None = None,
        boto3_session: Any = None,
        s3_additional_kwargs: dict[str, Any] | None = None,
        dtype_backend: str = "numpy_nullable",
        chunksize: int | None = None,
        dataset: bool = False,
        partition_filter: Callable[[dict[str, str]], bool] | None = None,
        ray_args: Any = None,
        **pandas_kwargs: Any,
    ) -> pd.DataFrame | Iterator[pd.DataFrame]:
        """Read CSV object(s) into one DataFrame (``pandas.read_csv`` arguments pass through).

        AWS: ``wr.s3.read_csv``. A string path is a prefix: every object under it is read.
        """
        _not_supported("wr.s3.read_csv", version_id=version_id)
        if "iterator" in pandas_kwargs:
            raise wr_exceptions.InvalidArgument(
                "Please, use the chunksize argument instead of iterator."
            )
        ignore = _as_list(path_ignore_suffix)
        paths = self._path2list(
            path, path_suffix, ignore, ignore_empty, last_modified_begin, last_modified_end
        )
        root = path if dataset and isinstance(path, str) else None
        if root is not None and not root.endswith("/"):
            root += "/"
        if root is not None and partition_filter is not None:
            paths = [p for p in paths if partition_filter(_partitions(root, p))]
        if not paths:
            raise wr_exceptions.NoFilesFound(f"No files Found on: {path}.")
        if dtype_backend != "numpy_nullable":
            pandas_kwargs["dtype_backend"] = dtype_backend

        def frames() -> Iterator[pd.DataFrame]:
            for uri in paths:
                local = self._file(uri)
                if not local.is_file():
                    raise NoSuchKey(f"read_csv: no object at {uri!r} (NoSuchKey)")
                try:
                    parts = pd.read_csv(local, chunksize=chunksize, **pandas_kwargs)
                except pd.errors.ParserError as exc:
                    raise wr_exceptions.InvalidFile(f"read_csv: cannot parse {uri}: {exc}") from exc
                for frame in [parts] if chunksize is None else parts:
                    if root is not None:
                        for name, value in _partitions(root, uri).items():
                            frame[name] = pd.Categorical([value] * len(frame))
                    yield frame

        if chunksize is not None:
            return frames()
        return pd.concat(list(frames()), ignore_index="index_col" not in pandas_kwargs, sort=False)

    def to_csv(
        self,
        df: pd.DataFrame,
        path: str | None = None,
        sep: str = ",",
        index: bool = True,
        columns: list[str] | None = None,
        use_threads: bool | int = True,
        boto3_session: Any = None,
        s3_additional_kwargs: dict[str, Any] | None = None,
        sanitize_columns: bool = False,
        dataset: bool = False,
        filename_prefix: str | None = None,
        partition_cols: list[str] | None = None,
        bucketing_info: Any = None,
        concurrent_partitioning: bool = False,
        mode: str | None = None,
        catalog_versioning: bool = False,
        schema_evolution: bool = False,
        dtype: dict[str, str] | None = None,
        database: str | None = None,
        table: str | None = None,
        glue_table_settings: Any = None,
        athena_partition_projection_settings: Any = None,
        catalog_id: str | None = None,
        **pandas_kwargs: Any,
    ) -> dict[str, Any]:
        """Write a DataFrame as CSV; returns ``{"paths": [...], "partitions_values": {...}}``.

        AWS: ``wr.s3.to_csv``. Non-dataset writes one object at ``path``; ``dataset=True`` writes
        ``<path>/<uuid>.csv`` files (hive partitions with ``partition_cols``) in ``mode``
        append, overwrite or overwrite_partitions.
        """
        _not_supported(
            "wr.s3.to_csv", bucketing_info=bucketing_info, database=database, table=table,
            glue_table_settings=glue_table_settings, catalog_id=catalog_id,
            athena_partition_projection_settings=athena_partition_projection_settings,
        )  # fmt: skip
        if "pandas_kwargs" in pandas_kwargs:
            raise wr_exceptions.InvalidArgument(
                "You can NOT pass `pandas_kwargs` explicit, just add valid Pandas arguments."
            )
        if path is None:
            raise wr_exceptions.InvalidArgumentValue("You must specify a `path`.")
        if not dataset:
            for name in ("partition_cols", "mode"):
                if locals()[name]:
                    raise wr_exceptions.InvalidArgumentCombination(
                        f"Please, pass dataset=True to be able to use {name}."
                    )
            self._write_bytes(path, _csv_bytes(df, sep=sep, index=index, columns=columns,
                                               **pandas_kwargs), "to_csv")  # fmt: skip
            return {"paths": [path], "partitions_values": {}}

        mode = mode or "append"
        if mode not in ("append", "overwrite", "overwrite_partitions"):
            raise wr_exceptions.InvalidArgumentValue(
                f"mode={mode!r}: use 'append', 'overwrite' or 'overwrite_partitions'"
            )
        root = path if path.endswith("/") else path + "/"
        frame = df[columns] if columns else df
        partition_cols = partition_cols or []
        missing = [c for c in partition_cols if c not in frame.columns]
        if missing:
            raise wr_exceptions.InvalidArgumentValue(
                f"partition_cols not in the DataFrame: {missing}"
            )
        name = (filename_prefix or "") + uuid.uuid4().hex + ".csv"
        if mode == "overwrite":
            self.delete_objects(root)
        header = pandas_kwargs.pop("header", True)
        written: list[str] = []
        values: dict[str, list[str]] = {}
        groups = [((), frame)] if not partition_cols else frame.groupby(partition_cols, sort=True)
        for keys, part in groups:
            keys = keys if isinstance(keys, tuple) else (keys,)
            sub = "".join(f"{c}={v}/" for c, v in zip(partition_cols, keys, strict=True))
            if sub and mode == "overwrite_partitions":
                self.delete_objects(root + sub)
            target = root + sub + name
            body = part.drop(columns=partition_cols)
            self._write_bytes(target, _csv_bytes(body, sep=sep, index=index, header=header,
                                                 **pandas_kwargs), "to_csv")  # fmt: skip
            written.append(target)
            if sub:
                values[root + sub] = [str(v) for v in keys]
        return {"paths": written, "partitions_values": values}


def _csv_bytes(df: pd.DataFrame, **kwargs: Any) -> bytes:
    buffer = io.StringIO()
    kwargs.setdefault("quoting", csv.QUOTE_MINIMAL)
    df.to_csv(buffer, **kwargs)
    return buffer.getvalue().encode(kwargs.get("encoding") or "utf-8")


def _partitions(root: str, uri: str) -> dict[str, str]:
    """Hive-style ``name=value`` partition values of ``uri`` below ``root``."""
    rel = uri[len(root) :] if uri.startswith(root) else uri
    out: dict[str, str] = {}
    for segment in rel.split("/")[:-1]:
        name, eq, value = segment.partition("=")
        if eq:
            out[name] = value
    return out
