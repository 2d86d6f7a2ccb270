"""List what the labs created, on either backend, and delete it on request.

AWS equivalent: the course's "release resources" cells (``sm.delete_endpoint(EndpointName=...)``,
``predictor.delete_endpoint()``) and what a careful learner adds (stopping jobs, deleting job
records, the Glue database, the S3 prefixes, Athena's result files), gathered for ``99_cleanup``.
:func:`inventory` only looks; :func:`delete` deletes (or stops) what the inventory marked, in an
order that stops billing first. Both go through the lab's clients (``lab.client("s3")``,
``lab.client("sagemaker")``) and ``lab.wr`` (Glue, Athena), so they are the same calls on both
backends.

What is the labs' (and nothing else is touched):

- S3, the lab's bucket only: the objects under :data:`utils.keys.LAB_PREFIXES` (everything the
  notebooks write), and under ``<job name>/`` for each lab job, where the SDK puts what it
  uploads for a job that was given no path. Never the bucket itself, never another prefix.
- SageMaker jobs whose output is in the lab's S3: AutoML jobs (DescribeAutoMLJobV2's
  ``OutputDataConfig``), training jobs (``OutputDataConfig.S3OutputPath``; on AWS this includes
  the candidates' jobs Autopilot ran under ``autopilot/<job>/``), processing jobs (every
  ``ProcessingOutput``; Clarify writes to ``bias/``). A running job is stopped. A finished
  training or processing job's record is deleted (DeleteTrainingJob / DeleteProcessingJob); a
  stopped one on the next run. AutoML jobs have no delete call: AWS keeps their records (at no
  charge), and so does the local backend.
- Models with a container's model data in the lab's S3; endpoint configs serving such a model
  (or named after a lab AutoML job, as ``06_deploy_predict`` names them: ``<job>-ep``);
  endpoints using such a config (or so named).
- Glue: the tables of the lab's database whose data is in the lab's S3; the database itself
  once no other table is left in it (never ``default``).
- Athena: the result objects of the queries run against the lab's database (ListQueryExecutions
  and GetQueryExecution of the ``primary`` workgroup): the objects in a query's output folder
  named after its id (``<id>.csv``, ``<id>.csv.metadata``, ``<id>/...``) and what a CTAS query
  of the lab's wrote there (its ``external_location``). Other databases' results stay. The query
  history stays too: Athena has no call to delete it (it keeps 45 days).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from utils.errors import LabError
from utils.keys import LAB_PREFIXES

# deletion order: what bills by the hour first
KINDS = (
    "endpoint",
    "endpoint-config",
    "model",
    "automl-job",
    "training-job",
    "processing-job",
    "glue-table",
    "glue-database",
    "s3-objects",
    "athena-results",
)
HOSTING = KINDS[:3]  # the kinds 99_cleanup deletes with the course's own calls
_ORDER = {kind: i for i, kind in enumerate(KINDS)}
_RUNNING, _STOPPING = "InProgress", "Stopping"
_EXTERNAL_LOCATION = re.compile(r"external_location\s*=\s*'(s3://[^']+)'", re.IGNORECASE)
_GONE_CODES = {"ResourceNotFound", "ResourceNotFoundException", "EntityNotFoundException",
               "NoSuchBucket", "NoSuchEntity", "NotFound", "404"}  # fmt: skip
_GONE_MESSAGE = re.compile(r"could not find|not found|does not exist", re.IGNORECASE)


class CleanupError(LabError, RuntimeError):
    """Cleanup could not list or delete something; the message says what and where."""


@dataclass
class Resource:
    """One thing the labs created: its kind, name, a detail line, and what cleanup does."""

    kind: str
    name: str
    detail: str = ""
    action: str = "delete"  # "delete", "stop", or "keep: <why>"
    targets: list[str] = field(default_factory=list)  # object URIs (s3-objects, athena-results)

    @property
    def acts(self) -> bool:
        return self.action in ("delete", "stop")


# -- small helpers -------------------------------------------------------------------------------
def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if isinstance(moment, dt.datetime) else str(moment or "?")


def _split(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return "", ""
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def is_gone(exc: BaseException) -> bool:
    """True for an error that means "there is no such resource" (it was deleted already).

    AWS equivalent: SageMaker's ``ValidationException`` "Could not find ...", ``ResourceNotFound``,
    Glue's ``EntityNotFoundException``, S3's ``NoSuchBucket``.
    """
    code = _code(exc)
    if code in _GONE_CODES:
        return True
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
    return code == "ValidationException" and bool(_GONE_MESSAGE.search(message))


@contextlib.contextmanager
def unless_gone() -> Iterator[None]:
    """Run a delete call; a resource that is already gone is fine (the same result on a re-run).

    AWS equivalent: ignoring the not-found error of a Delete* call (see :func:`is_gone`).
    """
    try:
        yield
    except Exception as exc:
        if not is_gone(exc):
            raise


def _describe_error(exc: BaseException) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', exc)}"
    return f"{type(exc).__name__}: {exc}"


def _all(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list call (boto3's paginator)."""
    try:
        pages = client.get_paginator(operation).paginate(**kwargs)
        return [item for page in pages for item in page.get(key, [])]
    except Exception as exc:
        raise CleanupError(f"listing with {operation} failed: {_describe_error(exc)}") from exc


