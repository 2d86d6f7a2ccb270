"""Processing jobs in the local SageMaker client.

AWS equivalent: CreateProcessingJob, DescribeProcessingJob, ListProcessingJobs and
StopProcessingJob, what ``sagemaker.processing.Processor.run``, ``ProcessingJob.describe`` /
``wait`` / ``stop`` and ``sagemaker.clarify.SageMakerClarifyProcessor`` call.

A job is a record in ``<lab home>/sagemaker/processing-jobs/<job>/``
(:class:`utils.local.sagemaker.jobs.JobRecords`). CreateProcessingJob checks the whole request
first (a refused request leaves nothing behind), stores it and starts the job's background
worker (:mod:`utils.local.sagemaker.worker`), which returns at once: the worker copies each S3
input to its ``LocalPath``, runs the image's engine (:mod:`utils.local.sagemaker.images`; the
one processing image is SageMaker Clarify, :mod:`utils.local.clarify`) and uploads each output's
``LocalPath`` to its ``S3Uri`` at the end of the job. The job's log is the CloudWatch stream
``/aws/sagemaker/ProcessingJobs`` / ``<job>/algo-1-<start>`` (:mod:`utils.local.monitoring`).

What the local backend does not run is refused with ``NotImplementedError`` naming the
parameter: Athena / Redshift dataset definitions, Pipe mode, manifest files, Continuous uploads,
Feature Store outputs, app-managed inputs and outputs, more than one instance, a container entry
point or arguments. KMS keys, VPC and network settings, tags and the experiment configuration
are recorded and answered back, and change nothing locally.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections.abc import Iterator
from typing import Any

from utils.local.lake import parse_s3_uri
from utils.local.sagemaker import images
from utils.local.sagemaker.jobs import PROCESSING, JobRecords, check_job_name, iso, public, reap
from utils.local.service import ServiceError, aware, invalid

CALL = "CreateProcessingJob"
STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
TIME_KEYS = ("ProcessingEndTime", "ProcessingStartTime", "LastModifiedTime", "CreationTime")
LOCAL_PATH_ROOT = "/opt/ml/processing/"
MAX_IO = 10  # inputs, and outputs: at most ten of each
MAX_RUNTIME = 777_600  # seconds (9 days)
MAX_RESULTS = 100
DEFAULT_RESULTS = 10
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# the order of DescribeProcessingJob's answer
DESCRIBE_KEYS = (
    "ProcessingInputs", "ProcessingOutputConfig", "ProcessingJobName", "ProcessingResources",
    "StoppingCondition", "AppSpecification", "Environment", "NetworkConfig", "RoleArn",
    "ExperimentConfig", "ProcessingJobArn", "ProcessingJobStatus", "ExitMessage",
    "FailureReason", "ProcessingEndTime", "ProcessingStartTime", "LastModifiedTime",
    "CreationTime",
)  # fmt: skip
SUMMARY_KEYS = ("ProcessingJobName", "ProcessingJobArn", "CreationTime", "ProcessingEndTime",
                "LastModifiedTime", "ProcessingJobStatus", "FailureReason", "ExitMessage")  # fmt: skip
SORT_KEYS = {"Name": "ProcessingJobName", "CreationTime": "CreationTime",
             "Status": "ProcessingJobStatus"}  # fmt: skip


def _unsupported(what: str) -> NotImplementedError:
    hint = "is not implemented locally; leave it unset, or run this job with BACKEND='aws'"
    return NotImplementedError(f"local backend: {CALL}: {what} {hint}")


@functools.lru_cache(maxsize=1)
def _api_model() -> Any:
    """botocore's model of the SageMaker API (the instance types it accepts, ...)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _named(items: list[dict[str, Any]], key: str, what: str) -> Iterator[tuple[dict, str]]:
    """Each input or output with the words that name it in errors; names unique, not managed."""
    names = set()
    for item in items:
        where = f"{what} {item[key]!r}:"
        if item[key] in names:
            raise invalid(f"{where} {key} values must be unique within a job")
        names.add(item[key])
        if item.get("AppManaged"):
            raise _unsupported(f"{where} AppManaged=True (data the container moves itself)")
        item.setdefault("AppManaged", False)
        yield item, where


