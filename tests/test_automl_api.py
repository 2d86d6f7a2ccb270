"""lab.AutoML's interface: the sagemaker SDK's signatures, the real API's response keys, and the
aws path (CreateAutoMLJobV2 et al.) against moto, with botocore's Stubber where moto has nothing."""

from __future__ import annotations

import datetime as dt
import inspect
import os

import botocore.session
import pytest

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

METHODS = ["fit", "describe_auto_ml_job", "best_candidate", "list_candidates", "attach",
           "create_model", "deploy"]  # fmt: skip


def _service_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def _shape_keys(operation: str) -> set[str]:
    return set(_service_model().operation_model(operation).output_shape.members)


def _candidate_shape():
    out = _service_model().operation_model("ListCandidatesForAutoMLJob").output_shape
    return out.members["Candidates"].member


def _params(func) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(func).parameters)
    params.pop("self", None)
    params.pop("cls", None)
    return params


# -- signature parity ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["__init__", *METHODS])
def test_local_automl_signature_matches_the_sdk(method):
    from sagemaker.automl.automl import AutoML

    from utils.local.automl import LocalAutoML

    real = _params(getattr(AutoML, method))
    local = _params(getattr(LocalAutoML, method))
    assert list(local) == list(real), f"AutoML.{method}: parameter names or order differ"
    for name, param in local.items():
        assert param.default == real[name].default, (
            f"AutoML.{method}({name}): default {param.default!r} != {real[name].default!r}"
        )
        assert param.kind == real[name].kind, f"AutoML.{method}({name}): kind differs"


def test_aws_automl_signature_matches_the_sdk(aws_lab):
    from sagemaker.automl.automl import AutoML

    cls = aws_lab.AutoML
    assert issubclass(cls, AutoML)
    for method in ["__init__", *METHODS]:
        real = _params(getattr(AutoML, method))
        ours = _params(getattr(cls, method))
        assert list(ours) == list(real), method
        assert all(ours[n].default == real[n].default for n in ours), method


def test_attach_is_a_classmethod_on_both_backends(local_lab, aws_lab):
    for cls in (local_lab.AutoML, aws_lab.AutoML):
        assert isinstance(inspect.getattr_static(cls, "attach"), classmethod)


# -- constructor checks, as the SDK and the API make them ----------------------------------------
def test_problem_type_and_objective_go_together(local_lab):
    with pytest.raises(ValueError, match="Either both of them should be provided"):
        local_lab.AutoML(target_attribute_name="sentiment", problem_type="Regression")
    with pytest.raises(ValueError, match="MetricName"):
        local_lab.AutoML(target_attribute_name="y", problem_type="Regression",
                         job_objective={"MetricName": "Accuracy"})  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_candidates": 0}, "1 to 750"),
        ({"max_candidates": 751}, "1 to 750"),
        ({"total_job_runtime_in_seconds": 0}, "at least 1"),
        ({"mode": "FAST"}, "AUTO"),
        ({"validation_fraction": 1.5}, "share"),
        ({"output_path": "autopilot/"}, "s3://"),
    ],
)
def test_bad_constructor_arguments_are_refused(local_lab, kwargs, match):
    with pytest.raises(ValueError, match=match):
        local_lab.AutoML(target_attribute_name="sentiment", **kwargs)


def test_create_model_points_to_load_candidate_model(local_lab):
    automl = local_lab.AutoML(target_attribute_name="sentiment")
    with pytest.raises(NotImplementedError, match="load_candidate_model"):
        automl.create_model(name="m")
    with pytest.raises(ValueError, match="fit"):  # deploy needs a job
        automl.deploy(initial_instance_count=1, instance_type="ml.m5.large")


def test_unknown_job_is_resource_not_found(local_lab):
    from utils.local.automl import ResourceNotFound

    automl = local_lab.AutoML(target_attribute_name="sentiment")
    with pytest.raises(ResourceNotFound, match="no-such-job"):
        automl.describe_auto_ml_job("no-such-job")


def test_name_from_base_matches_the_sdk():
    from sagemaker.utils import base_from_name

    from utils.local.automl.client import name_from_base

    name = name_from_base("automl-dm", max_length=32)
    assert len(name) <= 32 and base_from_name(name) == name[: name.index("-20")]