class _LabS3:
    """Which S3 URIs are the lab's: its bucket, under one of its prefixes."""

    def __init__(self, bucket: str, prefixes: Iterable[str]) -> None:
        self.bucket = bucket
        self.prefixes = tuple(prefixes)

    def owns(self, uri: str | None) -> bool:
        bucket, key = _split(uri or "")
        if bucket != self.bucket:
            return False
        key = key if key.endswith("/") else key + "/"
        return any(key.startswith(p) for p in self.prefixes)

    def with_jobs(self, jobs: Iterable[str]) -> _LabS3:
        """Also ``<job>/`` for each job, unless it overlaps a lab prefix (a job named "data")."""
        extra = [f"{j}/" for j in jobs]
        extra = [
            p for p in extra if not any(p.startswith(q) or q.startswith(p) for q in self.prefixes)
        ]
        return _LabS3(self.bucket, self.prefixes + tuple(dict.fromkeys(extra)))


# -- S3 ------------------------------------------------------------------------------------------
def _objects(s3: Any, uri: str) -> list[tuple[str, int]]:
    """``(uri, size)`` of every object under a prefix (a string prefix, as on S3)."""
    bucket, prefix = _split(uri)
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [
            (f"s3://{bucket}/{o['Key']}", int(o.get("Size", 0)))
            for page in pages
            for o in page.get("Contents", [])
        ]
    except Exception as exc:
        if _code(exc) == "NoSuchBucket":
            return []
        raise CleanupError(
            f"listing s3://{bucket}/{prefix} (ListObjectsV2) failed: {_describe_error(exc)}"
        ) from exc


def _objects_row(kind: str, name: str, found: list[tuple[str, int]], what: str = "") -> Resource:
    total = sum(size for _, size in found)
    detail = f"{len(found)} objects, {_size(total)}" + (f" {what}" if what else "")
    return Resource(kind, name, detail, targets=sorted(u for u, _ in found))


def lake_objects(lab: Any, lab_s3: _LabS3 | None = None, s3: Any = None) -> list[Resource]:
    """One ``s3-objects`` row per lab prefix that holds objects, in the lab's bucket.

    AWS equivalent: ``ListObjectsV2(Bucket=<bucket>, Prefix=<prefix>)`` for each prefix.
    """
    s3 = s3 or lab.client("s3")
    lab_s3 = lab_s3 or _LabS3(lab.bucket, LAB_PREFIXES)
    rows = []
    for prefix in lab_s3.prefixes:
        found = _objects(s3, f"s3://{lab.bucket}/{prefix}")
        if found:
            what = "" if prefix in LAB_PREFIXES else f"(written for job {prefix.rstrip('/')})"
            rows.append(_objects_row("s3-objects", f"s3://{lab.bucket}/{prefix}", found, what))
    return rows


# -- SageMaker jobs ------------------------------------------------------------------------------
def _describe(call: Callable[..., dict[str, Any]], **name: str) -> dict[str, Any] | None:
    """A Describe* answer, or None if the resource went away since it was listed."""
    try:
        return call(**name)
    except Exception as exc:
        if is_gone(exc):
            return None
        what = ", ".join(f"{k}={v}" for k, v in name.items())
        raise CleanupError(f"describing {what} failed: {_describe_error(exc)}") from exc


