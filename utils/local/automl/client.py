"""``lab.AutoML`` on the local backend: the sagemaker SDK's ``AutoML`` over a local Autopilot.

AWS equivalent: ``sagemaker.automl.automl.AutoML`` (same constructor arguments and defaults,
same ``fit`` / ``describe_auto_ml_job`` / ``list_candidates`` / ``best_candidate`` /
``attach``), answering with the keys of DescribeAutoMLJobV2 and ListCandidatesForAutoMLJob.
``fit(wait=False)`` starts a background worker process and returns at once; the job's record
lives under ``<lab home>/automl/<job>/``, so any kernel can follow the job, and a job whose
worker died is reported Failed, never InProgress forever.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from utils.errors import LabError
from utils.local.automl.constants import (
    JOB_NAME_RE,
    MAX_CANDIDATES_RANGE,
    MODES,
    OBJECTIVES,
    PROBLEM_TYPES,
    TERMINAL_STATUSES,
)
from utils.local.automl.store import JobStore, ResourceNotFound, iso, parse_time, process_alive
from utils.local.lake import LocalLake, parse_s3_uri

logger = logging.getLogger(__name__)
_WORKERS: dict[str, subprocess.Popen] = {}  # job -> its worker, reaped when it exits
# One BLAS thread: the worker's dense algebra is small, and OpenBLAS threads spinning on a busy
# 2-core machine made a 2-second logistic regression take 100 seconds. Tree learners keep
# their own thread counts (n_jobs / num_cpus); OpenMP threads sleep instead of spinning.
WORKER_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "OMP_WAIT_POLICY": "PASSIVE"}  # fmt: skip
DEPLOY_LATER = (
    "local backend: {call} is not available here; load the model in-process with "
    "utils.local.automl.load_candidate_model(lab, job_name, candidate_name), or deploy it with "
    "automl.deploy(...) as 06_deploy_predict does"
)


class AutoMLJobFailed(LabError, RuntimeError):
    """The job ended Failed (or Stopped) while ``fit``/``wait`` waited for it.

    AWS equivalent: ``sagemaker.exceptions.UnexpectedStatusException``.
    """

    def __init__(self, message: str, job_name: str, status: str, reason: str | None) -> None:
        super().__init__(message)
        self.job_name = job_name
        self.status = status
        self.reason = reason


def name_from_base(base: str, max_length: int = 63) -> str:
    """``<base>-<UTC timestamp with ms>``, trimmed like ``sagemaker.utils.name_from_base``."""
    moment = time.time()
    ms = repr(moment).split(".")[1][:3]
    stamp = time.strftime(f"%Y-%m-%d-%H-%M-%S-{ms}", time.gmtime(moment))
    return f"{base[: max_length - len(stamp) - 1]}-{stamp}"


def _unsupported(name: str, value: Any) -> None:
    raise NotImplementedError(
        f"local backend: AutoML({name}={value!r}) is not implemented locally; leave it at its "
        "default, or run this cell with BACKEND='aws'"
    )


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the API returns it: no local fields, timestamps as datetimes."""
    out = {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}
    for key in ("CreationTime", "EndTime", "LastModifiedTime"):
        if key in out:
            out[key] = parse_time(out[key])
    return out


