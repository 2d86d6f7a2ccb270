"""AutoML jobs in the local SageMaker client: the V1 and V2 APIs over the local Autopilot.

AWS equivalent: CreateAutoMLJob / DescribeAutoMLJob (V1, what the course's
``sagemaker.automl.automl.AutoML`` calls), CreateAutoMLJobV2 / DescribeAutoMLJobV2 (V2, what
``AutoMLV2`` calls), ListCandidatesForAutoMLJob, ListAutoMLJobs and StopAutoMLJob.

A job is a folder ``<lab home>/automl/<job>/`` (:mod:`utils.local.automl.store`); its record keeps
the request in the V2 form, which the worker (:mod:`utils.local.automl.worker`) runs, and for a
V1 job the V1 request as given, which DescribeAutoMLJob answers back. As on AWS, DescribeAutoMLJobV2
describes jobs of both APIs, and DescribeAutoMLJob only jobs created with CreateAutoMLJob.
The whole request is checked before the job is created: a refused request leaves nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from utils.local.automl.constants import (
    JOB_NAME_RE,
    MAX_CANDIDATES_RANGE,
    MODES,
    OBJECTIVES,
    PROBLEM_TYPES,
)
from utils.local.automl.store import (
    JobStore,
    ResourceInUse,
    ResourceNotFound,
    iso,
    parse_time,
    process_alive,
    process_identity,
)
from utils.local.lake import parse_s3_uri
from utils.local.sagemaker.jobs import WORKER_THREAD_ENV
from utils.local.service import ServiceError, aware, invalid

STATUSES = ("Completed", "InProgress", "Failed", "Stopped", "Stopping")
_WORKERS: dict[str, subprocess.Popen] = {}  # job -> its worker, reaped when it exits
MAX_CANDIDATES_PAGE = 300
CSV_TYPES = ("text/csv", "text/csv;header=present")
_TIME_KEYS = ("CreationTime", "EndTime", "LastModifiedTime")


def _check_name(name: Any) -> str:
    """AWS's answer to an AutoMLJobName outside the API's pattern, in every AutoML call: a
    ValidationException (before any lookup, so ``a/b`` or ``..`` never reach the lake)."""
    if not isinstance(name, str) or not JOB_NAME_RE.fullmatch(name):
        raise invalid(f"1 validation error detected: Value {name!r} at 'autoMLJobName' failed "
                      "to satisfy constraint: Member must satisfy regular expression pattern: "
                      "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31} (1 to 32 letters, digits and hyphens, "
                      "starting and ending with a letter or digit)")  # fmt: skip
    return name


def _unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"local backend: {what} is not implemented by the local Autopilot; leave it unset "
        "locally, or run this job with BACKEND='aws'"
    )


def _public(value: Any) -> Any:
    """A stored record as the API returns it: no local fields, timestamps as datetimes."""
    out = {k: copy.deepcopy(v) for k, v in value.items() if not k.startswith("_")}
    for key in _TIME_KEYS:
        if out.get(key):
            out[key] = parse_time(out[key])
    return out


def v1_to_v2(request: dict[str, Any]) -> dict[str, Any]:
    """The CreateAutoMLJobV2 request that stands for a CreateAutoMLJob (V1) request."""
    channels = []
    target = weights = None
    for channel in request.get("InputDataConfig") or []:
        channel = copy.deepcopy(channel)
        target = channel.pop("TargetAttributeName", target)
        weights = channel.pop("SampleWeightAttributeName", weights)
        channels.append(channel)
    config = copy.deepcopy(request.get("AutoMLJobConfig") or {})
    tabular: dict[str, Any] = {"TargetAttributeName": target}
    if config.get("CompletionCriteria"):
        tabular["CompletionCriteria"] = config["CompletionCriteria"]
    generation = config.get("CandidateGenerationConfig") or {}
    if generation.get("FeatureSpecificationS3Uri"):
        tabular["FeatureSpecificationS3Uri"] = generation["FeatureSpecificationS3Uri"]
    if generation.get("AlgorithmsConfig"):
        tabular["CandidateGenerationConfig"] = {"AlgorithmsConfig": generation["AlgorithmsConfig"]}
    if config.get("Mode"):
        tabular["Mode"] = config["Mode"]
    if request.get("GenerateCandidateDefinitionsOnly"):
        tabular["GenerateCandidateDefinitionsOnly"] = True
    if request.get("ProblemType"):
        tabular["ProblemType"] = request["ProblemType"]
    if weights:
        tabular["SampleWeightAttributeName"] = weights
    out: dict[str, Any] = {
        "AutoMLJobName": request["AutoMLJobName"],
        "AutoMLJobInputDataConfig": channels,
        "OutputDataConfig": request["OutputDataConfig"],
        "AutoMLProblemTypeConfig": {"TabularJobConfig": tabular},
        "RoleArn": request["RoleArn"],
    }
    for key in ("AutoMLJobObjective", "Tags", "ModelDeployConfig"):
        if request.get(key):
            out[key] = request[key]
    if config.get("SecurityConfig"):
        out["SecurityConfig"] = config["SecurityConfig"]
    if config.get("DataSplitConfig"):
        out["DataSplitConfig"] = config["DataSplitConfig"]
    return out


class AutoMLAPI:
    """The AutoML calls of the local SageMaker client (a mixin of SageMakerService)."""

    @property
    def _automl(self) -> JobStore:
        return JobStore(self.home)  # type: ignore[attr-defined]

    def _automl_record(self, name: str) -> dict[str, Any]:
        _check_name(name)
        try:
            return self._automl.read(name)
        except ResourceNotFound as exc:
            raise ServiceError("ResourceNotFound", str(exc)) from None

    # -- creating a job ----------------------------------------------------------------------
    def _check_request(self, request: dict[str, Any]) -> None:
        """Everything CreateAutoMLJob(V2) checks, before anything is written."""
        _check_name(request["AutoMLJobName"])
        problem = request["AutoMLProblemTypeConfig"]
        other = sorted(k for k in problem if k != "TabularJobConfig")
        if other:
            raise _unsupported(f"AutoMLProblemTypeConfig {other[0]} (the local Autopilot runs "
                               "tabular jobs: TabularJobConfig)")  # fmt: skip
        tab = problem.get("TabularJobConfig") or {}
        if not tab.get("TargetAttributeName"):
            raise invalid("TargetAttributeName is required: the column of the data to predict")
        problem_type = tab.get("ProblemType")
        objective = (request.get("AutoMLJobObjective") or {}).get("MetricName")
        if bool(problem_type) != bool(objective):
            raise invalid("ProblemType and AutoMLJobObjective go together: give both (for "
                           "example MulticlassClassification with Accuracy) or neither, and "
                           "Autopilot infers them")  # fmt: skip
        if problem_type and problem_type not in PROBLEM_TYPES:
            raise invalid(f"ProblemType {problem_type!r}: use one of {list(PROBLEM_TYPES)}")
        if objective and objective not in OBJECTIVES[problem_type]:
            raise invalid(f"AutoMLJobObjective MetricName {objective!r} is not valid for "
                           f"{problem_type}: use one of {list(OBJECTIVES[problem_type])}")  # fmt: skip
        criteria = tab.get("CompletionCriteria") or {}
        low, high = MAX_CANDIDATES_RANGE
        if "MaxCandidates" in criteria and not low <= criteria["MaxCandidates"] <= high:
            raise invalid(f"MaxCandidates {criteria['MaxCandidates']}: allowed are {low} to "
                           f"{high}")  # fmt: skip
        for key in ("MaxRuntimePerTrainingJobInSeconds", "MaxAutoMLJobRuntimeInSeconds"):
            if key in criteria and criteria[key] < 1:
                raise invalid(f"{key} {criteria[key]}: give a number of seconds, at least 1")
        mode = tab.get("Mode")
        if mode is not None and mode not in MODES:
            raise invalid(f"Mode {mode!r}: use one of {list(MODES)}")
        if tab.get("SampleWeightAttributeName"):
            raise _unsupported("SampleWeightAttributeName (sample weights)")
        if (tab.get("CandidateGenerationConfig") or {}).get("AlgorithmsConfig"):
            raise _unsupported("CandidateGenerationConfig AlgorithmsConfig (choosing algorithms)")
        fraction = (request.get("DataSplitConfig") or {}).get("ValidationFraction")
        if fraction is not None and not 0 < fraction < 1:
            raise invalid(f"ValidationFraction {fraction}: use a share between 0 and 1")
        deploy = request.get("ModelDeployConfig") or {}
        if deploy.get("AutoGenerateEndpointName") or deploy.get("EndpointName"):
            raise _unsupported("ModelDeployConfig (automatic deployment); deploy the best "
                               "candidate with AutoML.deploy(...) instead")  # fmt: skip
        channels = request["AutoMLJobInputDataConfig"]
        if not channels:
            raise invalid("the job needs one training channel (an S3 prefix or CSV object)")
        types = [c.get("ChannelType", "training") for c in channels]
        if types.count("training") != 1 or len(channels) > 2:
            raise invalid(f"channels {types}: give one 'training' channel, and at most one "
                           "'validation' channel")  # fmt: skip
        if "validation" in types:
            raise _unsupported("a separate validation channel (the local Autopilot splits the "
                               "training data; set DataSplitConfig ValidationFraction)")  # fmt: skip
        for channel in channels:
            source = channel["DataSource"]["S3DataSource"]
            if source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise _unsupported(f"S3DataType {source['S3DataType']!r}")
            try:
                parse_s3_uri(source["S3Uri"])
            except ValueError as exc:
                raise invalid(f"S3Uri: {exc}") from None
            content = channel.get("ContentType")
            if content is not None and content.replace(" ", "") not in CSV_TYPES:
                raise _unsupported(f"ContentType {content!r} (the local Autopilot reads CSV)")
            if channel.get("CompressionType", "None") not in ("None", "Gzip"):
                raise invalid(f"CompressionType {channel['CompressionType']!r}: use None or Gzip")
        try:
            parse_s3_uri(request["OutputDataConfig"]["S3OutputPath"])
        except ValueError as exc:
            raise invalid(f"S3OutputPath: {exc}") from None

    def _create_automl(self, request: dict[str, Any], api: str,
                       original: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        self._check_request(request)
        name = request["AutoMLJobName"]
        channel = request["AutoMLJobInputDataConfig"][0]
        channel.setdefault("ChannelType", "training")
        channel.setdefault("ContentType", "text/csv;header=present")
        request.setdefault("SecurityConfig", {"EnableInterContainerTrafficEncryption": False})
        arn = self.account.arn("sagemaker", f"automl-job/{name.lower()}")  # type: ignore[attr-defined]
        created = iso()
        record = {
            "AutoMLJobName": name,
            "AutoMLJobArn": arn,
            "AutoMLJobStatus": "InProgress",
            "AutoMLJobSecondaryStatus": "Starting",
            "CreationTime": created,
            "LastModifiedTime": created,
            "AutoMLProblemTypeConfigName": "Tabular",
            "request": request,
            "api": api,
            "request_v1": original if api == "V1" else None,
            "region": self.region,  # type: ignore[attr-defined]
            "local": {"seed": int(self.account.seed)},  # type: ignore[attr-defined]
            "progress": {"stage": "Starting", "message": "starting the worker"},
        }
        store = self._automl
        try:
            store.create(name, record)
        except ResourceInUse as exc:
            raise ServiceError("ResourceInUse", str(exc)) from None
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        store.event(name, f"CreateAutoMLJob{'V2' if api == 'V2' else ''} {name}: input {uri}",
                    stage="Starting")  # fmt: skip
        _spawn_worker(store, self.home, name)  # type: ignore[attr-defined]
        return {"AutoMLJobArn": arn}

    def create_auto_ml_job(self, AutoMLJobName: str, InputDataConfig: list[dict[str, Any]],
                           OutputDataConfig: dict[str, Any], RoleArn: str,
                           ProblemType: str | None = None,
                           AutoMLJobObjective: dict[str, Any] | None = None,
                           AutoMLJobConfig: dict[str, Any] | None = None,
                           GenerateCandidateDefinitionsOnly: bool | None = None,
                           Tags: list[dict[str, str]] | None = None,
                           ModelDeployConfig: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """CreateAutoMLJob (V1): start the job in the background; returns its ARN at once."""
        original = {k: v for k, v in {
            "AutoMLJobName": AutoMLJobName, "InputDataConfig": InputDataConfig,
            "OutputDataConfig": OutputDataConfig, "RoleArn": RoleArn, "ProblemType": ProblemType,
            "AutoMLJobObjective": AutoMLJobObjective, "AutoMLJobConfig": AutoMLJobConfig,
            "GenerateCandidateDefinitionsOnly": GenerateCandidateDefinitionsOnly, "Tags": Tags,
            "ModelDeployConfig": ModelDeployConfig}.items() if v is not None}  # fmt: skip
        targets = {c.get("TargetAttributeName") for c in InputDataConfig}
        if len(targets) != 1 or None in targets:
            raise invalid("every channel of InputDataConfig needs the same TargetAttributeName")
        original = copy.deepcopy(original)
        for channel in original["InputDataConfig"]:
            channel.setdefault("ChannelType", "training")
            channel.setdefault("ContentType", "text/csv;header=present")
        return self._create_automl(v1_to_v2(original), "V1", original)

    def create_auto_ml_job_v2(self, AutoMLJobName: str,
                              AutoMLJobInputDataConfig: list[dict[str, Any]],
                              OutputDataConfig: dict[str, Any],
                              AutoMLProblemTypeConfig: dict[str, Any], RoleArn: str,
                              Tags: list[dict[str, str]] | None = None,
                              SecurityConfig: dict[str, Any] | None = None,
                              AutoMLJobObjective: dict[str, Any] | None = None,
                              ModelDeployConfig: dict[str, Any] | None = None,
                              DataSplitConfig: dict[str, Any] | None = None,
                              AutoMLComputeConfig: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """CreateAutoMLJobV2: start the job in the background; returns its ARN at once."""
        if AutoMLComputeConfig:
            raise _unsupported("AutoMLComputeConfig (EMR Serverless compute)")
        request = copy.deepcopy({k: v for k, v in {
            "AutoMLJobName": AutoMLJobName, "AutoMLJobInputDataConfig": AutoMLJobInputDataConfig,
            "OutputDataConfig": OutputDataConfig,
            "AutoMLProblemTypeConfig": AutoMLProblemTypeConfig, "RoleArn": RoleArn, "Tags": Tags,
            "SecurityConfig": SecurityConfig, "AutoMLJobObjective": AutoMLJobObjective,
            "ModelDeployConfig": ModelDeployConfig,
            "DataSplitConfig": DataSplitConfig}.items() if v is not None})  # fmt: skip
        return self._create_automl(request, "V2", request)

    # -- describing ---------------------------------------------------------------------------
    def _best(self, record: dict[str, Any]) -> dict[str, Any] | None:
        best = record.get("best_candidate")
        if not best:
            return None
        for cand in self._automl.candidates(record["AutoMLJobName"]):
            if cand["CandidateName"] == best:
                return _public(cand)
        return None

    def _state(self, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("CreationTime", "EndTime", "LastModifiedTime", "FailureReason",
                    "PartialFailureReasons"):  # fmt: skip
            if record.get(key):
                out[key] = record[key]
        best = self._best(record)
        if best:
            out["BestCandidate"] = best
        out["AutoMLJobStatus"] = record["AutoMLJobStatus"]
        out["AutoMLJobSecondaryStatus"] = record["AutoMLJobSecondaryStatus"]
        if record.get("AutoMLJobArtifacts"):
            out["AutoMLJobArtifacts"] = record["AutoMLJobArtifacts"]
        return out

    def describe_auto_ml_job_v2(self, AutoMLJobName: str) -> dict[str, Any]:
        """DescribeAutoMLJobV2: any job, in the V2 shape."""
        _reap()
        record = self._automl_record(AutoMLJobName)
        req = record["request"]
        out: dict[str, Any] = {
            "AutoMLJobName": record["AutoMLJobName"], "AutoMLJobArn": record["AutoMLJobArn"],
            "AutoMLJobInputDataConfig": req["AutoMLJobInputDataConfig"],
            "OutputDataConfig": req["OutputDataConfig"], "RoleArn": req["RoleArn"],
        }  # fmt: skip
        if req.get("AutoMLJobObjective"):
            out["AutoMLJobObjective"] = req["AutoMLJobObjective"]
        out["AutoMLProblemTypeConfig"] = req["AutoMLProblemTypeConfig"]
        out["AutoMLProblemTypeConfigName"] = "Tabular"
        out.update(self._state(record))
        if record.get("ResolvedAttributes"):
            out["ResolvedAttributes"] = record["ResolvedAttributes"]
        for key in ("DataSplitConfig", "SecurityConfig", "ModelDeployConfig"):
            if req.get(key):
                out[key] = req[key]
        return _public(out)

    def describe_auto_ml_job(self, AutoMLJobName: str) -> dict[str, Any]:
        """DescribeAutoMLJob (V1): jobs created with CreateAutoMLJob, in the V1 shape."""
        _reap()
        record = self._automl_record(AutoMLJobName)
        v1 = record.get("request_v1")
        if record.get("api") != "V1" or not v1:
            raise invalid(f"AutoML job {AutoMLJobName} was created with CreateAutoMLJobV2: "
                           "DescribeAutoMLJob describes only jobs created with CreateAutoMLJob; "
                           "use DescribeAutoMLJobV2 (AutoMLV2.describe_auto_ml_job)")  # fmt: skip
        out: dict[str, Any] = {
            "AutoMLJobName": record["AutoMLJobName"], "AutoMLJobArn": record["AutoMLJobArn"],
            "InputDataConfig": v1["InputDataConfig"], "OutputDataConfig": v1["OutputDataConfig"],
            "RoleArn": v1["RoleArn"],
        }  # fmt: skip
        if v1.get("AutoMLJobObjective"):
            out["AutoMLJobObjective"] = v1["AutoMLJobObjective"]
        if v1.get("ProblemType"):
            out["ProblemType"] = v1["ProblemType"]
        config = copy.deepcopy(v1.get("AutoMLJobConfig") or {})
        config.setdefault("SecurityConfig", {"EnableInterContainerTrafficEncryption": False})
        out["AutoMLJobConfig"] = config
        out.update(self._state(record))
        out["GenerateCandidateDefinitionsOnly"] = bool(v1.get("GenerateCandidateDefinitionsOnly"))
        resolved = record.get("ResolvedAttributes") or {}
        if resolved:
            tabular = (resolved.get("AutoMLProblemTypeResolvedAttributes") or {}).get(
                "TabularResolvedAttributes") or {}  # fmt: skip
            out["ResolvedAttributes"] = {k: v for k, v in {
                "AutoMLJobObjective": resolved.get("AutoMLJobObjective"),
                "ProblemType": tabular.get("ProblemType"),
                "CompletionCriteria": resolved.get("CompletionCriteria")}.items() if v}  # fmt: skip
        if v1.get("ModelDeployConfig"):
            out["ModelDeployConfig"] = v1["ModelDeployConfig"]
        return _public(out)

    # -- lists and stop -----------------------------------------------------------------------
    def list_candidates_for_auto_ml_job(self, AutoMLJobName: str, StatusEquals: str | None = None,
                                        CandidateNameEquals: str | None = None,
                                        SortOrder: str | None = None, SortBy: str | None = None,
                                        MaxResults: int | None = None,
                                        NextToken: str | None = None) -> dict[str, Any]:  # fmt: skip
        """ListCandidatesForAutoMLJob. As AWS documents: SortOrder defaults to Ascending; without
        SortBy the candidates come in creation order. Without MaxResults a page holds all of
        them (up to 300, the API's largest page)."""
        _reap()
        self._automl_record(AutoMLJobName)
        cands = self._automl.candidates(AutoMLJobName)
        if StatusEquals is not None:
            cands = [c for c in cands if c["CandidateStatus"] == StatusEquals]
        if CandidateNameEquals is not None:
            cands = [c for c in cands if c["CandidateName"] == CandidateNameEquals]
        descending = SortOrder == "Descending"
        if SortBy == "FinalObjectiveMetricValue":
            scored = [c for c in cands if c.get("FinalAutoMLJobObjectiveMetric")]
            unscored = [c for c in cands if not c.get("FinalAutoMLJobObjectiveMetric")]
            scored.sort(key=lambda c: c["FinalAutoMLJobObjectiveMetric"]["Value"],
                        reverse=descending)  # fmt: skip
            cands = scored + unscored
        elif SortBy == "Status":
            cands.sort(key=lambda c: c["CandidateStatus"], reverse=descending)
        else:
            cands.sort(key=lambda c: (c["CreationTime"], c["CandidateName"]), reverse=descending)
        return _page(cands, "Candidates", MaxResults or MAX_CANDIDATES_PAGE, NextToken)

    def list_auto_ml_jobs(self, CreationTimeAfter: dt.datetime | None = None,
                          CreationTimeBefore: dt.datetime | None = None,
                          LastModifiedTimeAfter: dt.datetime | None = None,
                          LastModifiedTimeBefore: dt.datetime | None = None,
                          NameContains: str | None = None, StatusEquals: str | None = None,
                          SortOrder: str = "Descending", SortBy: str = "Name",
                          MaxResults: int = 10, NextToken: str | None = None) -> dict[str, Any]:  # fmt: skip
        """ListAutoMLJobs: summaries, sorted by Name (the default) Descending, 10 a page."""
        _reap()
        store = self._automl
        rows = []
        for name in store.names():
            try:
                record = store.read(name)
            except ResourceNotFound:  # deleted meanwhile
                continue
            if NameContains and NameContains.lower() not in name.lower():
                continue
            if StatusEquals and record["AutoMLJobStatus"] != StatusEquals:
                continue
            summary = {k: record[k] for k in ("AutoMLJobName", "AutoMLJobArn", "AutoMLJobStatus",
                                              "AutoMLJobSecondaryStatus", "CreationTime",
                                              "LastModifiedTime")}  # fmt: skip
            for key in ("EndTime", "FailureReason", "PartialFailureReasons"):
                if record.get(key):
                    summary[key] = record[key]
            summary = _public(summary)
            created, modified = summary["CreationTime"], summary["LastModifiedTime"]
            if CreationTimeAfter and not created > aware(CreationTimeAfter):
                continue
            if CreationTimeBefore and not created < aware(CreationTimeBefore):
                continue
            if LastModifiedTimeAfter and not modified > aware(LastModifiedTimeAfter):
                continue
            if LastModifiedTimeBefore and not modified < aware(LastModifiedTimeBefore):
                continue
            rows.append(summary)
        key = {"Name": "AutoMLJobName", "CreationTime": "CreationTime",
               "Status": "AutoMLJobStatus"}[SortBy]  # fmt: skip
        rows.sort(key=lambda r: r[key], reverse=SortOrder == "Descending")
        return _page(rows, "AutoMLJobSummaries", MaxResults, NextToken, public=False)

    def stop_auto_ml_job(self, AutoMLJobName: str) -> dict[str, Any]:
        """StopAutoMLJob: the running candidate is stopped, finished ones are kept."""
        record = self._automl_record(AutoMLJobName)
        if record["AutoMLJobStatus"] not in ("InProgress", "Stopping"):
            raise invalid(f"AutoML job {AutoMLJobName} is {record['AutoMLJobStatus']}: only a "
                           "job in progress can be stopped")  # fmt: skip
        stop_job(self._automl, AutoMLJobName)
        return {}

    def _tags_automl_job(self, name: str) -> list[dict[str, str]]:
        store = self._automl
        for job in store.names():
            if job.lower() == name.lower():
                return list(store.read_raw(job)["request"].get("Tags") or [])
        raise ServiceError("ValidationException", f"no AutoML job named {name!r}")


# -- the job's background worker -------------------------------------------------------------------
def _spawn_worker(store: JobStore, home: Path, name: str) -> None:
    """Start ``python -m utils.local.automl.worker`` for the job, in a session of its own.

    Called once per job, by the one CreateAutoMLJob that claimed the name. A waiter thread of
    this process keeps the worker's exit status (its signal, even SIGKILL's) in the job's
    folder when it exits, and reaps it; the job reads Failed at once if it died unfinished.
    """
    import psutil

    from utils.config import project_root

    env = os.environ.copy()
    root = str(project_root())
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var, value in WORKER_THREAD_ENV.items():
        env.setdefault(var, value)
    env.pop("MPLBACKEND", None)
    try:
        with open(store.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "utils.local.automl.worker", "--home", str(home),
                 "--job", name],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=root, env=env,
            )  # fmt: skip
    except OSError as exc:  # the job exists (its ARN was answered): it fails, saying why
        _fail_unstarted(store, name, f"the local AutoML worker could not be started: {exc}")
        return
    _WORKERS[name] = proc
    threading.Thread(target=_await_worker, args=(store, name, proc), daemon=True,
                     name=f"automl-worker-{name}").start()  # fmt: skip
    try:
        created = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:  # it already exited; its exit status is being recorded
        created = None
    spawner = process_identity()

    def worker(rec: dict[str, Any]) -> None:
        rec["spawner"] = spawner
        if not rec.get("worker"):
            rec["worker"] = {"pid": proc.pid, "create_time": created,
                             "log": str(store.log_path(name))}  # fmt: skip

    store.update(name, worker)