# -- response shapes against botocore's service model --------------------------------------------
def _fake_job(lab, name="shape-job", with_candidate=True):
    """A stored job record as the worker writes it, without running a worker."""
    from utils.local.automl.store import JobStore, iso

    store = JobStore(lab.home)
    automl = lab.AutoML(target_attribute_name="sentiment", output_path=lab.s3_uri("autopilot"),
                        max_candidates=3)  # fmt: skip
    record = {
        "AutoMLJobName": name,
        "AutoMLJobArn": f"arn:aws:sagemaker:us-east-1:000000000000:automl-job/{name}",
        "AutoMLJobStatus": "Completed", "AutoMLJobSecondaryStatus": "MaxCandidatesReached",
        "CreationTime": iso(), "LastModifiedTime": iso(), "EndTime": iso(),
        "request": automl._request(name, lab.s3_uri("data/train.csv")), "region": "us-east-1",
        "local": {}, "best_candidate": f"{name}-002-abcdef12",
        "AutoMLJobArtifacts": {"CandidateDefinitionNotebookLocation": "s3://b/x.ipynb",
                               "DataExplorationNotebookLocation": "s3://b/y.ipynb"},
        "ResolvedAttributes": {"AutoMLJobObjective": {"MetricName": "Accuracy"},
                               "CompletionCriteria": {"MaxCandidates": 3},
                               "AutoMLProblemTypeResolvedAttributes": {"TabularResolvedAttributes":
                                                                       {"ProblemType": "MulticlassClassification"}}},
    }  # fmt: skip
    store.create(name, record)
    if with_candidate:
        for i, value in enumerate([0.61, 0.66, 0.59], start=1):
            store.write_candidate(name, {
                "CandidateName": f"{name}-{i:03d}-abcdef1{i}",
                "FinalAutoMLJobObjectiveMetric": {"Type": "Maximize",
                                                  "MetricName": "validation:accuracy",
                                                  "Value": value, "StandardMetricName": "Accuracy"},
                "ObjectiveStatus": "Succeeded", "CandidateSteps": [], "CandidateStatus":
                "Completed" if i != 3 else "Failed", "InferenceContainers": [],
                "CreationTime": iso(dt.datetime(2024, 1, 1, 0, 0, i, tzinfo=dt.UTC)),
                "LastModifiedTime": iso(), "EndTime": iso(),
                "CandidateProperties": {"CandidateMetrics": []}, "_local": {},
            })  # fmt: skip
    automl.current_job_name = name
    return automl


def test_describe_keys_are_describe_auto_ml_job_v2_keys(local_lab):
    automl = _fake_job(local_lab)
    desc = automl.describe_auto_ml_job()
    allowed = _shape_keys("DescribeAutoMLJobV2")
    assert set(desc) <= allowed, set(desc) - allowed
    required = set(_service_model().operation_model("DescribeAutoMLJobV2")
                   .output_shape.required_members)  # fmt: skip
    assert required <= set(desc), required - set(desc)
    assert isinstance(desc["CreationTime"], dt.datetime)
    best = set(desc["BestCandidate"])
    assert best <= set(_candidate_shape().members)
    assert set(_candidate_shape().required_members) <= best


def test_list_candidates_keys_sorting_and_filters(local_lab):
    automl = _fake_job(local_lab)
    shape = _candidate_shape()
    cands = automl.list_candidates()
    assert [c["CandidateName"][-3:] for c in cands] == ["f11", "f12", "f13"]  # CreationTime asc
    for c in cands:
        assert set(c) <= set(shape.members) and set(shape.required_members) <= set(c)
        assert not any(k.startswith("_") for k in c)
    by_metric = automl.list_candidates(sort_by="FinalObjectiveMetricValue", sort_order="Descending")
    values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in by_metric]
    assert values == sorted(values, reverse=True)
    assert len(automl.list_candidates(status_equals="Completed")) == 2
    assert len(automl.list_candidates(max_results=1)) == 1
    only = automl.list_candidates(candidate_name=cands[1]["CandidateName"])
    assert [c["CandidateName"] for c in only] == [cands[1]["CandidateName"]]
    with pytest.raises(ValueError, match="sort_by"):
        automl.list_candidates(sort_by="Score")
    assert automl.best_candidate()["CandidateName"].endswith("-002-abcdef12")


def test_botocore_shape_names_the_course_keys():
    """The keys the course reads exist in the real API's model (guards against renames)."""
    keys = _shape_keys("DescribeAutoMLJobV2")
    assert {"AutoMLJobStatus", "AutoMLJobSecondaryStatus", "BestCandidate",
            "AutoMLJobArtifacts", "FailureReason", "ResolvedAttributes"} <= keys  # fmt: skip
    artifacts = _service_model().shape_for("AutoMLJobArtifacts").members
    assert set(artifacts) == {"CandidateDefinitionNotebookLocation",
                              "DataExplorationNotebookLocation"}  # fmt: skip
    secondary = _service_model().shape_for("AutoMLJobSecondaryStatus").enum
    from utils.local.automl.constants import FINAL_SECONDARY, STAGES_ENSEMBLING, STAGES_HPO

    assert set(STAGES_HPO + STAGES_ENSEMBLING + FINAL_SECONDARY) <= set(secondary)


# -- the aws path, offline -------------------------------------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


def _aws_automl(aws_lab, **kwargs):
    base = dict(role=ROLE, target_attribute_name="sentiment",
                output_path=aws_lab.s3_uri("autopilot"), max_candidates=3,
                max_runtime_per_training_job_in_seconds=1200,
                total_job_runtime_in_seconds=7200)  # fmt: skip
    return aws_lab.AutoML(**{**base, **kwargs})