def _job_action(status: str, deletable: bool) -> str:
    if status == _RUNNING:
        return "stop"
    if status == _STOPPING:
        return "keep: it is stopping; run this again once it has stopped"
    if deletable:
        return "delete"
    return (
        "keep: there is no call to delete an AutoML job; AWS keeps its record (no charge), "
        "its artifacts go with the S3 objects"
    )


# kind: (list call, its result key, describe call, the field prefix of name and status)
_JOBS = {
    "automl-job": ("list_auto_ml_jobs", "AutoMLJobSummaries", "describe_auto_ml_job_v2",
                   "AutoMLJob"),
    "training-job": ("list_training_jobs", "TrainingJobSummaries", "describe_training_job",
                     "TrainingJob"),
    "processing-job": ("list_processing_jobs", "ProcessingJobSummaries",
                       "describe_processing_job", "ProcessingJob"),
}  # fmt: skip


def _job_outputs(kind: str, desc: dict[str, Any]) -> list[str]:
    """Where a described job writes: its output path, or each processing output's S3 URI."""
    if kind == "processing-job":
        outputs = (desc.get("ProcessingOutputConfig") or {}).get("Outputs", [])
        return [str((o.get("S3Output") or {}).get("S3Uri")) for o in outputs]
    return [str((desc.get("OutputDataConfig") or {}).get("S3OutputPath"))]


def sagemaker_jobs(lab: Any, lab_s3: _LabS3 | None = None, sm: Any = None) -> list[Resource]:
    """The AutoML, training and processing jobs whose output is in the lab's S3.

    AWS equivalent: ListAutoMLJobs + DescribeAutoMLJobV2, ListTrainingJobs +
    DescribeTrainingJob, ListProcessingJobs + DescribeProcessingJob.
    """
    sm = sm or lab.client("sagemaker")
    lab_s3 = lab_s3 or _LabS3(lab.bucket, LAB_PREFIXES)
    rows: list[Resource] = []
    for kind, (list_call, key, describe, field_prefix) in _JOBS.items():
        name_field = f"{field_prefix}Name"
        for job in _all(sm, list_call, key):
            desc = _describe(getattr(sm, describe), **{name_field: job[name_field]})
            outputs = _job_outputs(kind, desc) if desc else []
            if not desc or not outputs or not all(lab_s3.owns(u) for u in outputs):
                continue
            status = desc[f"{field_prefix}Status"]
            detail = (f"{status}, created {_when(desc.get('CreationTime'))}, output "
                      f"{', '.join(outputs)}")  # fmt: skip
            action = _job_action(status, deletable=kind != "automl-job")
            rows.append(Resource(kind, desc[name_field], detail, action))
    return rows


def _model_data(container: dict[str, Any]) -> str | None:
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    return container.get("ModelDataUrl") or source.get("S3Uri")


def sagemaker_hosting(
    lab: Any, lab_s3: _LabS3 | None = None, automl_jobs: Iterable[str] = (), sm: Any = None
) -> list[Resource]:
    """Endpoints, endpoint configs and models of the labs (see the module docstring).

    AWS equivalent: ListModels + DescribeModel, ListEndpointConfigs + DescribeEndpointConfig,
    ListEndpoints + DescribeEndpoint.
    """
    sm = sm or lab.client("sagemaker")
    lab_s3 = lab_s3 or _LabS3(lab.bucket, LAB_PREFIXES)
    named = tuple(f"{job}-" for job in automl_jobs)
    models: dict[str, str] = {}
    for m in _all(sm, "list_models", "Models"):
        desc = _describe(sm.describe_model, ModelName=m["ModelName"])
        if not desc:
            continue
        containers = desc.get("Containers") or [desc.get("PrimaryContainer") or {}]
        urls = [u for u in (_model_data(c) for c in containers) if u]
        if any(lab_s3.owns(u) for u in urls):
            models[m["ModelName"]] = f"{len(containers)} container(s), model data {urls[0]}"
    configs: dict[str, str] = {}
    for c in _all(sm, "list_endpoint_configs", "EndpointConfigs"):
        desc = _describe(sm.describe_endpoint_config, EndpointConfigName=c["EndpointConfigName"])
        if not desc:
            continue
        variants = desc.get("ProductionVariants") or []
        served = [v.get("ModelName") for v in variants if v.get("ModelName")]
        if any(m in models for m in served) or c["EndpointConfigName"].startswith(named or "\0"):
            instance = ", ".join(
                f"{v.get('InstanceType', 'serverless')} x{v.get('InitialInstanceCount', 1)}"
                for v in variants
            )
            configs[c["EndpointConfigName"]] = f"serves {', '.join(served)} on {instance}"
    rows = []
    for e in _all(sm, "list_endpoints", "Endpoints"):
        desc = _describe(sm.describe_endpoint, EndpointName=e["EndpointName"])
        if desc and (
            desc.get("EndpointConfigName") in configs or e["EndpointName"].startswith(named or "\0")
        ):
            rows.append(Resource("endpoint", e["EndpointName"],
                                 f"{desc['EndpointStatus']}, config "
                                 f"{desc.get('EndpointConfigName')}; bills by the hour"))  # fmt: skip
    rows += [Resource("endpoint-config", n, d) for n, d in configs.items()]
    rows += [Resource("model", n, d) for n, d in models.items()]
    return rows


