"""List what the labs created, on either backend, and delete it on confirmation.

AWS equivalent: the course's "release resources" cells (``predictor.delete_endpoint()``,
``wr.catalog.delete_database(...)``, emptying the S3 prefixes), gathered in one place for
``99_cleanup``. :func:`inventory` only looks; :func:`delete` deletes what the inventory marked
``delete``, in an order that stops billing first (endpoints, then models and configs, AutoML
jobs, BlazingText training jobs, Glue tables and the database, lake objects, Athena query
results).

It touches nothing the labs did not create:

- endpoints, endpoint configs and models: locally every one in the lab home; on AWS only those
  tied to the labs' AutoML and BlazingText jobs (a model whose artifacts are under
  ``s3://<bucket>/autopilot/`` or ``s3://<bucket>/blazingtext/``, or whose name starts with a
  lab job's name; a config serving such a model; an endpoint using such a config).
- AutoML jobs: the jobs whose output is under ``s3://<bucket>/autopilot/``. AWS keeps a job's
  record forever (there is no delete call, and no charge): a running job is stopped, and its
  artifacts go with the lake objects. Locally the job's record is deleted.
- BlazingText training jobs (``07_blazingtext``): the jobs whose output is under
  ``s3://<bucket>/blazingtext/``. As AutoML jobs: on AWS a running job is stopped and the record
  stays; locally the record, the log and any leftover work folder are deleted (a job still
  training is kept). The models (``model.tar.gz``) go with the ``blazingtext/`` lake objects.
- Glue: tables of the lab's database whose data is under one of the lab's prefixes; the
  database itself only once no other table is left in it (and never ``default``).
- S3: objects under the lab's prefixes (:data:`utils.environment.LAB_PREFIXES`) in the lab's
  bucket; never the bucket itself, never another prefix.
- Athena: the result files of queries run against the lab's database (on AWS, found through the
  query history of the ``primary`` workgroup); locally the local results bucket and history.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from utils import blazingtext, endpoints
from utils.environment import LAB_PREFIXES
from utils.local.lake import parse_s3_uri

# deletion order: what bills by the hour first
KINDS = (
    "endpoint",
    "endpoint-config",
    "model",
    "automl-job",
    "training-job",
    "glue-table",
    "glue-database",
    "s3-objects",
    "athena-results",
)
ATHENA_HISTORY_LIMIT = 1000  # most recent query executions looked at on AWS
_EXTERNAL_LOCATION = re.compile(r"external_location\s*=\s*'(s3://[^']+)'", re.IGNORECASE)


@dataclass
class Resource:
    """One thing the labs created: its kind, name, a detail line, and what cleanup does."""

    kind: str
    name: str
    detail: str = ""
    action: str = "delete"  # "delete", "stop", or "keep: <why>"
    targets: list[str] = field(default_factory=list)  # object URIs (s3-objects, athena-results)
    files: list[str] = field(default_factory=list)  # local files (query history records)

    @property
    def acts(self) -> bool:
        return self.action in ("delete", "stop")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


# -- S3 listing with sizes -----------------------------------------------------------------------
def _objects(lab: Any, prefix_uri: str) -> list[tuple[str, int]]:
    """``(uri, size)`` of every object under a prefix (a string prefix, as on S3)."""
    bucket, key = parse_s3_uri(prefix_uri)
    if lab.is_local:
        out = []
        for uri in lab.wr.s3.list_objects(prefix_uri):
            with contextlib.suppress(OSError):
                out.append((uri, lab.local_path(uri).stat().st_size))
        return out
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3", region_name=lab.region)
    out = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            out += [(f"s3://{bucket}/{o['Key']}", int(o["Size"])) for o in page.get("Contents", [])]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
            return []
        raise
    return out


def lake_objects(lab: Any) -> list[Resource]:
    """One ``s3-objects`` row per lab prefix that holds objects, in the lab's bucket."""
    rows = []
    for prefix in LAB_PREFIXES:
        uri = lab.s3_uri(prefix)
        found = _objects(lab, uri)
        if found:
            total = sum(size for _, size in found)
            rows.append(
                Resource(
                    "s3-objects",
                    uri,
                    f"{len(found)} objects, {_size(total)}",
                    targets=[u for u, _ in found],
                )
            )
    return rows


# -- Glue ----------------------------------------------------------------------------------------
def _under_lab_prefixes(lab: Any, location: str | None) -> bool:
    if not location:
        return False
    location = location if location.endswith("/") else location + "/"
    return any(location.startswith(lab.s3_uri(p)) for p in LAB_PREFIXES)


