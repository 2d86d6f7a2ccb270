"""Training jobs in the local SageMaker client.

AWS equivalent: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob and
DeleteTrainingJob,
what ``sagemaker.estimator.Estimator.fit`` / ``latest_training_job.wait`` / ``logs`` /
``model_data`` and ``TrainingJobAnalytics`` call.

A job is a record in ``<lab home>/sagemaker/training-jobs/<job>/``
(:class:`utils.local.sagemaker.jobs.JobRecords`). CreateTrainingJob checks the whole request
first (a refused request leaves nothing behind), stores it and starts the job's background
worker (:mod:`utils.local.sagemaker.worker`), so it returns at once with the job
``InProgress``. The worker copies each channel's S3 objects to ``/opt/ml/input/data/<channel>``,
runs the image's training engine (:mod:`utils.local.sagemaker.images`; the one training image
is BlazingText, :mod:`utils.local.blazingtext`), then stores
``<S3OutputPath>/<job>/output/model.tar.gz``. Its log is the CloudWatch stream
``/aws/sagemaker/TrainingJobs`` / ``<job>/algo-1-<start>`` and its metrics are CloudWatch's
``/aws/sagemaker/TrainingJobs`` namespace (:mod:`utils.local.monitoring`).

What the local backend does not run is refused with ``NotImplementedError`` naming the
parameter: Pipe and FastFile input modes, manifests, compressed or RecordIO channels, file
system data sources, more than one instance, instance groups, a container entry point or
arguments, custom metric definitions, Debugger and Profiler rules, serverless and MLflow
settings. KMS keys, VPC, network isolation, encryption, spot training, checkpoints, the
Debugger hook, the profiler, tags and the experiment configuration are recorded and answered
back, and change nothing locally.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable
from typing import Any

from utils.local.lake import parse_s3_uri
from utils.local.sagemaker import images
from utils.local.sagemaker.jobs import TRAINING, JobRecords, check_job_name, iso, public, reap
from utils.local.service import ServiceError, aware, invalid

CALL = "CreateTrainingJob"
STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
TIME_KEYS = ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime")
MAX_RUNTIME = 2_419_200  # seconds: 28 days
DEFAULT_RUNTIME = 86_400  # AWS's default MaxRuntimeInSeconds: one day
MAX_CHANNELS = 20
PAGE_DEFAULT, PAGE_MAX = 10, 100
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
CHANNEL_RE = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")
ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,511}$")
# DescribeTrainingJob's answer, in the API's order
DESCRIBE_KEYS = (
    "TrainingJobName", "TrainingJobArn", "ModelArtifacts", "TrainingJobStatus",
    "SecondaryStatus", "FailureReason", "HyperParameters", "AlgorithmSpecification", "RoleArn",
    "InputDataConfig", "OutputDataConfig", "ResourceConfig", "VpcConfig", "StoppingCondition",
    "CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime",
    "SecondaryStatusTransitions", "FinalMetricDataList", "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining", "CheckpointConfig",
    "TrainingTimeInSeconds", "BillableTimeInSeconds", "DebugHookConfig", "ExperimentConfig",
    "TensorBoardOutputConfig", "ProfilerConfig", "Environment", "RetryStrategy",
    "RemoteDebugConfig", "InfraCheckConfig",
)  # fmt: skip
SUMMARY_KEYS = ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime",
                "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus")  # fmt: skip
ORDER_BY = {"Name": "TrainingJobName", "CreationTime": "CreationTime",
            "Status": "TrainingJobStatus"}  # fmt: skip
# request members recorded and answered back: they change nothing on one local worker
RECORDED = ("VpcConfig", "CheckpointConfig", "DebugHookConfig", "TensorBoardOutputConfig",
            "ExperimentConfig", "ProfilerConfig", "RetryStrategy", "RemoteDebugConfig",
            "InfraCheckConfig")  # fmt: skip
# request members that would change what runs, and are not implemented locally
REFUSED = {
    "DebugRuleConfigurations": "SageMaker Debugger rules (each runs a processing job)",
    "ProfilerRuleConfigurations": "SageMaker Profiler rules (each runs a processing job)",
    "ServerlessJobConfig": "serverless training jobs",
    "MlflowConfig": "MLflow tracking",
    "ModelPackageConfig": "registering the model in a model package group",
}
KEPT = ("SessionChainingConfig",)  # recorded, not part of DescribeTrainingJob's answer


def _unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"local backend: {CALL}: {what} is not implemented locally; leave it unset, or run "
        "this job with BACKEND='aws'"
    )


@functools.lru_cache(maxsize=1)
def instance_types() -> tuple[str, ...]:
    """The training instance types SageMaker accepts (botocore's model of the API)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return tuple(model.shape_for("TrainingInstanceType").enum)


def _s3(uri: Any, where: str) -> None:
    try:
        parse_s3_uri(uri)
    except ValueError as exc:
        raise invalid(f"{where}: {exc}") from None


# -- checking a CreateTrainingJob request --------------------------------------------------------
def _algorithm(spec: dict[str, Any] | None) -> tuple[dict[str, Any], images.Image]:
    if not spec:
        raise invalid("AlgorithmSpecification is required: give its TrainingImage (for "
                       "example sagemaker.image_uris.retrieve('blazingtext', region)) and "
                       "TrainingInputMode='File'")  # fmt: skip
    spec = copy.deepcopy(spec)
    if spec.get("AlgorithmName"):
        raise _unsupported(f"AlgorithmSpecification.AlgorithmName {spec['AlgorithmName']!r} "
                           "(an algorithm resource or a Marketplace algorithm); give a "
                           "TrainingImage")  # fmt: skip
    if not spec.get("TrainingImage"):
        raise invalid("AlgorithmSpecification.TrainingImage is required (an image URI such "
                       "as sagemaker.image_uris.retrieve('blazingtext', region))")  # fmt: skip
    image = images.find(spec["TrainingImage"], "train", CALL)
    mode = spec["TrainingInputMode"]
    if mode in ("Pipe", "FastFile"):
        raise _unsupported(f"AlgorithmSpecification.TrainingInputMode={mode!r} (the local "
                           "worker copies each channel's files: 'File')")  # fmt: skip
    if mode != "File":
        raise invalid(f"AlgorithmSpecification.TrainingInputMode {mode!r}: use one of "
                       "['Pipe', 'File', 'FastFile']")  # fmt: skip
    for key in ("ContainerEntrypoint", "ContainerArguments"):
        if spec.get(key):
            raise _unsupported(f"AlgorithmSpecification.{key} (the local images run their own "
                               "engine)")  # fmt: skip
    if spec.get("MetricDefinitions"):
        raise _unsupported(f"AlgorithmSpecification.MetricDefinitions ({image.repository} is a "
                           "built-in algorithm: its own metrics are emitted and answered)")  # fmt: skip
    spec["MetricDefinitions"] = [dict(m) for m in image.metric_definitions]
    spec.setdefault("EnableSageMakerMetricsTimeSeries", False)
    return spec, image


def _channels(channels: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not channels:
        return []
    if len(channels) > MAX_CHANNELS:
        raise invalid(f"InputDataConfig: {len(channels)} channels; at most {MAX_CHANNELS}")
    names: set[str] = set()
    out = copy.deepcopy(channels)
    for channel in out:
        name = channel["ChannelName"]
        where = f"InputDataConfig channel {name!r}"
        if not CHANNEL_RE.match(name):
            raise invalid(f"{where}: a channel name is 1 to 64 letters, digits, '.', '-' or '_'")
        if name in names:
            raise invalid(f"{where}: channel names must be unique within a job")
        names.add(name)
        source = channel["DataSource"]
        if "S3DataSource" not in source:
            raise _unsupported(f"{where}: DataSource {sorted(source)} (file systems); give an "
                               "S3DataSource")  # fmt: skip
        s3 = source["S3DataSource"]
        _s3(s3["S3Uri"], f"{where} S3Uri")
        if s3["S3DataType"] != "S3Prefix":
            raise _unsupported(f"{where}: S3DataType={s3['S3DataType']!r} (manifests); use "
                               "'S3Prefix'")  # fmt: skip
        for key in ("AttributeNames", "InstanceGroupNames", "ModelAccessConfig",
                    "HubAccessConfig"):  # fmt: skip
            if s3.get(key):
                raise _unsupported(f"{where}: S3DataSource.{key}")
        s3.setdefault("S3DataDistributionType", "FullyReplicated")  # one instance: all the same
        if channel.get("InputMode") in ("Pipe", "FastFile"):
            raise _unsupported(f"{where}: InputMode={channel['InputMode']!r}; use 'File'")
        if channel.get("CompressionType", "None") != "None":
            raise _unsupported(f"{where}: CompressionType={channel['CompressionType']!r} (the "
                               "local worker copies the objects as they are)")  # fmt: skip
        if channel.get("RecordWrapperType", "None") != "None":
            raise _unsupported(f"{where}: RecordWrapperType={channel['RecordWrapperType']!r}")
        channel.setdefault("CompressionType", "None")
        channel.setdefault("RecordWrapperType", "None")
    return out


def _resources(resources: dict[str, Any] | None) -> dict[str, Any]:
    if not resources:
        raise invalid("ResourceConfig is required: InstanceType (for example ml.m5.large), "
                       "InstanceCount=1 and VolumeSizeInGB")  # fmt: skip
    for key in ("InstanceGroups", "InstancePlacementConfig", "InstancePreferences",
                "TrainingPlanArn"):  # fmt: skip
        if resources.get(key):
            raise _unsupported(f"ResourceConfig.{key}")
    kind, count = resources.get("InstanceType"), resources.get("InstanceCount")
    if kind not in instance_types():
        raise invalid(f"ResourceConfig.InstanceType {kind!r} is not a training instance type "
                       "(for example ml.m5.large, ml.c5.xlarge)")  # fmt: skip
    if count is None or count < 1:
        raise invalid(f"ResourceConfig.InstanceCount {count!r}: give at least 1")
    if count > 1:
        raise _unsupported(f"ResourceConfig.InstanceCount={count} (the local worker is one "
                           "instance; BlazingText's supervised mode trains on one): use 1")  # fmt: skip
    size = resources.get("VolumeSizeInGB")
    if size is not None and not 1 <= size <= 16384:
        raise invalid(f"ResourceConfig.VolumeSizeInGB {size}: give 1 to 16384")
    return copy.deepcopy(resources)


def _stopping(stopping: dict[str, Any] | None, spot: bool | None) -> dict[str, Any]:
    out = copy.deepcopy(stopping) if stopping else {}
    out.setdefault("MaxRuntimeInSeconds", DEFAULT_RUNTIME)
    seconds, wait = out["MaxRuntimeInSeconds"], out.get("MaxWaitTimeInSeconds")
    if not 1 <= seconds <= MAX_RUNTIME:
        raise invalid(f"StoppingCondition.MaxRuntimeInSeconds {seconds}: give 1 to "
                       f"{MAX_RUNTIME} (28 days)")  # fmt: skip
    if spot and (wait is None or wait < seconds):
        raise invalid("EnableManagedSpotTraining=True needs StoppingCondition."
                       f"MaxWaitTimeInSeconds of at least MaxRuntimeInSeconds ({seconds})")  # fmt: skip
    if wait is not None and not spot:
        raise invalid("StoppingCondition.MaxWaitTimeInSeconds is for managed spot training "
                       "only: set EnableManagedSpotTraining=True, or leave it unset")  # fmt: skip
    return out


def _strings(values: dict[str, str] | None, what: str, limits: tuple[int, int, int],
             key_re: re.Pattern[str] | None = None) -> None:  # fmt: skip
    most, key_max, value_max = limits
    values = values or {}
    if len(values) > most:
        raise invalid(f"{what}: {len(values)} entries; at most {most}")
    for key, value in values.items():
        if len(key) > key_max or len(value) > value_max or (key_re and not key_re.match(key)):
            rule = "letters, digits and '_', not starting with a digit; " if key_re else ""
            raise invalid(f"{what} {key!r}: {rule}names at most {key_max} characters, values "
                           f"at most {value_max}")  # fmt: skip


def _rest(role: str, output: dict[str, Any], request: dict[str, Any]) -> None:
    if not ROLE_ARN_RE.match(role or "") or len(role) > 2048:
        raise invalid(f"RoleArn {role!r} is not an IAM role ARN (arn:aws:iam::<12-digit "
                       "account>:role/<name>); locally lab.role is one")  # fmt: skip
    _s3(output["S3OutputPath"], "OutputDataConfig.S3OutputPath")
    if output.get("CompressionType", "GZIP") != "GZIP":
        raise _unsupported(f"OutputDataConfig.CompressionType={output['CompressionType']!r} (the "
                           "local worker writes model.tar.gz: 'GZIP')")  # fmt: skip
    for key, what in REFUSED.items():
        if request.get(key):
            raise _unsupported(f"{key} ({what})")
    unknown = sorted(set(request) - set(RECORDED) - set(REFUSED) - set(KEPT)
                     - {"HyperParameters", "Environment", "Tags"})  # fmt: skip
    if unknown:
        raise _unsupported(", ".join(unknown))
    if (request.get("RemoteDebugConfig") or {}).get("EnableRemoteDebug"):
        raise _unsupported("RemoteDebugConfig.EnableRemoteDebug=True (remote debugging)")
    _strings(request.get("HyperParameters"), "HyperParameters", (100, 256, 2500))
    _strings(request.get("Environment"), "Environment", (100, 512, 512), ENV_KEY_RE)
    tags = request.get("Tags") or []
    if len(tags) > 50:
        raise invalid(f"Tags: {len(tags)} tags; at most 50")


# -- listing ---------------------------------------------------------------------------------------
# ListTrainingJobs' time filters: (parameter, summary key, comparison)
TIME_FILTERS: tuple[tuple[str, str, Callable[[Any, Any], bool]], ...] = (
    ("CreationTimeAfter", "CreationTime", operator.gt),
    ("CreationTimeBefore", "CreationTime", operator.lt),
    ("LastModifiedTimeAfter", "LastModifiedTime", operator.gt),
    ("LastModifiedTimeBefore", "LastModifiedTime", operator.lt),
)


def _page_start(token: str | None, total: int) -> int:
    if not token:
        return 0
    if token.isdigit() and int(token) <= total:
        return int(token)
    raise invalid(f"NextToken {token!r} is not a token ListTrainingJobs returned")


class TrainingAPI:
    """The training calls of the local SageMaker client (a mixin of SageMakerService)."""

    @property
    def _training(self) -> JobRecords:
        return JobRecords(self.home, TRAINING)  # type: ignore[attr-defined]

    def _training_arn(self, name: str) -> str:
        return self.account.arn("sagemaker", f"training-job/{name.lower()}")  # type: ignore[attr-defined]

    def create_training_job(self, TrainingJobName: str, RoleArn: str,
                            OutputDataConfig: dict[str, Any],
                            AlgorithmSpecification: dict[str, Any] | None = None,
                            HyperParameters: dict[str, str] | None = None,
                            InputDataConfig: list[dict[str, Any]] | None = None,
                            ResourceConfig: dict[str, Any] | None = None,
                            StoppingCondition: dict[str, Any] | None = None,
                            Tags: list[dict[str, str]] | None = None,
                            EnableNetworkIsolation: bool = False,
                            EnableInterContainerTrafficEncryption: bool = False,
                            EnableManagedSpotTraining: bool = False,
                            Environment: dict[str, str] | None = None,
                            **more: Any) -> dict[str, Any]:  # fmt: skip
        """CreateTrainingJob: check the request, store the job, start it; returns its ARN.

        The job runs in a background worker: this returns at once, the job ``InProgress``.
        """
        check_job_name(TrainingJobName, TRAINING)
        spec, image = _algorithm(AlgorithmSpecification)
        channels = _channels(InputDataConfig)
        resources = _resources(ResourceConfig)
        stopping = _stopping(StoppingCondition, EnableManagedSpotTraining)
        request = {"HyperParameters": HyperParameters, "Environment": Environment, "Tags": Tags,
                   **more}  # fmt: skip
        _rest(RoleArn, OutputDataConfig, request)
        records = self._training
        taken = next((n for n in records.names() if n.lower() == TrainingJobName.lower()), None)
        if taken:
            raise ServiceError("ResourceInUse", f"Training job names must be unique within an "
                               f"AWS account and region, and a training job with this name "
                               f"already exists ({self._training_arn(taken)})")  # fmt: skip

        created = iso()
        output = {"CompressionType": "GZIP", **copy.deepcopy(OutputDataConfig)}
        record: dict[str, Any] = {
            "TrainingJobName": TrainingJobName,
            "TrainingJobArn": self._training_arn(TrainingJobName),
            "ModelArtifacts": {"S3ModelArtifacts": f"{output['S3OutputPath'].rstrip('/')}/"
                                                   f"{TrainingJobName}/output/model.tar.gz"},
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "HyperParameters": dict(HyperParameters or {}),
            "AlgorithmSpecification": spec,
            "RoleArn": RoleArn,
            "InputDataConfig": channels or None,
            "OutputDataConfig": output,
            "ResourceConfig": resources,
            "StoppingCondition": stopping,
            "CreationTime": created,
            "LastModifiedTime": created,
            "SecondaryStatusTransitions": [],
            "EnableNetworkIsolation": bool(EnableNetworkIsolation),
            "EnableInterContainerTrafficEncryption": bool(EnableInterContainerTrafficEncryption),
            "EnableManagedSpotTraining": bool(EnableManagedSpotTraining),
            "Environment": copy.deepcopy(Environment),
            **{key: copy.deepcopy(more.get(key)) for key in RECORDED},
            "Local": {"Image": image.repository, "Tags": copy.deepcopy(Tags or []),
                      "Seed": int(getattr(self.account, "seed", 0) or 0),  # type: ignore[attr-defined]
                      **{key: copy.deepcopy(more[key]) for key in KEPT if more.get(key)}},
        }  # fmt: skip
        record = {k: v for k, v in record.items() if v is not None}
        records.create(TrainingJobName, record)
        records.spawn(TrainingJobName)
        return {"TrainingJobArn": record["TrainingJobArn"]}

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        """DescribeTrainingJob: the request back, the statuses and their transitions, the times,
        the model artifact, the final metrics, the failure reason."""
        reap()
        record = public(self._training.read(TrainingJobName), TIME_KEYS)
        return {k: record[k] for k in DESCRIBE_KEYS if record.get(k) is not None}

    def list_training_jobs(self, NextToken: str | None = None, MaxResults: int = PAGE_DEFAULT,
                           NameContains: str | None = None, StatusEquals: str | None = None,
                           SortBy: str = "CreationTime", SortOrder: str = "Ascending",
                           WarmPoolStatusEquals: str | None = None,
                           TrainingPlanArnEquals: str | None = None,
                           **times: dt.datetime) -> dict[str, Any]:  # fmt: skip
        """ListTrainingJobs: summaries sorted by ``SortBy`` (CreationTime, Ascending by default),
        ``MaxResults`` (1 to 100, 10 by default) a page with a NextToken. As AWS documents,
        StatusEquals filters each page after it is cut (a page may hold fewer jobs)."""
        reap()
        if SortBy not in ORDER_BY or SortOrder not in ("Ascending", "Descending"):
            raise invalid(f"SortBy {SortBy!r} / SortOrder {SortOrder!r}: SortBy is one of "
                           f"{list(ORDER_BY)}, SortOrder Ascending or Descending")  # fmt: skip
        if StatusEquals is not None and StatusEquals not in STATUSES:
            raise invalid(f"StatusEquals {StatusEquals!r}: use one of {list(STATUSES)}")
        if not 1 <= MaxResults <= PAGE_MAX:
            raise invalid(f"MaxResults {MaxResults}: give 1 to {PAGE_MAX}")
        wanted = [(key, compare, aware(times[param])) for param, key, compare in TIME_FILTERS
                  if times.get(param) is not None]  # fmt: skip
        summaries = []
        records = self._training
        for name in records.names():
            if NameContains and NameContains.lower() not in name.lower():
                continue
            try:
                job = public(records.read(name), TIME_KEYS)
            except ServiceError:  # deleted meanwhile
                continue
            if WarmPoolStatusEquals or TrainingPlanArnEquals:
                continue  # local jobs use no warm pool and no training plan
            if all(compare(job[key], moment) for key, compare, moment in wanted):
                summaries.append({k: job[k] for k in SUMMARY_KEYS if job.get(k) is not None})
        column = ORDER_BY[SortBy]
        summaries.sort(key=lambda s: (s[column], s["TrainingJobName"]),
                       reverse=SortOrder == "Descending")  # fmt: skip
        first = _page_start(NextToken, len(summaries))
        page = summaries[first : first + MaxResults]
        answer: dict[str, Any] = {"TrainingJobSummaries": [
            s for s in page if StatusEquals in (None, s["TrainingJobStatus"])]}  # fmt: skip
        if first + MaxResults < len(summaries):
            answer["NextToken"] = str(first + MaxResults)
        return answer

    def stop_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        """StopTrainingJob: the job goes Stopping and its worker is asked to stop (SIGTERM);
        it ends Stopped, keeping no model."""
        self._training.stop(TrainingJobName)
        return {}

    def delete_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        """DeleteTrainingJob: forget a Stopped, Failed or Completed job (its record and log; its
        model in S3 stays), so its name can be used again. A running job cannot be deleted."""
        self._training.delete(TrainingJobName)
        return {}

    def _tags_training_job(self, name: str) -> list[dict[str, str]]:
        """The tags of a training job named in an ARN (which holds the name lowercased)."""
        records = self._training
        for job in records.names():
            if job.lower() == name.lower():
                return list(records.read_raw(job).get("Local", {}).get("Tags") or [])
        raise records.not_found(name)