# -- Glue ----------------------------------------------------------------------------------------
def glue_resources(lab: Any, lab_s3: _LabS3 | None = None) -> list[Resource]:
    """The lab's tables in the lab's Glue database, then the database (deleted if left empty).

    AWS equivalent: Glue GetDatabases, GetTables, GetTable (``wr.catalog``).
    """
    wr = lab.wr
    lab_s3 = lab_s3 or _LabS3(lab.bucket, LAB_PREFIXES)
    try:
        names = set(wr.catalog.databases(limit=1000)["Database"].tolist())
        if lab.database not in names:
            return []
        tables = wr.catalog.tables(database=lab.database, limit=10000)
    except Exception as exc:
        raise CleanupError(
            f"listing the Glue database {lab.database!r} failed: {_describe_error(exc)}"
        ) from exc
    rows: list[Resource] = []
    foreign: list[str] = []
    for table in tables["Table"].tolist() if not tables.empty else []:
        try:
            location = wr.catalog.get_table_location(database=lab.database, table=table)
        except Exception:  # noqa: BLE001 - a view or a table without a location: not the labs'
            location = None
        name = f"{lab.database}.{table}"
        if lab_s3.owns(location):
            rows.append(Resource("glue-table", name, f"data at {location}"))
        else:
            foreign.append(table)
            rows.append(Resource("glue-table", name, f"data at {location}",
                                 "keep: its data is not the lab's"))  # fmt: skip
    if lab.database == "default":
        action = "keep: Athena's default database is not the labs'"
    elif foreign:
        action = f"keep: it holds tables the labs did not create ({', '.join(sorted(foreign))})"
    else:
        action = "delete"
    count = len(rows) - len(foreign)
    rows.append(Resource("glue-database", lab.database, f"{count} lab table(s)", action))
    return rows


# -- Athena --------------------------------------------------------------------------------------
def _output_folder(location: str, qid: str) -> str:
    """The folder of a query's OutputLocation (``s3://b/<id>.csv`` -> ``s3://b/``)."""
    if location.endswith("/"):
        return location
    folder, _, last = location.rpartition("/")
    if qid in last and folder.count("/") >= 2:
        return folder + "/"
    return location + "/"


def _named_after(rel_key: str, ids: set[str]) -> bool:
    """True if a part of ``rel_key`` is a query id (``<id>.csv``, ``<id>-manifest.csv``, ``<id>/``)."""
    for part in rel_key.split("/"):
        stem = part.split(".", 1)[0]
        stem = stem[: -len("-manifest")] if stem.endswith("-manifest") else stem
        if stem in ids:
            return True
    return False


