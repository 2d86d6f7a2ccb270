"""``lab.AutoML`` on the aws backend: the sagemaker SDK's ``AutoML``, driving the V2 API.

AWS equivalent: ``sagemaker.automl.automl.AutoML`` itself, whose ``fit`` calls CreateAutoMLJob
(V1) and whose ``describe_auto_ml_job`` calls DescribeAutoMLJob (V1). SageMaker now documents
the V2 API (CreateAutoMLJobV2, DescribeAutoMLJobV2) for tabular jobs and moto mocks only V2, so
this subclass keeps the SDK's constructor, names and defaults and maps the course's v1-style
calls onto V2:

- ``fit`` -> CreateAutoMLJobV2 with a ``TabularJobConfig`` (same completion criteria, mode,
  problem type, objective) and waits by polling DescribeAutoMLJobV2 with a progress bar;
- ``describe_auto_ml_job`` / ``best_candidate`` / ``attach`` -> DescribeAutoMLJobV2;
- ``list_candidates`` -> ListCandidatesForAutoMLJob (the same call for V1 and V2 jobs);
- ``stop_auto_ml_job`` -> StopAutoMLJob; ``deploy`` / ``create_model`` -> the SDK's own.
"""

from __future__ import annotations

import os
import time
from typing import Any

from utils.errors import ConfigError

TERMINAL = ("Completed", "Failed", "Stopped")


def _execution_role(lab: Any) -> str | None:
    if lab.config.role:
        return lab.config.role
    try:
        import sagemaker

        return sagemaker.get_execution_role()
    except Exception:  # noqa: BLE001 - outside SageMaker there is no execution role
        return None


