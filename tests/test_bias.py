"""utils.bias: smclarify's metrics in Clarify's analysis.json layout, balancing, clear errors,
and the aws path checked at the level of the CreateProcessingJob request (moto)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from utils import bias

ROLE = "arn:aws:iam::123456789012:role/lab-clarify"


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    from utils import datasets

    return datasets.transform(datasets.generate_synthetic(3000, seed=42)).df


def _smclarify_direct(df: pd.DataFrame) -> list[dict]:
    from smclarify.bias import report

    return report.bias_report(
        df,
        report.FacetColumn("product_category"),
        report.LabelColumn("sentiment", df["sentiment"], [1]),
        stage_type=report.StageType.PRE_TRAINING,
        metrics=["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"],
    )


# -- metrics -------------------------------------------------------------------------------------
def test_metrics_equal_smclarify_on_the_same_frame(reviews):
    analysis = bias.pre_training_bias_report(reviews)
    assert analysis["pre_training_bias_metrics"]["facets"]["product_category"] == (
        _smclarify_direct(reviews)
    )


def test_analysis_has_clarify_layout(reviews):
    analysis = bias.pre_training_bias_report(reviews)
    assert analysis["version"] == "1.0"
    section = analysis["pre_training_bias_metrics"]
    assert section["label"] == "sentiment"
    assert section["label_value_or_threshold"] == "1"
    entries = section["facets"]["product_category"]
    # one entry per category, each compared with all the others, as Clarify does
    assert sorted(e["value_or_threshold"] for e in entries) == sorted(
        reviews["product_category"].unique()
    )
    for entry in entries:
        assert [m["name"] for m in entry["metrics"]] == sorted(bias.METHODS)
        assert all(set(m) == {"name", "description", "value"} for m in entry["metrics"])
    json.dumps(analysis, allow_nan=False)  # valid JSON as written


def test_class_imbalance_is_computed_per_facet_value(reviews):
    table = bias.metrics_table(bias.pre_training_bias_report(reviews))
    assert list(table.columns) == bias.TABLE_COLUMNS
    n_values = reviews["product_category"].nunique()
    assert len(table) == n_values * len(bias.METHODS)
    ci = table[table["metric"] == "CI"].set_index("value_or_threshold")["value"]
    n = len(reviews)
    for category, n_d in reviews["product_category"].value_counts().items():
        assert ci[category] == pytest.approx((n - 2 * n_d) / n)  # (n_a - n_d) / (n_a + n_d)
    dpl = table[table["metric"] == "DPL"].set_index("value_or_threshold")["value"]
    positive = reviews["sentiment"] == 1
    for category in ["Dresses", "Knits"]:
        d = reviews["product_category"] == category
        assert dpl[category] == pytest.approx(positive[~d].mean() - positive[d].mean())


def test_metrics_matrix_and_compare(reviews):
    table = bias.metrics_table(bias.pre_training_bias_report(reviews))
    matrix = bias.metrics_matrix(table)
    assert list(matrix.columns) == list(bias.METHODS)
    assert matrix.index.name == "product_category"
    both = bias.compare({"unbalanced": table, "balanced": table})
    assert list(both.columns) == ["value_or_threshold", "metric", "unbalanced", "balanced"]
    assert (both["unbalanced"] == both["balanced"]).all()


def test_infinity_from_clarify_reads_as_float_inf():
    analysis = {"pre_training_bias_metrics": {"label": "s", "label_value_or_threshold": "1",
                "facets": {"f": [{"value_or_threshold": "a", "metrics": [
                    {"name": "KL", "description": "KL", "value": "Infinity"},
                    {"name": "JS", "description": "JS", "value": None, "error": "boom"}]}]}}}  # fmt: skip
    table = bias.metrics_table(analysis)
    assert table["value"].iloc[0] == float("inf")
    assert table["error"].iloc[1] == "boom"
    with pytest.raises(bias.BiasInputError, match="pre_training_bias_metrics"):
        bias.metrics_table({"version": "1.0"})


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, kwargs, message",
    [
        (lambda d: d, {"facet": "category"}, "facet column 'category' does not exist"),
        (lambda d: d, {"label": "stars"}, "label column 'stars' does not exist"),
        (lambda d: d, {"label_values": [5]}, r"\[5\] do not occur .*'-1', '0', '1'"),
        (lambda d: d.iloc[0:0], {}, "empty"),
        (lambda d: d.assign(product_category="Dresses"), {}, "single value"),
        (lambda d: d.assign(sentiment=d["sentiment"].where(d.index > 2)), {}, "3 row"),
        (lambda d: d, {"label_values": []}, "label_values is empty"),
    ],
    ids=[
        "facet",
        "label",
        "label-value",
        "empty",
        "one-facet-value",
        "missing-labels",
        "no-values",
    ],
)
def test_bad_input_fails_clearly(reviews, change, kwargs, message):
    with pytest.raises(bias.BiasInputError, match=message):
        bias.pre_training_bias_report(change(reviews.copy()), **kwargs)


def test_label_value_given_as_text_is_accepted(reviews):
    a = bias.pre_training_bias_report(reviews, label_values=["1"])
    b = bias.pre_training_bias_report(reviews, label_values=[1])
    assert a["pre_training_bias_metrics"]["facets"] == b["pre_training_bias_metrics"]["facets"]


def test_unknown_method_fails_clearly(reviews):
    with pytest.raises(bias.BiasInputError, match="DI"):
        bias.pre_training_bias_report(reviews, methods=["CI", "DI"])


# -- balancing -----------------------------------------------------------------------------------
def _is_sub_multiset(part: pd.DataFrame, whole: pd.DataFrame) -> bool:
    cols = list(whole.columns)
    have = whole.value_counts(cols)
    need = part[cols].value_counts(cols)
    return bool((need <= have.reindex(need.index).fillna(0)).all())


def test_balance_by_sentiment(reviews):
    balanced = bias.balance(reviews, seed=42)
    counts = balanced["sentiment"].value_counts()
    assert counts.nunique() == 1
    assert counts.iloc[0] == reviews["sentiment"].value_counts().min()
    assert list(balanced.columns) == list(reviews.columns)
    assert _is_sub_multiset(balanced, reviews)
    pd.testing.assert_frame_equal(balanced, bias.balance(reviews, seed=42))  # seeded
    assert not balanced.equals(bias.balance(reviews, seed=43))


def test_balance_by_category_and_sentiment_warns_about_absent_groups(reviews):
    sample = reviews[~((reviews["product_category"] == "Trend") & (reviews["sentiment"] == 0))]
    with pytest.warns(UserWarning, match=r"\('Trend', 0\)"):
        balanced = bias.balance(sample, by=["product_category", "sentiment"], seed=1)
    sizes = balanced.groupby(["product_category", "sentiment"]).size()
    assert sizes.nunique() == 1
    assert sizes.iloc[0] == sample.groupby(["product_category", "sentiment"]).size().min()
    assert _is_sub_multiset(balanced, sample)
    assert (
        bias.group_counts(balanced, ["product_category", "sentiment"])["Dresses|1"]
        == (sizes.iloc[0])
    )


@pytest.mark.parametrize(
    "frame, by, message",
    [
        (pd.DataFrame({"sentiment": []}), ["sentiment"], "empty"),
        (pd.DataFrame({"sentiment": [1, 0]}), ["stars"], "'stars'"),
        (pd.DataFrame({"sentiment": [1, None]}), ["sentiment"], "1 row"),
        (pd.DataFrame({"sentiment": [1, 0]}), [], "name the column"),
    ],
)
def test_balance_bad_input(frame, by, message):
    with pytest.raises(bias.BiasInputError, match=message):
        bias.balance(frame, by=by)


# -- the lake --------------------------------------------------------------------------------
def test_prerequisite_checks_say_what_is_missing(local_lab):
    from utils import prereqs

    assert "data/balanced/" in prereqs.balanced_data_ready(local_lab)
    assert "'reviews'" in prereqs.reviews_table_ready(local_lab)


# -- aws: the Clarify processing job, offline with moto --------------------------------------
@pytest.fixture
def clarify_lab(monkeypatch):
    import boto3
    from moto import mock_aws

    import utils

    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lab-clarify")
        yield utils.connect("aws", bucket="lab-clarify", region="us-east-1", role=ROLE)


def _capture_requests(processor) -> list[dict]:
    captured: list[dict] = []
    events = processor.sagemaker_session.sagemaker_client.meta.events
    events.register("provide-client-params.sagemaker.CreateProcessingJob",
                    lambda params, **_: captured.append(params))  # fmt: skip
    return captured


def test_aws_runs_the_course_clarify_job(clarify_lab, reviews):
    """The course's calls on the aws backend send the request Clarify expects (moto records it)."""
    import boto3
    from sagemaker import clarify

    lab = clarify_lab
    data_uri = lab.s3_uri("bias/unbalanced/r.csv")
    lab.wr.s3.to_csv(reviews.head(200), data_uri, index=False)
    out = lab.s3_uri("bias/generated_bias_report/unbalanced")
    data_config = clarify.DataConfig(s3_data_input_path=data_uri, s3_output_path=out,
                                     label="sentiment", headers=list(reviews.columns),
                                     dataset_type="text/csv")  # fmt: skip
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="product_category")
    processor = clarify.SageMakerClarifyProcessor(role=lab.role, instance_count=1,
                                                  instance_type="ml.m5.large",
                                                  sagemaker_session=lab.session)  # fmt: skip
    requests = _capture_requests(processor)
    processor.run_pre_training_bias(data_config=data_config, data_bias_config=bias_config,
                                    methods=list(bias.METHODS), wait=False, logs=False,
                                    job_name="clarify-unbalanced")  # fmt: skip
    (request,) = requests
    assert request["ProcessingJobName"] == "clarify-unbalanced"
    assert request["RoleArn"] == ROLE
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}  # fmt: skip
    assert "sagemaker-clarify-processing" in request["AppSpecification"]["ImageUri"]
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["dataset"]["S3Uri"] == data_uri
    assert inputs["analysis_config"]["S3Uri"] == f"{out}/analysis_config.json"
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "analysis_result" and output["S3Output"]["S3Uri"] == out

    # the analysis config the SDK uploaded is the one the local Clarify reads
    body = boto3.client("s3").get_object(Bucket="lab-clarify",
                                         Key="bias/generated_bias_report/unbalanced/analysis_config.json")  # fmt: skip
    sent = json.loads(body["Body"].read())
    assert sent == bias.analysis_config(list(reviews.columns))
    assert sent["methods"]["pre_training_bias"]["methods"] == list(bias.METHODS)
    assert sent["facet"] == [{"name_or_index": "product_category"}]
    assert sent["label_values_or_threshold"] == [1]
    described = processor.latest_job.describe()
    assert described["ProcessingJobName"] == "clarify-unbalanced"