def athena_results(lab: Any, s3: Any = None) -> list[Resource]:
    """Result objects of the queries run against the lab's database, one row per folder.

    AWS equivalent: Athena ListQueryExecutions + GetQueryExecution (``wr.athena``), then S3
    ListObjectsV2 of each result folder.
    """
    wr = lab.wr
    s3 = s3 or lab.client("s3")
    try:
        ids = wr.athena.list_query_executions()
    except Exception as exc:
        raise CleanupError(
            f"listing Athena's query history (ListQueryExecutions, workgroup primary) failed: "
            f"{_describe_error(exc)}"
        ) from exc
    lab_ids: set[str] = set()
    folders: dict[str, set[str]] = {}
    ctas: set[str] = set()
    for qid in ids:
        try:
            execution = wr.athena.get_query_execution(query_execution_id=qid)
        except Exception as exc:
            if is_gone(exc) or _code(exc) == "InvalidRequestException":
                continue  # expired from the history meanwhile
            raise CleanupError(
                f"reading Athena query {qid} (GetQueryExecution) failed: {_describe_error(exc)}"
            ) from exc
        if (execution.get("QueryExecutionContext") or {}).get("Database") != lab.database:
            continue
        lab_ids.add(qid)
        output = (execution.get("ResultConfiguration") or {}).get("OutputLocation")
        if output:
            folders.setdefault(_output_folder(output, qid), set()).add(qid)
        ctas.update(m.rstrip("/") + "/" for m in _EXTERNAL_LOCATION.findall(execution["Query"]))
    rows = []
    for folder in sorted(folders):
        mine = [p for p in ctas if p.startswith(folder)]
        found = [
            (uri, size)
            for uri, size in _objects(s3, folder)
            if _named_after(uri[len(folder) :], lab_ids) or uri.startswith(tuple(mine) or "\0")
        ]
        if found:
            what = f"of {len(folders[folder])} queries on {lab.database}"
            rows.append(_objects_row("athena-results", folder, found, what))
    return rows


# -- the two entry points ------------------------------------------------------------------------
def inventory(lab: Any) -> list[Resource]:
    """Everything the labs created on the lab's backend, in deletion order. Nothing changes.

    AWS equivalent: ListEndpoints / ListEndpointConfigs / ListModels / ListAutoMLJobs /
    ListTrainingJobs / ListProcessingJobs with their Describe calls, Glue GetTables, S3
    ListObjectsV2 under the lab's prefixes, Athena ListQueryExecutions / GetQueryExecution.
    """
    sm, s3 = lab.client("sagemaker"), lab.client("s3")
    lab_s3 = _LabS3(lab.bucket, LAB_PREFIXES)
    jobs = sagemaker_jobs(lab, lab_s3, sm)
    with_jobs = lab_s3.with_jobs(j.name for j in jobs)
    automl = [j.name for j in jobs if j.kind == "automl-job"]
    rows = sagemaker_hosting(lab, with_jobs, automl, sm) + jobs
    rows += glue_resources(lab, lab_s3) + lake_objects(lab, with_jobs, s3) + athena_results(lab, s3)
    return sorted(rows, key=lambda r: (_ORDER[r.kind], r.name))


def to_frame(resources: Iterable[Resource]) -> pd.DataFrame:
    """The inventory as a table: kind, name, detail, action."""
    rows = [
        {"kind": r.kind, "name": r.name, "detail": r.detail, "action": r.action} for r in resources
    ]
    return pd.DataFrame(rows, columns=["kind", "name", "detail", "action"])


def summary(resources: Iterable[Resource]) -> dict[str, int]:
    """How many of each kind cleanup acts on (objects counted one by one)."""
    out: dict[str, int] = {}
    for r in resources:
        if r.acts:
            out[r.kind] = out.get(r.kind, 0) + (len(r.targets) if r.targets else 1)
    return out


def names(resources: Iterable[Resource], kind: str) -> list[str]:
    """The names of the resources of ``kind`` that cleanup acts on (e.g. the endpoints to delete)."""
    return [r.name for r in resources if r.kind == kind and r.acts]


def _delete_objects(s3: Any, uris: list[str]) -> None:
    """S3 DeleteObjects, 1,000 keys a request; an object already gone is fine (as on S3)."""
    by_bucket: dict[str, list[str]] = {}
    for uri in uris:
        bucket, key = _split(uri)
        by_bucket.setdefault(bucket, []).append(key)
    for bucket, keys in by_bucket.items():
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                first = ", ".join(f"s3://{bucket}/{e.get('Key')} ({e.get('Code')}: "
                                  f"{e.get('Message')})" for e in errors[:3])  # fmt: skip
                raise CleanupError(f"{len(errors)} object(s) not deleted: {first}")


def _stop(stop: Callable[[], Any], status: Callable[[], str | None]) -> str:
    """Stop a job; one that is no longer running (it finished meanwhile) is fine."""
    try:
        stop()
        return "stopped"
    except Exception as exc:
        now = status() if _code(exc) == "ValidationException" else _RUNNING
        if now is None:
            return "already gone"
        if now != _RUNNING:
            return f"not running any more ({now})"
        raise