def test_aws_fit_creates_a_v2_job_describes_stops_and_attaches(aws_lab):
    # moto's CreateAutoMLJobV2 needs ProblemType (the real service infers it when absent)
    automl = _aws_automl(aws_lab, problem_type="MulticlassClassification",
                         job_objective={"MetricName": "Accuracy"})  # fmt: skip
    automl.fit(inputs=aws_lab.s3_uri("data/balanced/train.csv"), job_name="automl-dm-1",
               wait=False, logs=False)  # fmt: skip
    desc = automl.describe_auto_ml_job()
    assert desc["AutoMLJobName"] == "automl-dm-1"
    assert desc["AutoMLProblemTypeConfigName"] == "Tabular"
    tab = desc["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert tab["CompletionCriteria"] == {"MaxCandidates": 3,
                                         "MaxRuntimePerTrainingJobInSeconds": 1200,
                                         "MaxAutoMLJobRuntimeInSeconds": 7200}  # fmt: skip
    assert tab["TargetAttributeName"] == "sentiment"
    assert desc["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"].endswith(
        "data/balanced/train.csv"
    )
    assert "CandidateName" in automl.best_candidate()
    automl.stop_auto_ml_job()
    assert automl.describe_auto_ml_job()["AutoMLJobStatus"] == "Stopped"
    again = aws_lab.AutoML.attach("automl-dm-1")
    assert again.current_job_name == "automl-dm-1"
    assert (again.max_candidate, again.target_attribute_name) == (3, "sentiment")
    assert again.output_path == aws_lab.s3_uri("autopilot")


def test_aws_duplicate_job_name_is_refused(aws_lab):
    from botocore.exceptions import ClientError

    automl = _aws_automl(aws_lab, problem_type="BinaryClassification",
                         job_objective={"MetricName": "F1"})  # fmt: skip
    automl.fit(inputs=aws_lab.s3_uri("d.csv"), job_name="twice", wait=False, logs=False)
    with pytest.raises(ClientError, match="already exists"):
        automl.fit(inputs=aws_lab.s3_uri("d.csv"), job_name="twice", wait=False, logs=False)


def test_aws_course_call_is_a_valid_v2_request(aws_lab):
    """The course's call (no problem type, no objective) builds a request botocore accepts."""
    from botocore.stub import Stubber

    automl = _aws_automl(aws_lab)
    request = automl.v2_request(aws_lab.s3_uri("data/train.csv"), "automl-dm-2")
    assert "ProblemType" not in request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    client = automl.sagemaker_session.sagemaker_client
    with Stubber(client) as stub:
        stub.add_response("create_auto_ml_job_v2", {"AutoMLJobArn": "arn:aws:sagemaker:us-east-1:"
                                                    "123456789012:automl-job/automl-dm-2"},
                          request)  # fmt: skip
        automl.fit(inputs=aws_lab.s3_uri("data/train.csv"), job_name="automl-dm-2", wait=False,
                   logs=False)  # fmt: skip
        stub.assert_no_pending_responses()


def test_aws_list_candidates_with_stubber(aws_lab):
    from botocore.stub import Stubber

    automl = _aws_automl(aws_lab)
    automl.current_job_name = "automl-dm-3"
    candidate = {
        "CandidateName": "automl-dm-3-001-9b10d88c",
        "FinalAutoMLJobObjectiveMetric": {"MetricName": "validation:accuracy", "Value": 0.61},
        "ObjectiveStatus": "Succeeded",
        "CandidateSteps": [{"CandidateStepType": "AWS::SageMaker::TrainingJob",
                            "CandidateStepArn": "arn:aws:sagemaker:us-east-1:1:training-job/x",
                            "CandidateStepName": "x"}],
        "CandidateStatus": "Completed",
        "CreationTime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "LastModifiedTime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    }  # fmt: skip
    client = automl.sagemaker_session.sagemaker_client
    with Stubber(client) as stub:
        stub.add_response("list_candidates_for_auto_ml_job", {"Candidates": [candidate]},
                          {"AutoMLJobName": "automl-dm-3",
                           "SortBy": "FinalObjectiveMetricValue"})  # fmt: skip
        out = automl.list_candidates(sort_by="FinalObjectiveMetricValue")
    assert out[0]["CandidateName"] == "automl-dm-3-001-9b10d88c"


def test_aws_wait_raises_with_the_failure_reason(aws_lab):
    from botocore.stub import Stubber
    from sagemaker.exceptions import UnexpectedStatusException

    automl = _aws_automl(aws_lab)
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    response = {
        "AutoMLJobName": "automl-dm-4", "AutoMLJobArn": "arn:aws:sagemaker:us-east-1:1:automl-job/a",
        "AutoMLJobInputDataConfig": [{"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://b/d.csv"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://b/autopilot"}, "RoleArn": ROLE,
        "CreationTime": now, "LastModifiedTime": now, "AutoMLJobStatus": "Failed",
        "AutoMLJobSecondaryStatus": "Failed",
        "FailureReason": "ClientError: The target attribute name sentiment was not found",
    }  # fmt: skip
    client = automl.sagemaker_session.sagemaker_client
    with Stubber(client) as stub:
        stub.add_response("describe_auto_ml_job_v2", response, {"AutoMLJobName": "automl-dm-4"})
        with pytest.raises(UnexpectedStatusException, match="target attribute name"):
            automl.wait("automl-dm-4", logs=False, poll=0)