def aws_automl_class(lab: Any) -> type:
    """The sagemaker SDK's ``AutoML``, bound to ``lab`` (region, role), speaking the V2 API."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker.automl.automl import AutoML

    class AwsAutoML(AutoML):
        """``sagemaker.automl.automl.AutoML`` whose jobs are created and described with V2."""

        _lab = lab

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
            if sagemaker_session is None:
                import boto3
                from sagemaker.session import Session

                sagemaker_session = Session(boto3.Session(region_name=lab.region))
            role = role or _execution_role(lab)
            if not role:
                raise ConfigError(
                    "AutoML on AWS needs an IAM role for SageMaker: pass role=..., set ROLE / "
                    "LAB_ROLE, or run in SageMaker Studio (sagemaker.get_execution_role())"
                )
            super().__init__(
                role=role, target_attribute_name=target_attribute_name,
                output_kms_key=output_kms_key, output_path=output_path,
                base_job_name=base_job_name, compression_type=compression_type,
                sagemaker_session=sagemaker_session, volume_kms_key=volume_kms_key,
                encrypt_inter_container_traffic=encrypt_inter_container_traffic,
                vpc_config=vpc_config, problem_type=problem_type, max_candidates=max_candidates,
                max_runtime_per_training_job_in_seconds=max_runtime_per_training_job_in_seconds,
                total_job_runtime_in_seconds=total_job_runtime_in_seconds,
                job_objective=job_objective,
                generate_candidate_definitions_only=generate_candidate_definitions_only,
                tags=tags, content_type=content_type, s3_data_type=s3_data_type,
                feature_specification_s3_uri=feature_specification_s3_uri,
                validation_fraction=validation_fraction, mode=mode,
                auto_generate_endpoint_name=auto_generate_endpoint_name,
                endpoint_name=endpoint_name,
                sample_weight_attribute_name=sample_weight_attribute_name,
            )  # fmt: skip

        @property
        def _client(self) -> Any:
            return self.sagemaker_session.sagemaker_client

        def _job(self, job_name: str | None) -> str:
            name = job_name or self.current_job_name
            if not name:
                raise ValueError("no job_name given and this AutoML object has not run fit()")
            return name

        def v2_request(self, inputs: Any, job_name: str) -> dict[str, Any]:
            """The CreateAutoMLJobV2 request for this AutoML's settings and ``inputs``."""
            from sagemaker.automl.automlv2 import AutoMLDataChannel, AutoMLTabularConfig

            uris = inputs if isinstance(inputs, list) else [inputs]
            channels = []
            for i, item in enumerate(uris):
                if hasattr(item, "to_request_dict"):  # AutoMLInput
                    for channel in item.to_request_dict():
                        channel.pop("TargetAttributeName", None)
                        channel.pop("SampleWeightAttributeName", None)
                        channels.append(channel)
                    continue
                if not isinstance(item, str) or not item.startswith("s3://"):
                    raise ValueError(f"fit(inputs=...): expected an s3:// URI, got {item!r}")
                channels.append(AutoMLDataChannel(
                    s3_data_type=self.s3_data_type or "S3Prefix", s3_uri=item,
                    channel_type="training" if i == 0 else "validation",
                    compression_type=self.compression_type, content_type=self.content_type,
                ).to_request_dict())  # fmt: skip
            problem = AutoMLTabularConfig(
                target_attribute_name=self.target_attribute_name,
                feature_specification_s3_uri=self.feature_specification_s3_uri,
                generate_candidate_definitions_only=self.generate_candidate_definitions_only
                or None,
                mode=self.mode, problem_type=self.problem_type,
                sample_weight_attribute_name=self.sample_weight_attribute_name,
                max_candidates=self.max_candidate,
                max_runtime_per_training_job_in_seconds=self.max_runtime_per_training_job_in_seconds,
                max_total_job_runtime_in_seconds=self.total_job_runtime_in_seconds,
            ).to_request_dict()  # fmt: skip
            output = {"S3OutputPath": self.output_path}
            if self.output_kms_key:
                output["KmsKeyId"] = self.output_kms_key
            request: dict[str, Any] = {
                "AutoMLJobName": job_name,
                "AutoMLJobInputDataConfig": channels,
                "OutputDataConfig": output,
                "AutoMLProblemTypeConfig": problem,
                "RoleArn": self.sagemaker_session.expand_role(self.role),
            }
            if self.job_objective:
                request["AutoMLJobObjective"] = {"MetricName": self.job_objective["MetricName"]}
            security: dict[str, Any] = {}
            if self.volume_kms_key:
                security["VolumeKmsKeyId"] = self.volume_kms_key
            if self.vpc_config:
                security["VpcConfig"] = self.vpc_config
            if self.encrypt_inter_container_traffic:
                security["EnableInterContainerTrafficEncryption"] = True
            if security:
                request["SecurityConfig"] = security
            if self.validation_fraction is not None:
                request["DataSplitConfig"] = {"ValidationFraction": self.validation_fraction}
            deploy: dict[str, Any] = {}
            if self.auto_generate_endpoint_name is not None:
                deploy["AutoGenerateEndpointName"] = self.auto_generate_endpoint_name
            if not self.auto_generate_endpoint_name and self.endpoint_name is not None:
                deploy["EndpointName"] = self.endpoint_name
            if deploy:
                request["ModelDeployConfig"] = deploy
            if self.tags:
                request["Tags"] = self.tags
            return request

        def fit(self, inputs: Any = None, wait: bool = True, logs: bool = True,
                job_name: str | None = None) -> None:  # fmt: skip
            """Create the job with CreateAutoMLJobV2; wait for it if ``wait``.

            AWS equivalent: ``AutoML.fit`` (which would call the V1 CreateAutoMLJob).
            """
            import logging

            if not wait and logs:
                logs = False
                logging.getLogger(__name__).warning(
                    "Setting logs to False. logs is only meaningful when wait is True."
                )
            if isinstance(inputs, str) and not inputs.startswith("s3://"):
                inputs = self.sagemaker_session.upload_data(inputs, key_prefix="auto-ml-input-data")
            if inputs is None:
                raise ValueError("fit(inputs=...): give the s3:// URI of the training CSV")
            if self.target_attribute_name is None:
                raise ValueError("TargetAttributeName cannot be None.")
            self._prepare_for_auto_ml_job(job_name=job_name)
            self._best_candidate = None
            self._auto_ml_job_desc = None
            request = self.v2_request(inputs, self.current_job_name)
            self._client.create_auto_ml_job_v2(**request)
            self.latest_auto_ml_job = self.current_job_name
            if wait:
                self.wait(self.current_job_name, logs=logs)

        def wait(self, job_name: str | None = None, logs: bool = True,
                 poll: float = 30.0) -> dict[str, Any]:  # fmt: skip
            """Poll DescribeAutoMLJobV2 until the job ends (a tqdm bar with ``logs``)."""
            from sagemaker.exceptions import UnexpectedStatusException

            name = self._job(job_name)
            bar = None
            if logs:
                from tqdm.auto import tqdm

                bar = tqdm(total=None, desc=f"{name}: Starting", unit="check")
            try:
                while True:
                    desc = self.describe_auto_ml_job(name)
                    if bar is not None:
                        bar.set_description(f"{name}: {desc['AutoMLJobSecondaryStatus']}")
                        bar.update(1)
                    if desc["AutoMLJobStatus"] in TERMINAL:
                        break
                    time.sleep(poll)
            finally:
                if bar is not None:
                    bar.close()
            if desc["AutoMLJobStatus"] != "Completed":
                reason = desc.get("FailureReason", "(No reason provided)")
                raise UnexpectedStatusException(
                    message=f"Error for AutoML job {name}: {desc['AutoMLJobStatus']}. "
                    f"Reason: {reason}",
                    allowed_statuses=["Completed"], actual_status=desc["AutoMLJobStatus"],
                )  # fmt: skip
            return desc

        def describe_auto_ml_job(self, job_name: str | None = None) -> dict[str, Any]:
            """AWS: DescribeAutoMLJobV2 (the SDK's ``AutoML`` would call the V1 API)."""
            name = self._job(job_name)
            self._auto_ml_job_desc = self._client.describe_auto_ml_job_v2(AutoMLJobName=name)
            return self._auto_ml_job_desc

        def best_candidate(self, job_name: str | None = None) -> dict[str, Any]:
            """The job's BestCandidate, from DescribeAutoMLJobV2."""
            name = self._job(job_name)
            desc = self._auto_ml_job_desc
            if desc is None or desc.get("AutoMLJobName") != name or "BestCandidate" not in desc:
                desc = self.describe_auto_ml_job(name)
            if "BestCandidate" not in desc:
                raise KeyError(f"AutoML job {name} has no BestCandidate yet "
                               f"({desc['AutoMLJobStatus']})")  # fmt: skip
            self._best_candidate = desc["BestCandidate"]
            return self._best_candidate

        def stop_auto_ml_job(self, job_name: str | None = None) -> None:
            """AWS: StopAutoMLJob (the SDK's ``AutoML`` has no stop call)."""
            self._client.stop_auto_ml_job(AutoMLJobName=self._job(job_name))

        stop = stop_auto_ml_job

        @classmethod
        def attach(cls, auto_ml_job_name: str, sagemaker_session: Any = None) -> Any:
            """An AutoML bound to an existing job, from DescribeAutoMLJobV2."""
            if sagemaker_session is None:
                import boto3
                from sagemaker.session import Session

                sagemaker_session = Session(boto3.Session(region_name=lab.region))
            desc = sagemaker_session.sagemaker_client.describe_auto_ml_job_v2(
                AutoMLJobName=auto_ml_job_name
            )
            tab = desc.get("AutoMLProblemTypeConfig", {}).get("TabularJobConfig", {})
            crit = tab.get("CompletionCriteria", {})
            channel = desc["AutoMLJobInputDataConfig"][0]
            obj = cls(
                role=desc["RoleArn"], target_attribute_name=tab.get("TargetAttributeName"),
                output_kms_key=desc["OutputDataConfig"].get("KmsKeyId"),
                output_path=desc["OutputDataConfig"]["S3OutputPath"],
                base_job_name=auto_ml_job_name,
                compression_type=channel.get("CompressionType"),
                sagemaker_session=sagemaker_session,
                problem_type=tab.get("ProblemType"),
                max_candidates=crit.get("MaxCandidates"),
                max_runtime_per_training_job_in_seconds=crit.get(
                    "MaxRuntimePerTrainingJobInSeconds"),
                total_job_runtime_in_seconds=crit.get("MaxAutoMLJobRuntimeInSeconds"),
                job_objective=desc.get("AutoMLJobObjective") if tab.get("ProblemType") else None,
                generate_candidate_definitions_only=tab.get("GenerateCandidateDefinitionsOnly",
                                                            False),
                content_type=channel.get("ContentType"),
                validation_fraction=(desc.get("DataSplitConfig") or {}).get("ValidationFraction"),
                mode=tab.get("Mode"),
            )  # fmt: skip
            obj.current_job_name = auto_ml_job_name
            obj.latest_auto_ml_job = auto_ml_job_name
            obj._auto_ml_job_desc = desc
            return obj

    AwsAutoML.__name__ = AwsAutoML.__qualname__ = "AutoML"
    return AwsAutoML