def _act(lab: Any, r: Resource, sm: Any, s3: Any) -> str:
    """Delete (or stop) one resource; returns the result."""
    if r.kind in ("s3-objects", "athena-results"):
        _delete_objects(s3, r.targets)
        return "deleted"
    if r.kind == "glue-table":
        database, _, table = r.name.partition(".")
        gone = not lab.wr.catalog.delete_table_if_exists(database=database, table=table)
        return "already gone" if gone else "deleted"
    if r.kind == "glue-database":
        if r.name not in set(lab.wr.catalog.databases(limit=1000)["Database"].tolist()):
            return "already gone"
        left = lab.wr.catalog.tables(database=r.name, limit=10000)
        if not left.empty:
            raise CleanupError(f"it still holds tables: {', '.join(left['Table'])}")
        lab.wr.catalog.delete_database(name=r.name)
        return "deleted"
    if r.action == "stop":
        _, _, describe, field_prefix = _JOBS[r.kind]
        stop = getattr(sm, {"automl-job": "stop_auto_ml_job", "training-job": "stop_training_job",
                            "processing-job": "stop_processing_job"}[r.kind])  # fmt: skip
        name = {f"{field_prefix}Name": r.name}

        def now() -> str | None:
            desc = _describe(getattr(sm, describe), **name)
            return desc[f"{field_prefix}Status"] if desc else None

        return _stop(lambda: stop(**name), now)
    call, key = {
        "endpoint": (sm.delete_endpoint, "EndpointName"),
        "endpoint-config": (sm.delete_endpoint_config, "EndpointConfigName"),
        "model": (sm.delete_model, "ModelName"),
        "training-job": (sm.delete_training_job, "TrainingJobName"),
        "processing-job": (sm.delete_processing_job, "ProcessingJobName"),
    }[r.kind]
    try:
        call(**{key: r.name})
    except Exception as exc:
        if is_gone(exc):
            return "already gone"
        raise
    return "deleted"


_CALLS = {"endpoint": "DeleteEndpoint", "endpoint-config": "DeleteEndpointConfig",
          "model": "DeleteModel", "automl-job": "StopAutoMLJob", "glue-table": "Glue DeleteTable",
          "glue-database": "Glue DeleteDatabase", "s3-objects": "S3 DeleteObjects",
          "athena-results": "S3 DeleteObjects"}  # fmt: skip


def _call_name(r: Resource) -> str:
    if r.kind in ("training-job", "processing-job"):
        word = "Training" if r.kind == "training-job" else "Processing"
        return f"{'Stop' if r.action == 'stop' else 'Delete'}{word}Job"
    return _CALLS[r.kind]


def delete(lab: Any, resources: Iterable[Resource], dry_run: bool = True) -> pd.DataFrame:
    """Delete (or stop) what the inventory marked, in order; with ``dry_run`` only say so.

    Returns the inventory table with a ``result`` column: deleted, stopped, already gone, would
    delete, would stop, kept (with the reason), or failed (the call, the resource and the error).
    One failure does not stop the rest. AWS equivalent: DeleteEndpoint, DeleteEndpointConfig,
    DeleteModel, StopAutoMLJob, Stop/DeleteTrainingJob, Stop/DeleteProcessingJob, Glue
    DeleteTable / DeleteDatabase, S3 DeleteObjects.
    """
    items = sorted(resources, key=lambda r: (_ORDER[r.kind], r.name))
    clients: dict[str, Any] = {}

    def client(name: str) -> Any:
        if name not in clients:
            clients[name] = lab.client(name)
        return clients[name]

    results = []
    for r in items:
        if not r.acts:
            results.append(r.action.replace("keep:", "kept:", 1))
        elif dry_run:
            results.append(f"would {r.action}")
        else:
            try:
                sm = client("sagemaker") if r.kind in KINDS[:6] else None
                s3 = client("s3") if r.kind in ("s3-objects", "athena-results") else None
                results.append(_act(lab, r, sm, s3))
            except Exception as exc:  # noqa: BLE001 - reported per row; the rest still runs
                results.append(f"failed: {_call_name(r)} {r.name}: {_describe_error(exc)}")
    frame = to_frame(items)
    frame["result"] = results
    return frame