def _check_local_path(path: Any, where: str) -> str:
    if not isinstance(path, str) or not path.startswith(LOCAL_PATH_ROOT):
        raise invalid(f"{where} LocalPath {path!r}: a local path is required and must begin "
                       f"with {LOCAL_PATH_ROOT} (an absolute path in the container)")  # fmt: skip
    if ".." in path.split("/") or len(path) > 256:
        raise invalid(f"{where} LocalPath {path!r}: no '..' segments, at most 256 characters")
    return path.rstrip("/") or path


def _check_s3_uri(uri: Any, where: str) -> None:
    if isinstance(uri, str) and uri.startswith("https://"):
        raise _unsupported(f"{where} S3Uri {uri!r} (an https:// URI): give it as s3://bucket/key")
    try:
        parse_s3_uri(uri)
    except ValueError as exc:
        raise invalid(f"{where} S3Uri: {exc}") from None


def _check_inputs(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ProcessingInputs, with the defaults AWS fills in (as DescribeProcessingJob answers)."""
    if len(inputs) > MAX_IO:
        raise invalid(f"ProcessingInputs: {len(inputs)} inputs given; at most {MAX_IO}")
    out, paths = [], set()
    for item, where in _named(copy.deepcopy(inputs), "InputName", "ProcessingInputs"):
        if item.get("DatasetDefinition"):
            raise _unsupported(f"{where} DatasetDefinition (Athena / Redshift queries as inputs); "
                               "give an S3Input")  # fmt: skip
        source = item.get("S3Input")
        if not source:
            raise invalid(f"{where} give an S3Input (or a DatasetDefinition)")
        _check_s3_uri(source["S3Uri"], where)
        path = _check_local_path(source.get("LocalPath"), where)
        if path in paths:
            raise invalid(f"{where} LocalPath {path!r} is used by another input; each input "
                           "needs its own local path")  # fmt: skip
        paths.add(path)
        if source["S3DataType"] == "ManifestFile":
            raise _unsupported(f"{where} S3DataType='ManifestFile'; use 'S3Prefix'")
        source.setdefault("S3InputMode", "File")
        if source["S3InputMode"] == "Pipe":
            raise _unsupported(f"{where} S3InputMode='Pipe' (the local worker copies files: "
                               "'File')")  # fmt: skip
        source.setdefault("S3DataDistributionType", "FullyReplicated")
        source.setdefault("S3CompressionType", "None")
        if source["S3CompressionType"] == "Gzip":
            raise invalid(f"{where} S3CompressionType='Gzip' is only allowed with "
                           "S3InputMode='Pipe'")  # fmt: skip
        out.append(item)
    return out


def _check_outputs(config: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(config)
    outputs = config["Outputs"]
    if len(outputs) > MAX_IO:
        raise invalid(f"ProcessingOutputConfig: {len(outputs)} outputs given; at most {MAX_IO}")
    for item, where in _named(outputs, "OutputName", "ProcessingOutputConfig output"):
        if item.get("FeatureStoreOutput"):
            raise _unsupported(f"{where} FeatureStoreOutput (SageMaker Feature Store)")
        target = item.get("S3Output")
        if not target:
            raise invalid(f"{where} give an S3Output (or a FeatureStoreOutput)")
        _check_s3_uri(target["S3Uri"], where)
        _check_local_path(target.get("LocalPath"), where)
        if target["S3UploadMode"] == "Continuous":
            raise _unsupported(f"{where} S3UploadMode='Continuous' (the local worker uploads "
                               "at the end of the job: 'EndOfJob')")  # fmt: skip
    return config


def _check_resources(resources: dict[str, Any]) -> None:
    cluster = resources["ClusterConfig"]
    kind = cluster.get("InstanceType")
    if kind is None:
        raise invalid("ProcessingResources.ClusterConfig.InstanceType is required (for "
                       "example ml.m5.large)")  # fmt: skip
    if kind not in _api_model().shape_for("ProcessingInstanceType").enum:
        raise invalid(f"ProcessingResources.ClusterConfig.InstanceType {kind!r} is not a "
                       "processing instance type (for example ml.m5.large, ml.t3.medium)")  # fmt: skip
    count = cluster.get("InstanceCount")
    if count is None or not 1 <= count <= 100:
        raise invalid(f"ProcessingResources.ClusterConfig.InstanceCount {count!r}: give 1 to 100")
    if count > 1:
        raise _unsupported(f"InstanceCount={count} (the local worker is one instance): use 1")
    if cluster.get("InstancePreferences"):
        raise _unsupported("ProcessingResources.ClusterConfig.InstancePreferences")
    size = cluster["VolumeSizeInGB"]
    if not 1 <= size <= 16384:
        raise invalid(f"VolumeSizeInGB {size}: give 1 to 16384")


def _check_rest(app: dict[str, Any], role: str, stopping: dict[str, Any] | None,
                environment: dict[str, str] | None, tags: list[dict[str, str]] | None) -> None:  # fmt: skip
    if app.get("ContainerEntrypoint"):
        raise _unsupported("AppSpecification.ContainerEntrypoint (the local images run their "
                           "own engine)")  # fmt: skip
    if app.get("ContainerArguments"):
        raise _unsupported("AppSpecification.ContainerArguments (the local images take none)")
    if not ROLE_ARN_RE.match(role or ""):
        raise invalid(f"RoleArn {role!r} is not an IAM role ARN "
                       "(arn:aws:iam::<12-digit account>:role/<name>)")  # fmt: skip
    seconds = (stopping or {}).get("MaxRuntimeInSeconds")
    if seconds is not None and not 1 <= seconds <= MAX_RUNTIME:
        raise invalid(f"StoppingCondition.MaxRuntimeInSeconds {seconds}: give 1 to {MAX_RUNTIME}")
    environment = environment or {}
    if len(environment) > 100:
        raise invalid(f"Environment: {len(environment)} variables; at most 100")
    for key, value in environment.items():
        if not ENV_KEY_RE.match(key) or len(key) > 256 or len(str(value)) > 256:
            raise invalid(f"Environment {key!r}: names are letters, digits and '_' (not "
                           "starting with a digit); names and values at most 256 characters")  # fmt: skip
    if len(tags or []) > 50:
        raise invalid(f"Tags: {len(tags or [])} tags; at most 50")


def _between(moment: dt.datetime, after: dt.datetime | None, before: dt.datetime | None) -> bool:
    """``after < moment < before`` (either bound may be absent; naive bounds are UTC)."""
    return (after is None or moment > aware(after)) and (before is None or moment < aware(before))


class ProcessingAPI:
    """The processing calls of the local SageMaker client (a mixin of SageMakerService)."""

    @property
    def _processing(self) -> JobRecords:
        return JobRecords(self.home, PROCESSING)  # type: ignore[attr-defined]

    def _processing_arn(self, name: str) -> str:
        return self.account.arn("sagemaker", f"processing-job/{name.lower()}")  # type: ignore[attr-defined]

    def _processing_record(self, name: str) -> dict[str, Any]:
        records = self._processing
        if not records.exists(name):
            raise ServiceError("ValidationException", f"Could not find processing job "
                               f"'{self._processing_arn(str(name))}': no processing job named "
                               f"{name!r} in this account and region")  # fmt: skip
        return records.read(name)

    def create_processing_job(self, ProcessingJobName: str, ProcessingResources: dict[str, Any],
                              AppSpecification: dict[str, Any], RoleArn: str,
                              ProcessingInputs: list[dict[str, Any]] | None = None,
                              ProcessingOutputConfig: dict[str, Any] | None = None,
                              StoppingCondition: dict[str, Any] | None = None,
                              Environment: dict[str, str] | None = None,
                              NetworkConfig: dict[str, Any] | None = None,
                              Tags: list[dict[str, str]] | None = None,
                              ExperimentConfig: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """CreateProcessingJob: check the request, store the job, start it; returns its ARN.

        The job runs in a background worker: this returns at once, the job ``InProgress``.
        """
        check_job_name(ProcessingJobName, PROCESSING)
        images.find(AppSpecification["ImageUri"], "process", CALL)
        inputs = _check_inputs(ProcessingInputs or [])
        outputs = _check_outputs(ProcessingOutputConfig) if ProcessingOutputConfig else None
        _check_resources(ProcessingResources)
        _check_rest(AppSpecification, RoleArn, StoppingCondition, Environment, Tags)

        arn = self._processing_arn(ProcessingJobName)
        created = iso()
        request = {
            "ProcessingInputs": inputs or None,
            "ProcessingOutputConfig": outputs,
            "ProcessingJobName": ProcessingJobName,
            "ProcessingResources": ProcessingResources,
            "StoppingCondition": StoppingCondition,
            "AppSpecification": AppSpecification,
            "Environment": Environment,
            "NetworkConfig": NetworkConfig,
            "RoleArn": RoleArn,
            "ExperimentConfig": ExperimentConfig,
        }
        record = {k: copy.deepcopy(v) for k, v in request.items() if v is not None}
        record.update({
            "ProcessingJobArn": arn, "ProcessingJobStatus": "InProgress",
            "LastModifiedTime": created, "CreationTime": created,
            "Local": {"Tags": copy.deepcopy(Tags or []),
                      "Seed": int(getattr(self.account, "seed", 0) or 0)},  # type: ignore[attr-defined]
        })  # fmt: skip
        records = self._processing
        records.create(ProcessingJobName, record)
        records.spawn(ProcessingJobName)
        return {"ProcessingJobArn": arn}

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
        """DescribeProcessingJob: the request back, the status, start and end, the reason."""
        reap()
        record = public(self._processing_record(ProcessingJobName), TIME_KEYS)
        return {k: record[k] for k in DESCRIBE_KEYS if record.get(k) is not None}

    def list_processing_jobs(self, CreationTimeAfter: dt.datetime | None = None,
                             CreationTimeBefore: dt.datetime | None = None,
                             LastModifiedTimeAfter: dt.datetime | None = None,
                             LastModifiedTimeBefore: dt.datetime | None = None,
                             NameContains: str | None = None, StatusEquals: str | None = None,
                             SortBy: str = "CreationTime", SortOrder: str = "Ascending",
                             NextToken: str | None = None,
                             MaxResults: int = DEFAULT_RESULTS) -> dict[str, Any]:  # fmt: skip
        """ListProcessingJobs: summaries, filtered; as AWS documents, sorted by CreationTime
        Ascending unless told otherwise, 10 a page (MaxResults 1 to 100), NextToken to go on."""
        reap()
        if SortBy not in SORT_KEYS:
            raise invalid(f"SortBy {SortBy!r}: use one of {list(SORT_KEYS)}")
        if SortOrder not in ("Ascending", "Descending"):
            raise invalid(f"SortOrder {SortOrder!r}: use Ascending or Descending")
        if StatusEquals is not None and StatusEquals not in STATUSES:
            raise invalid(f"StatusEquals {StatusEquals!r}: use one of {list(STATUSES)}")
        if not 1 <= MaxResults <= MAX_RESULTS:
            raise invalid(f"MaxResults {MaxResults}: give 1 to {MAX_RESULTS}")
        records = self._processing
        rows = []
        for name in records.names():
            try:
                record = public(records.read(name), TIME_KEYS)
            except ServiceError:  # deleted meanwhile
                continue
            if NameContains and NameContains.lower() not in name.lower():
                continue
            if StatusEquals and record["ProcessingJobStatus"] != StatusEquals:
                continue
            if not _between(record["CreationTime"], CreationTimeAfter, CreationTimeBefore):
                continue
            if not _between(record["LastModifiedTime"], LastModifiedTimeAfter,
                            LastModifiedTimeBefore):  # fmt: skip
                continue
            rows.append({k: record[k] for k in SUMMARY_KEYS if record.get(k) is not None})
        key = SORT_KEYS[SortBy]
        rows.sort(key=lambda r: (r[key], r["CreationTime"], r["ProcessingJobName"]),
                  reverse=SortOrder == "Descending")  # fmt: skip
        try:
            start = int(NextToken) if NextToken else 0
            if not 0 <= start <= len(rows):
                raise ValueError
        except ValueError:
            raise invalid(f"NextToken {NextToken!r} is not a token this API returned") from None
        out: dict[str, Any] = {"ProcessingJobSummaries": rows[start : start + MaxResults]}
        if start + MaxResults < len(rows):
            out["NextToken"] = str(start + MaxResults)
        return out

    def stop_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
        """StopProcessingJob: the job goes Stopping, its worker is asked to stop (SIGTERM)."""
        self._processing_record(ProcessingJobName)
        self._processing.stop(ProcessingJobName)
        return {}

    def delete_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
        """DeleteProcessingJob: forget a Completed, Failed or Stopped job (its record and log;
        its outputs in S3 stay). A running job cannot be deleted (ValidationException)."""
        self._processing_record(ProcessingJobName)
        self._processing.delete(ProcessingJobName)
        return {}

    def _tags_processing_job(self, name: str) -> list[dict[str, str]]:
        """The tags of the processing job an ARN names (ARNs hold the name lowercased)."""
        records = self._processing
        jobs = {job.lower(): job for job in records.names()}
        if name.lower() not in jobs:
            raise invalid(f"Could not find processing job '{self._processing_arn(name)}'")
        return list(records.read_raw(jobs[name.lower()]).get("Local", {}).get("Tags") or [])