def glue_resources(lab: Any) -> list[Resource]:
    """The lab's tables in the lab's Glue database, then the database (deleted if left empty)."""
    wr = lab.wr
    names = set(wr.catalog.databases(limit=1000)["Database"].tolist())
    if lab.database not in names:
        return []
    rows: list[Resource] = []
    foreign: list[str] = []
    tables = wr.catalog.tables(database=lab.database, limit=10000)
    for table in tables["Table"].tolist() if not tables.empty else []:
        try:
            location = wr.catalog.get_table_location(database=lab.database, table=table)
        except Exception:  # noqa: BLE001 - a view or a table without a location: not the labs'
            location = None
        if _under_lab_prefixes(lab, location):
            rows.append(Resource("glue-table", f"{lab.database}.{table}", f"data at {location}"))
        else:
            foreign.append(table)
            rows.append(
                Resource(
                    "glue-table",
                    f"{lab.database}.{table}",
                    f"data at {location}",
                    action="keep: its data is not under the lab's prefixes",
                )
            )
    if lab.database == "default":
        keep = "keep: Athena's default database is not the labs'"
    elif foreign:
        keep = f"keep: it holds tables the labs did not create ({', '.join(sorted(foreign))})"
    else:
        keep = "delete"
    lab_tables = len(rows) - len(foreign)
    rows.append(Resource("glue-database", lab.database, f"{lab_tables} lab table(s)", action=keep))
    return rows


# -- Athena --------------------------------------------------------------------------------------
def _local_athena_bucket(lab: Any) -> str:
    from utils.local.catalog import LOCAL_CATALOG_ID

    return f"s3://aws-athena-query-results-{LOCAL_CATALOG_ID}-{lab.region}/"


def athena_results(lab: Any) -> list[Resource]:
    """Result files of the queries the labs ran (locally: the local results bucket + history)."""
    if lab.is_local:
        uri = _local_athena_bucket(lab)
        found = _objects(lab, uri)
        history = sorted(str(p) for p in (Path(lab.home) / "athena" / "queries").glob("*.json"))
        if not found and not history:
            return []
        total = sum(size for _, size in found)
        return [
            Resource(
                "athena-results",
                uri,
                f"{len(found)} objects, {_size(total)}; {len(history)} query records",
                targets=[u for u, _ in found],
                files=history,
            )
        ]
    executions = _lab_query_executions(lab)
    if not executions:
        return []
    ids = {e["QueryExecutionId"] for e in executions}
    folders: dict[str, set[str]] = {}
    extra_prefixes: set[str] = set()
    for e in executions:
        output = e.get("ResultConfiguration", {}).get("OutputLocation")
        if output:
            folders.setdefault(output.rsplit("/", 1)[0] + "/", set()).add(e["QueryExecutionId"])
        extra_prefixes.update(
            m.rstrip("/") + "/" for m in _EXTERNAL_LOCATION.findall(e.get("Query", ""))
        )
    targets: list[tuple[str, int]] = []
    for folder in sorted(folders):
        for uri, size in _objects(lab, folder):
            rest = uri[len(folder) :]
            if "/" not in rest and rest.split(".", 1)[0].split("-manifest", 1)[0] in ids:
                targets.append((uri, size))
    for prefix in sorted(extra_prefixes):
        targets += _objects(lab, prefix)
    if not targets:
        return []
    total = sum(size for _, size in targets)
    where = ", ".join(sorted(folders)) or "-"
    return [
        Resource(
            "athena-results",
            where,
            f"{len(targets)} objects, {_size(total)} of {len(ids)} queries on {lab.database}",
            targets=sorted({u for u, _ in targets}),
        )
    ]


def _lab_query_executions(lab: Any) -> list[dict[str, Any]]:
    """Recent query executions (of the primary workgroup) whose database is the lab's."""
    import boto3
    from botocore.exceptions import ClientError

    athena = boto3.client("athena", region_name=lab.region)
    ids: list[str] = []
    kwargs: dict[str, Any] = {"MaxResults": 50}  # no WorkGroup: Athena lists "primary"
    while len(ids) < ATHENA_HISTORY_LIMIT:
        page = athena.list_query_executions(**kwargs)
        ids += page.get("QueryExecutionIds", [])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    executions: list[dict[str, Any]] = []
    for start in range(0, len(ids), 50):
        chunk = ids[start : start + 50]
        try:
            executions += athena.batch_get_query_execution(QueryExecutionIds=chunk)[
                "QueryExecutions"
            ]
        except (ClientError, NotImplementedError):  # moto has no batch call: one by one
            executions += [
                athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in chunk
            ]
    return [
        e for e in executions if e.get("QueryExecutionContext", {}).get("Database") == lab.database
    ]