class LocalAutoML:
    """SageMaker Autopilot on the local backend, with the sagemaker SDK's ``AutoML`` interface.

    AWS equivalent: ``sagemaker.automl.automl.AutoML``. Use ``lab.AutoML(...)``, which binds
    this class to the lab's home and bucket.
    """

    _lab: Any = None  # set by local_automl_class()

    def __init__(
        self,
        role: str | None = None,
        target_attribute_name: str = None,
        output_kms_key: str | None = None,
        output_path: str | None = None,
        base_job_name: str | None = None,
        compression_type: str | None = None,
        sagemaker_session: Any = None,
        volume_kms_key: str | None = None,
        encrypt_inter_container_traffic: bool | None = None,
        vpc_config: dict[str, list] | None = None,
        problem_type: str | None = None,
        max_candidates: int | None = None,
        max_runtime_per_training_job_in_seconds: int | None = None,
        total_job_runtime_in_seconds: int | None = None,
        job_objective: dict[str, str] | None = None,
        generate_candidate_definitions_only: bool | None = False,
        tags: Any = None,
        content_type: str | None = None,
        s3_data_type: str | None = None,
        feature_specification_s3_uri: str | None = None,
        validation_fraction: float | None = None,
        mode: str | None = None,
        auto_generate_endpoint_name: bool | None = None,
        endpoint_name: str | None = None,
        sample_weight_attribute_name: str = None,
    ) -> None:
        if self._lab is None:
            raise LabError("use lab.AutoML(...) (from utils.connect('local')), which binds the "
                           "local AutoML to the lab's home and bucket")  # fmt: skip
        if not (problem_type and job_objective) and (problem_type or job_objective):
            raise ValueError(
                "One of problem type and objective metric provided. "
                "Either both of them should be provided or none of them should be provided."
            )
        if problem_type is not None and problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type={problem_type!r}: use one of {list(PROBLEM_TYPES)}")
        if job_objective is not None:
            metric = (job_objective or {}).get("MetricName")
            allowed = OBJECTIVES.get(problem_type or "", ())
            if metric not in allowed:
                raise ValueError(f"job_objective={job_objective!r}: for {problem_type} use "
                                 f"{{'MetricName': one of {list(allowed)}}}")  # fmt: skip
        if max_candidates is not None and not (
            MAX_CANDIDATES_RANGE[0] <= int(max_candidates) <= MAX_CANDIDATES_RANGE[1]
        ):
            raise ValueError(f"max_candidates={max_candidates}: allowed are 1 to 750")
        for pname, value in (
            ("max_runtime_per_training_job_in_seconds", max_runtime_per_training_job_in_seconds),
            ("total_job_runtime_in_seconds", total_job_runtime_in_seconds),
        ):
            if value is not None and int(value) < 1:
                raise ValueError(f"{pname}={value}: give a number of seconds, at least 1")
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode={mode!r}: use one of {list(MODES)}")
        if validation_fraction is not None and not 0 < validation_fraction < 1:
            raise ValueError(f"validation_fraction={validation_fraction}: use a share in (0, 1)")
        if compression_type not in (None, "None", "Gzip"):
            raise ValueError(f"compression_type={compression_type!r}: use None or 'Gzip'")
        if content_type is not None and not content_type.startswith("text/csv"):
            _unsupported("content_type", content_type)
        if s3_data_type not in (None, "S3Prefix"):
            _unsupported("s3_data_type", s3_data_type)
        if auto_generate_endpoint_name or endpoint_name is not None:
            raise NotImplementedError(
                DEPLOY_LATER.format(
                    call="automatic deployment (auto_generate_endpoint_name, endpoint_name)"
                )  # fmt: skip
            )
        if sample_weight_attribute_name is not None:
            _unsupported("sample_weight_attribute_name", sample_weight_attribute_name)
        if output_path is not None:
            parse_s3_uri(output_path)
        self.role = role
        self.target_attribute_name = target_attribute_name
        self.output_kms_key = output_kms_key
        self.output_path = output_path
        self.base_job_name = base_job_name
        self.compression_type = compression_type
        self.sagemaker_session = sagemaker_session
        self.volume_kms_key = volume_kms_key
        self.encrypt_inter_container_traffic = bool(encrypt_inter_container_traffic)
        self.vpc_config = vpc_config
        self.problem_type = problem_type
        self.max_candidate = max_candidates  # the SDK's attribute name (sic)
        self.max_runtime_per_training_job_in_seconds = max_runtime_per_training_job_in_seconds
        self.total_job_runtime_in_seconds = total_job_runtime_in_seconds
        self.job_objective = job_objective
        self.generate_candidate_definitions_only = generate_candidate_definitions_only
        self.tags = tags
        self.content_type = content_type
        self.s3_data_type = s3_data_type
        self.feature_specification_s3_uri = feature_specification_s3_uri
        self.validation_fraction = validation_fraction
        self.mode = mode
        self.auto_generate_endpoint_name = auto_generate_endpoint_name
        self.endpoint_name = endpoint_name
        self.sample_weight_attribute_name = sample_weight_attribute_name
        self.current_job_name: str | None = None
        self.latest_auto_ml_job: LocalAutoMLJob | None = None
        self._auto_ml_job_desc: dict[str, Any] | None = None
        self._best_candidate: dict[str, Any] | None = None

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def _store(self) -> JobStore:
        return JobStore(self._lab.home)

    @property
    def _lake(self) -> LocalLake:
        return LocalLake(self._lab.home)

    def _job(self, job_name: str | None) -> str:
        name = job_name or self.current_job_name
        if not name:
            raise ValueError("no job_name given and this AutoML object has not run fit() yet")
        return name

    def _inputs(self, inputs: Any) -> str:
        if isinstance(inputs, list):
            if len(inputs) != 1:
                raise NotImplementedError("local backend: give one training input (an s3:// "
                                          "URI); separate validation channels run on aws")  # fmt: skip
            inputs = inputs[0]
        if hasattr(inputs, "inputs") and hasattr(inputs, "to_request_dict"):  # AutoMLInput
            channel = inputs.to_request_dict()[0]
            inputs = channel["DataSource"]["S3DataSource"]["S3Uri"]
        if inputs is None:
            raise ValueError("fit(inputs=...): give the s3:// URI of the training CSV")
        if not isinstance(inputs, str | os.PathLike):
            raise ValueError(f"Cannot format input {inputs}. Expecting a string or a list of "
                             "strings or a list of AutoMLInputs.")  # fmt: skip
        inputs = str(inputs)
        if inputs.startswith("s3://"):
            parse_s3_uri(inputs)
            return inputs
        # the SDK uploads a local file to the default bucket under auto-ml-input-data/
        source = Path(inputs)
        if not source.is_file():
            raise FileNotFoundError(f"fit(inputs={inputs!r}): no such local file, and not s3://")
        uri = f"s3://{self._lab.bucket}/auto-ml-input-data/{source.name}"
        target = self._lake.path_for(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        return uri

    def _request(self, name: str, uri: str) -> dict[str, Any]:
        criteria: dict[str, int] = {}
        if self.max_candidate is not None:
            criteria["MaxCandidates"] = int(self.max_candidate)
        if self.max_runtime_per_training_job_in_seconds is not None:
            criteria["MaxRuntimePerTrainingJobInSeconds"] = int(
                self.max_runtime_per_training_job_in_seconds
            )
        if self.total_job_runtime_in_seconds is not None:
            criteria["MaxAutoMLJobRuntimeInSeconds"] = int(self.total_job_runtime_in_seconds)
        tabular: dict[str, Any] = {"CompletionCriteria": criteria,
                                   "TargetAttributeName": self.target_attribute_name}  # fmt: skip
        if self.mode:
            tabular["Mode"] = self.mode
        if self.problem_type:
            tabular["ProblemType"] = self.problem_type
        if self.generate_candidate_definitions_only:
            tabular["GenerateCandidateDefinitionsOnly"] = True
        if self.feature_specification_s3_uri:
            tabular["FeatureSpecificationS3Uri"] = self.feature_specification_s3_uri
        channel = {
            "ChannelType": "training",
            "ContentType": self.content_type or "text/csv;header=present",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
        }
        if self.compression_type:
            channel["CompressionType"] = self.compression_type
        output = self.output_path or f"s3://{self._lab.bucket}/"
        request: dict[str, Any] = {
            "AutoMLJobName": name,
            "AutoMLJobInputDataConfig": [channel],
            "OutputDataConfig": {"S3OutputPath": output},
            "AutoMLProblemTypeConfig": {"TabularJobConfig": tabular},
            "RoleArn": self.role or "arn:aws:iam::000000000000:role/local-automl",
            "SecurityConfig": {
                "EnableInterContainerTrafficEncryption": self.encrypt_inter_container_traffic},
        }  # fmt: skip
        if self.output_kms_key:
            request["OutputDataConfig"]["KmsKeyId"] = self.output_kms_key
        if self.volume_kms_key:
            request["SecurityConfig"]["VolumeKmsKeyId"] = self.volume_kms_key
        if self.vpc_config:
            request["SecurityConfig"]["VpcConfig"] = self.vpc_config
        if self.job_objective:
            request["AutoMLJobObjective"] = {"MetricName": self.job_objective["MetricName"]}
        if self.validation_fraction is not None:
            request["DataSplitConfig"] = {"ValidationFraction": self.validation_fraction}
        if self.tags:
            request["Tags"] = self.tags if isinstance(self.tags, list) else [
                {"Key": k, "Value": v} for k, v in dict(self.tags).items()]  # fmt: skip
        return request

    # -- the SDK's calls -----------------------------------------------------------------------
    def fit(self, inputs: Any = None, wait: bool = True, logs: bool = True,
            job_name: str | None = None) -> None:  # fmt: skip
        """Create the AutoML job and start it in the background; wait for it if ``wait``.

        AWS equivalent: ``AutoML.fit`` (CreateAutoMLJobV2 here). Raises AutoMLJobFailed when
        ``wait=True`` and the job fails, with its FailureReason.
        """
        if not wait and logs:
            logs = False
            logger.warning("Setting logs to False. logs is only meaningful when wait is True.")
        if self.target_attribute_name is None:
            raise ValueError("TargetAttributeName cannot be None.")
        uri = self._inputs(inputs)
        name = job_name or name_from_base(self.base_job_name or "automl", max_length=32)
        if not JOB_NAME_RE.match(name):
            raise ValueError(
                f"job_name={name!r}: an AutoML job name has 1 to 32 letters, digits and hyphens, "
                "and starts with a letter or digit"
            )
        self.current_job_name = name
        self._best_candidate = None
        self._auto_ml_job_desc = None
        store = self._store
        created = iso()
        record = {
            "AutoMLJobName": name,
            "AutoMLJobArn": f"arn:aws:sagemaker:{self._lab.region}:000000000000:automl-job/"
                            f"{name.lower()}",
            "AutoMLJobStatus": "InProgress",
            "AutoMLJobSecondaryStatus": "Starting",
            "CreationTime": created,
            "LastModifiedTime": created,
            "AutoMLProblemTypeConfigName": "Tabular",
            "request": self._request(name, uri),
            "region": self._lab.region,
            "local": {"seed": int(getattr(self._lab.config, "seed", 0))},
            "progress": {"stage": "Starting", "message": "starting the worker"},
        }  # fmt: skip
        store.create(name, record)
        store.event(name, f"CreateAutoMLJobV2 {name}: input {uri}", stage="Starting")
        _spawn_worker(store, self._lab.home, name)
        self.latest_auto_ml_job = LocalAutoMLJob(self, name, uri)
        if wait:
            self.wait(name, logs=logs)

    def wait(self, job_name: str | None = None, logs: bool = True, poll: float = 0.5) -> dict:
        """Wait until the job ends; a progress bar when ``logs``. Raises if it did not complete.

        AWS equivalent: ``AutoMLJob.wait`` (``Session.wait_for_auto_ml_job``).
        """
        name = self._job(job_name)
        record = wait_for_job(self._store, name, logs=logs, poll=poll)
        if record["AutoMLJobStatus"] != "Completed":
            reason = record.get("FailureReason")
            raise AutoMLJobFailed(
                f"Error for AutoML job {name}: {record['AutoMLJobStatus']}. Reason: "
                f"{reason or record['AutoMLJobSecondaryStatus']}",
                name, record["AutoMLJobStatus"], reason,
            )  # fmt: skip
        return self.describe_auto_ml_job(name)

    def describe_auto_ml_job(self, job_name: str | None = None) -> dict[str, Any]:
        """The job's description. AWS equivalent: DescribeAutoMLJobV2 (same keys)."""
        name = self._job(job_name)
        self._auto_ml_job_desc = describe_job(self._store, name)
        return self._auto_ml_job_desc

    def best_candidate(self, job_name: str | None = None) -> dict[str, Any]:
        """The best candidate so far. AWS equivalent: ``AutoML.best_candidate``."""
        name = self._job(job_name)
        if self._best_candidate and self._best_candidate.get("_job") == name:
            return {k: v for k, v in self._best_candidate.items() if k != "_job"}
        desc = self.describe_auto_ml_job(name)
        if "BestCandidate" not in desc:
            raise LabError(
                f"AutoML job {name} has no best candidate yet (status "
                f"{desc['AutoMLJobStatus']} / {desc['AutoMLJobSecondaryStatus']}"
                + (f": {desc['FailureReason']}" if desc.get("FailureReason") else "")
                + "); wait for a candidate to complete"
            )
        if desc["AutoMLJobStatus"] in TERMINAL_STATUSES:
            self._best_candidate = {**desc["BestCandidate"], "_job": name}
        return desc["BestCandidate"]

    def list_candidates(
        self,
        job_name: str | None = None,
        status_equals: str | None = None,
        candidate_name: str | None = None,
        candidate_arn: str | None = None,
        sort_order: str | None = None,
        sort_by: str | None = None,
        max_results: int | None = None,
    ) -> list[dict[str, Any]]:
        """The job's candidates. AWS equivalent: ListCandidatesForAutoMLJob (same keys)."""
        if candidate_arn is not None:
            raise NotImplementedError("local backend: list_candidates(candidate_arn=...): "
                                      "filter by candidate_name instead")  # fmt: skip
        return list_candidates(self._store, self._job(job_name), status_equals, candidate_name,
                               sort_order, sort_by, max_results)  # fmt: skip

    def stop_auto_ml_job(self, job_name: str | None = None) -> None:
        """Ask the job to stop; finished candidates are kept. AWS equivalent: StopAutoMLJob."""
        stop_job(self._store, self._job(job_name))

    stop = stop_auto_ml_job

    @classmethod
    def attach(cls, auto_ml_job_name: str, sagemaker_session: Any = None) -> LocalAutoML:
        """An AutoML object bound to an existing job. AWS equivalent: ``AutoML.attach``."""
        store = JobStore(cls._lab.home)
        record = store.read(auto_ml_job_name)
        req = record["request"]
        tab = req["AutoMLProblemTypeConfig"]["TabularJobConfig"]
        crit = tab.get("CompletionCriteria", {})
        obj = cls(
            role=req.get("RoleArn"),
            target_attribute_name=tab["TargetAttributeName"],
            output_kms_key=req["OutputDataConfig"].get("KmsKeyId"),
            output_path=req["OutputDataConfig"]["S3OutputPath"],
            base_job_name=auto_ml_job_name,
            compression_type=req["AutoMLJobInputDataConfig"][0].get("CompressionType"),
            sagemaker_session=sagemaker_session,
            problem_type=tab.get("ProblemType"),
            max_candidates=crit.get("MaxCandidates"),
            max_runtime_per_training_job_in_seconds=crit.get("MaxRuntimePerTrainingJobInSeconds"),
            total_job_runtime_in_seconds=crit.get("MaxAutoMLJobRuntimeInSeconds"),
            job_objective=req.get("AutoMLJobObjective") if tab.get("ProblemType") else None,
            generate_candidate_definitions_only=tab.get("GenerateCandidateDefinitionsOnly", False),
            validation_fraction=(req.get("DataSplitConfig") or {}).get("ValidationFraction"),
            mode=tab.get("Mode"),
        )  # fmt: skip
        obj.current_job_name = auto_ml_job_name
        uri = req["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        obj.latest_auto_ml_job = LocalAutoMLJob(obj, auto_ml_job_name, uri)
        obj._auto_ml_job_desc = describe_job(store, auto_ml_job_name)
        return obj

    def create_model(self, name: str, sagemaker_session: Any = None, candidate: Any = None,
                     vpc_config: Any = None, enable_network_isolation: bool = False,
                     model_kms_key: Any = None, predictor_cls: Any = None,
                     inference_response_keys: Any = None) -> Any:  # fmt: skip
        """AWS equivalent: ``AutoML.create_model``; not on the local backend yet."""
        raise NotImplementedError(DEPLOY_LATER.format(call="AutoML.create_model"))

    def deploy(self, initial_instance_count: int, instance_type: str, serializer: Any = None,
               deserializer: Any = None, candidate: Any = None, sagemaker_session: Any = None,
               name: str | None = None, endpoint_name: str | None = None, tags: Any = None,
               wait: bool = True, vpc_config: Any = None, enable_network_isolation: bool = False,
               model_kms_key: Any = None, predictor_cls: Any = None,
               inference_response_keys: Any = None, volume_size: Any = None,
               model_data_download_timeout: Any = None,
               container_startup_health_check_timeout: Any = None) -> Any:  # fmt: skip
        """Serve a candidate (the best by default) behind a local endpoint; returns
        ``predictor_cls(endpoint_name, session)`` or None, as the SDK does.

        AWS equivalent: ``AutoML.deploy`` (CreateModel, CreateEndpointConfig, CreateEndpoint).
        The local endpoint (:mod:`utils.endpoints`) loads the model with
        :func:`utils.local.automl.load_candidate_model` in its own process.
        """
        try:
            from utils.endpoints import deploy_model
            from utils.local.endpoint import ModelSource
        except ImportError as exc:  # pragma: no cover - the endpoint module ships with the labs
            raise NotImplementedError(DEPLOY_LATER.format(call="AutoML.deploy")) from exc
        job = self._job(None)
        if candidate is None:
            candidate = self.best_candidate(job)
        cand_name = candidate["CandidateName"] if isinstance(candidate, dict) else str(candidate)
        source = ModelSource.from_loader("utils.local.automl:load_candidate_model",
                                         job_name=job, candidate_name=cand_name)  # fmt: skip
        load_candidate_model_check(self._lab, job, cand_name)
        return deploy_model(
            self._lab, source, endpoint_name or name_from_base(job[:40], max_length=63),
            inference_response_keys=inference_response_keys,
            initial_instance_count=initial_instance_count, instance_type=instance_type,
            wait=wait, predictor_cls=predictor_cls, serializer=serializer,
            deserializer=deserializer, model_name=name, tags=tags,
        )  # fmt: skip


def load_candidate_model_check(lab: Any, job: str, candidate: str) -> None:
    """Fail in the caller's kernel (not in the endpoint's process) if the model cannot load."""
    from utils.local.automl import _candidate

    _candidate(lab, job, candidate)


class LocalAutoMLJob:
    """``automl.latest_auto_ml_job``: the job started by ``fit``. AWS: ``AutoMLJob``."""

    def __init__(self, automl: LocalAutoML, job_name: str, inputs: str) -> None:
        self.automl = automl
        self.job_name = job_name
        self.inputs = inputs

    def describe(self) -> dict[str, Any]:
        return self.automl.describe_auto_ml_job(self.job_name)

    def wait(self, logs: bool = True) -> dict[str, Any]:
        return self.automl.wait(self.job_name, logs=logs)

    def stop(self) -> None:
        self.automl.stop_auto_ml_job(self.job_name)


def local_automl_class(lab: Any) -> type[LocalAutoML]:
    """``LocalAutoML`` bound to ``lab`` (its home, lake and bucket): what ``lab.AutoML`` is."""
    return type("AutoML", (LocalAutoML,), {"_lab": lab, "__module__": __name__,
                                          "__doc__": LocalAutoML.__doc__})  # fmt: skip


# -- job operations shared by the client and the tests -------------------------------------------
def _spawn_worker(store: JobStore, home: Path, name: str) -> None:
    import psutil

    from utils.config import project_root

    env = os.environ.copy()
    root = str(project_root())
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var, value in WORKER_THREAD_ENV.items():
        env.setdefault(var, value)
    env.pop("MPLBACKEND", None)
    log = open(store.log_path(name), "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "utils.local.automl.worker", "--home", str(home), "--job",
             name],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=root, env=env,
        )  # fmt: skip
    finally:
        log.close()
    _WORKERS[name] = proc
    try:
        created = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:  # it already exited; the worker log says why
        created = None

    def worker(rec: dict[str, Any]) -> None:
        if not rec.get("worker"):
            rec["worker"] = {"pid": proc.pid, "create_time": created,
                             "log": str(store.log_path(name))}  # fmt: skip

    store.update(name, worker)


def _reap() -> None:
    for name, proc in list(_WORKERS.items()):
        if proc.poll() is not None:
            del _WORKERS[name]


def describe_job(store: JobStore, name: str) -> dict[str, Any]:
    """DescribeAutoMLJobV2 for a local job."""
    _reap()
    record = store.read(name)
    req = record["request"]
    out: dict[str, Any] = {
        "AutoMLJobName": record["AutoMLJobName"],
        "AutoMLJobArn": record["AutoMLJobArn"],
        "AutoMLJobInputDataConfig": req["AutoMLJobInputDataConfig"],
        "OutputDataConfig": req["OutputDataConfig"],
        "RoleArn": req["RoleArn"],
    }
    if req.get("AutoMLJobObjective"):
        out["AutoMLJobObjective"] = req["AutoMLJobObjective"]
    out["AutoMLProblemTypeConfig"] = req["AutoMLProblemTypeConfig"]
    out["AutoMLProblemTypeConfigName"] = "Tabular"
    for key in ("CreationTime", "EndTime", "LastModifiedTime", "FailureReason",
                "PartialFailureReasons"):  # fmt: skip
        if record.get(key):
            out[key] = record[key]
    best = record.get("best_candidate")
    if best:
        cands = {c["CandidateName"]: c for c in store.candidates(name)}
        if best in cands:
            out["BestCandidate"] = _public(cands[best])
    out["AutoMLJobStatus"] = record["AutoMLJobStatus"]
    out["AutoMLJobSecondaryStatus"] = record["AutoMLJobSecondaryStatus"]
    for key in ("AutoMLJobArtifacts", "ResolvedAttributes"):
        if record.get(key):
            out[key] = record[key]
    for key in ("DataSplitConfig", "SecurityConfig"):
        if req.get(key):
            out[key] = req[key]
    return _public(out)


def list_candidates(
    store: JobStore,
    name: str,
    status_equals: str | None = None,
    candidate_name: str | None = None,
    sort_order: str | None = None,
    sort_by: str | None = None,
    max_results: int | None = None,
) -> list[dict[str, Any]]:
    """ListCandidatesForAutoMLJob for a local job (all pages)."""
    _reap()
    record = store.read(name)
    cands = store.candidates(name)
    if status_equals is not None:
        allowed = ("Completed", "InProgress", "Failed", "Stopped", "Stopping")
        if status_equals not in allowed:
            raise ValueError(f"status_equals={status_equals!r}: use one of {list(allowed)}")
        cands = [c for c in cands if c["CandidateStatus"] == status_equals]
    if candidate_name is not None:
        cands = [c for c in cands if c["CandidateName"] == candidate_name]
    if sort_order not in (None, "Ascending", "Descending"):
        raise ValueError(f"sort_order={sort_order!r}: use 'Ascending' or 'Descending'")
    if sort_by not in (None, "CreationTime", "Status", "FinalObjectiveMetricValue"):
        raise ValueError(f"sort_by={sort_by!r}: use 'CreationTime', 'Status' or "
                         "'FinalObjectiveMetricValue'")  # fmt: skip
    descending = sort_order == "Descending"
    if sort_by == "FinalObjectiveMetricValue":
        scored = [c for c in cands if c.get("FinalAutoMLJobObjectiveMetric")]
        unscored = [c for c in cands if not c.get("FinalAutoMLJobObjectiveMetric")]
        scored.sort(key=lambda c: c["FinalAutoMLJobObjectiveMetric"]["Value"], reverse=descending)
        cands = scored + unscored
    elif sort_by == "Status":
        cands.sort(key=lambda c: c["CandidateStatus"], reverse=descending)
    else:
        cands.sort(key=lambda c: (c["CreationTime"], c["CandidateName"]), reverse=descending)
    if max_results is not None:
        if not 1 <= int(max_results) <= 100:
            raise ValueError(f"max_results={max_results}: allowed are 1 to 100")
        cands = cands[: int(max_results)]
    del record
    return [_public(c) for c in cands]


def stop_job(store: JobStore, name: str) -> None:
    """StopAutoMLJob: mark the job Stopping and signal its worker."""
    record = store.read(name)
    status = record["AutoMLJobStatus"]
    if status in TERMINAL_STATUSES:
        raise LabError(f"AutoML job {name} is {status}; only a job in progress can be stopped "
                       "(ValidationException)")  # fmt: skip

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


def wait_for_job(store: JobStore, name: str, logs: bool = True, poll: float = 0.5,
                 timeout: float | None = None) -> dict[str, Any]:  # fmt: skip
    """Poll the job until it ends; with ``logs``, a tqdm bar (stage, candidates, best score)
    and the job's events as log lines."""
    started = time.monotonic()
    seen = 0
    shown: tuple = ()
    bar = None
    if logs:
        from tqdm.auto import tqdm

        bar = tqdm(total=None, desc=f"{name}: Starting", unit="candidate", dynamic_ncols=True,
                   leave=True)  # fmt: skip
    try:
        while True:
            _reap()
            record = store.read(name)
            if bar is not None:
                events = store.events(name, seen)
                for ev in events:  # every stage is shown, however fast the job moves
                    stage = f"{ev['stage']}: " if ev.get("stage") else ""
                    bar.write(f"[{ev['time'][11:19]}] {stage}{ev['message']}", file=bar.fp)
                seen += len(events)
                prog = record.get("progress") or {}
                planned = (record.get("ResolvedAttributes", {}).get("CompletionCriteria", {})
                           .get("MaxCandidates"))  # fmt: skip
                done = len([c for c in store.candidates(name)
                            if c["CandidateStatus"] != "InProgress"])  # fmt: skip
                best = prog.get("best_value")
                state = (record["AutoMLJobSecondaryStatus"], done, best, planned)
                if state != shown:
                    shown = state
                    if planned and planned <= 50 and bar.total != planned:
                        bar.total = planned
                    bar.n = done
                    bar.set_description(f"{name}: {record['AutoMLJobSecondaryStatus']}",
                                        refresh=False)  # fmt: skip
                    if best is not None:
                        bar.set_postfix_str(f"best {prog.get('metric')} {best:.4f}",
                                            refresh=False)  # fmt: skip
                    bar.refresh()
            if record["AutoMLJobStatus"] in TERMINAL_STATUSES:
                return record
            if timeout is not None and time.monotonic() - started > timeout:
                raise TimeoutError(f"AutoML job {name} still {record['AutoMLJobStatus']} after "
                                   f"{timeout:g} s")  # fmt: skip
            time.sleep(poll)
    finally:
        if bar is not None:
            bar.close()


__all__ = ["AutoMLJobFailed", "LocalAutoML", "LocalAutoMLJob", "ResourceNotFound",
           "describe_job", "list_candidates", "local_automl_class", "stop_job", "wait_for_job"]  # fmt: skip