def _await_worker(store: JobStore, name: str, proc: subprocess.Popen) -> None:
    """The waiter thread: record how the worker ended (before reaping it, so that a reader
    never sees it gone without its status while this process lives), then reap it."""
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
        code = -info.si_status if killed else info.si_status
    except ChildProcessError:  # reaped meanwhile by Popen.poll: it kept the status
        code = proc.wait()
    try:
        store.record_exit(name, proc.pid, code, by="spawner")
    except OSError:  # the lab home is gone (a test's temporary folder)
        pass
    proc.wait()
    _WORKERS.pop(name, None)
    try:
        store.read(name)  # a worker that died unfinished leaves the job Failed now
    except Exception:  # noqa: BLE001 - a reader marks it later; nothing to report here
        pass


def _fail_unstarted(store: JobStore, name: str, reason: str) -> None:
    def failed(rec: dict[str, Any]) -> None:
        rec.update(AutoMLJobStatus="Failed", AutoMLJobSecondaryStatus="Failed",
                   FailureReason=reason[:1024], EndTime=iso())  # fmt: skip

    store.update(name, failed)
    store.event(name, f"job Failed: {reason}", stage="Failed")


def _reap() -> None:
    """Collect the exited workers this process started (no zombies)."""
    for name, proc in list(_WORKERS.items()):
        if proc.poll() is not None:
            del _WORKERS[name]


def stop_job(store: JobStore, name: str) -> None:
    """Mark the job Stopping and signal its worker (SIGTERM): what StopAutoMLJob does."""

    def stopping(rec: dict[str, Any]) -> None:
        rec["stop_requested"] = True
        if rec["AutoMLJobStatus"] == "InProgress":
            rec["AutoMLJobStatus"] = "Stopping"
            rec["AutoMLJobSecondaryStatus"] = "Stopping"

    record = store.update(name, stopping)
    store.event(name, "StopAutoMLJob requested", stage="Stopping")
    worker = record.get("worker") or {}
    if process_alive(worker.get("pid"), worker.get("create_time")):
        try:
            os.kill(worker["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass


def _page(rows: list[dict[str, Any]], key: str, size: int, token: str | None,
          public: bool = True) -> dict[str, Any]:  # fmt: skip
    try:
        start = int(token) if token else 0
    except ValueError:
        raise invalid(f"NextToken {token!r} is not a token this API returned") from None
    page = rows[start : start + size]
    out: dict[str, Any] = {key: [_public(r) for r in page] if public else page}
    if start + size < len(rows):
        out["NextToken"] = str(start + size)
    return out