# -- SageMaker: endpoints, configs, models, AutoML jobs ------------------------------------------
def _paginate(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = call(**kwargs)
        out += page.get(key, [])
        if not page.get("NextToken"):
            return out
        kwargs["NextToken"] = page["NextToken"]


def automl_jobs(lab: Any) -> list[Resource]:
    """The labs' AutoML jobs: stopped when running on AWS; locally, finished jobs' records go."""
    rows = []
    for job in endpoints.list_automl_jobs(lab):
        name, status = job["AutoMLJobName"], job.get("AutoMLJobStatus", "?")
        detail = f"{status}, created {job.get('CreationTime', '?')}"
        if status in ("InProgress", "Stopping"):
            action = (
                "stop"
                if not lab.is_local
                else (
                    "keep: still running; wait for it to finish (or stop it), then run this again"
                )
            )
        elif lab.is_local:
            action = "delete"
        else:
            action = "keep: AWS keeps AutoML job records (no charge); artifacts are listed below"
        rows.append(Resource("automl-job", name, detail, action=action))
    return rows


def training_jobs(lab: Any) -> list[Resource]:
    """The labs' BlazingText training jobs: stopped when running on AWS; locally the records of
    finished jobs go (a job whose process is gone counts as finished)."""
    rows = []
    for job in blazingtext.list_training_jobs(lab):
        name, status = job["TrainingJobName"], job.get("TrainingJobStatus", "?")
        detail = f"{status}, created {job.get('CreationTime', '?')}"
        if lab.is_local:
            detail += f", {_size(int(job.get('LocalBytes') or 0))} on disk"
            action = (
                "keep: still training; let it finish, then run this again"
                if job.get("Running")
                else "delete"
            )
        elif status == "InProgress":
            action = "stop"
        elif status == "Stopping":
            action = "keep: already stopping"
        else:
            action = "keep: AWS keeps training job records (no charge); artifacts are listed below"
        rows.append(Resource("training-job", name, detail, action=action))
    return rows


def sagemaker_hosting(lab: Any, job_names: Iterable[str] = ()) -> list[Resource]:
    """Endpoints, endpoint configs and models the labs created (see the module docstring)."""
    client = endpoints.sagemaker_client(lab)
    endpoint_rows = _paginate(client.list_endpoints, "Endpoints", MaxResults=100)
    config_rows = _paginate(client.list_endpoint_configs, "EndpointConfigs", MaxResults=100)
    model_rows = _paginate(client.list_models, "Models", MaxResults=100)
    if lab.is_local:
        return (
            [Resource("endpoint", e["EndpointName"], e["EndpointStatus"]) for e in endpoint_rows]
            + [Resource("endpoint-config", c["EndpointConfigName"]) for c in config_rows]
            + [Resource("model", m["ModelName"]) for m in model_rows]
        )
    jobs = tuple(job_names)
    artifacts = (lab.s3_uri(endpoints.AUTOPILOT_PREFIX), lab.s3_uri(blazingtext.JOB_PREFIX))

    def by_job(name: str) -> bool:
        return any(name.startswith(j) for j in jobs)

    lab_models: dict[str, str] = {}
    for m in model_rows:
        desc = client.describe_model(ModelName=m["ModelName"])
        containers = desc.get("Containers") or [desc.get("PrimaryContainer") or {}]
        urls = [c.get("ModelDataUrl") or "" for c in containers]
        if by_job(m["ModelName"]) or any(u.startswith(artifacts) for u in urls):
            lab_models[m["ModelName"]] = f"{len(containers)} container(s)"
    lab_configs: dict[str, str] = {}
    for c in config_rows:
        desc = client.describe_endpoint_config(EndpointConfigName=c["EndpointConfigName"])
        models = [v.get("ModelName") for v in desc.get("ProductionVariants", [])]
        if by_job(c["EndpointConfigName"]) or any(m in lab_models for m in models):
            lab_configs[c["EndpointConfigName"]] = "serves " + ", ".join(filter(None, models))
    rows = []
    for e in endpoint_rows:
        desc = client.describe_endpoint(EndpointName=e["EndpointName"])
        if by_job(e["EndpointName"]) or desc.get("EndpointConfigName") in lab_configs:
            variants = desc.get("ProductionVariants") or [{}]
            instance = variants[0].get("InstanceType") or variants[0].get("CurrentInstanceCount")
            rows.append(
                Resource(
                    "endpoint",
                    e["EndpointName"],
                    f"{desc['EndpointStatus']}, {instance or '?'}; bills by the hour",
                )
            )
    rows += [Resource("endpoint-config", n, d) for n, d in lab_configs.items()]
    rows += [Resource("model", n, d) for n, d in lab_models.items()]
    return rows


# -- the two entry points ------------------------------------------------------------------------
def inventory(lab: Any) -> list[Resource]:
    """Everything the labs created on the lab's backend, in deletion order. Nothing changes.

    AWS equivalent: ListEndpoints / ListEndpointConfigs / ListModels / ListAutoMLJobs /
    ListTrainingJobs, Glue GetTables, S3 ListObjectsV2 under the lab's prefixes, Athena
    ListQueryExecutions.
    """
    jobs = automl_jobs(lab) + training_jobs(lab)
    rows = sagemaker_hosting(lab, [j.name for j in jobs]) + jobs
    rows += glue_resources(lab) + lake_objects(lab) + athena_results(lab)
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(rows, key=lambda r: order[r.kind])


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


def _delete_one(lab: Any, r: Resource) -> None:
    if r.kind in ("endpoint", "endpoint-config", "model"):
        client = endpoints.sagemaker_client(lab)
        call, arg = {
            "endpoint": (client.delete_endpoint, "EndpointName"),
            "endpoint-config": (client.delete_endpoint_config, "EndpointConfigName"),
            "model": (client.delete_model, "ModelName"),
        }[r.kind]
        try:
            call(**{arg: r.name})
        except Exception as exc:
            if not endpoints._is_not_found(exc):  # already gone: fine
                raise
    elif r.kind == "automl-job":
        if lab.is_local:
            from utils.local.automl.store import JobStore

            store = JobStore(lab.home)
            if store.read(r.name).get("AutoMLJobStatus") in ("InProgress", "Stopping"):
                raise RuntimeError("the job is running again: stop it first")
            shutil.rmtree(store.job_dir(r.name))
        else:
            endpoints.sagemaker_client(lab).stop_auto_ml_job(AutoMLJobName=r.name)
    elif r.kind == "training-job":
        if lab.is_local:
            blazingtext.delete_training_job(lab, r.name)
        else:
            endpoints.sagemaker_client(lab).stop_training_job(TrainingJobName=r.name)
    elif r.kind == "glue-table":
        database, _, table = r.name.partition(".")
        lab.wr.catalog.delete_table_if_exists(database=database, table=table)
    elif r.kind == "glue-database":
        left = lab.wr.catalog.tables(database=r.name, limit=10000)
        if not left.empty:
            raise RuntimeError(f"it still holds tables: {', '.join(left['Table'])}")
        lab.wr.catalog.delete_database(name=r.name)
    elif r.kind in ("s3-objects", "athena-results"):
        if r.targets:
            lab.wr.s3.delete_objects(r.targets)
        for path in r.files:
            Path(path).unlink(missing_ok=True)
        if r.kind == "athena-results" and lab.is_local:
            for scratch in (Path(lab.home) / "athena").glob("tmp-*"):
                if scratch.is_dir() and not any(scratch.iterdir()):
                    shutil.rmtree(scratch, ignore_errors=True)
    else:  # pragma: no cover - KINDS is closed
        raise ValueError(f"unknown resource kind {r.kind!r}")


def delete(lab: Any, resources: Iterable[Resource], dry_run: bool = True) -> pd.DataFrame:
    """Delete (or stop) what the inventory marked, in order; with ``dry_run`` only say so.

    Returns the inventory table with a ``result`` column: deleted, stopped, would delete,
    would stop, kept (with the reason), or failed (with the error). One failure does not stop
    the rest. AWS equivalent: DeleteEndpoint, DeleteEndpointConfig, DeleteModel,
    StopAutoMLJob, StopTrainingJob, Glue DeleteTable / DeleteDatabase, S3 DeleteObjects.
    """
    order = {k: i for i, k in enumerate(KINDS)}
    items = sorted(resources, key=lambda r: order[r.kind])
    results = []
    for r in items:
        if not r.acts:
            results.append(r.action.replace("keep:", "kept:", 1))
        elif dry_run:
            results.append(f"would {r.action}")
        else:
            try:
                _delete_one(lab, r)
                results.append("stopped" if r.action == "stop" else "deleted")
            except Exception as exc:  # noqa: BLE001 - reported per row; the rest still runs
                results.append(f"failed: {type(exc).__name__}: {exc}")
    frame = to_frame(items)
    frame["result"] = results
    return frame
