"""utils.bias: smclarify's metrics in Clarify's analysis.json layout, balancing, clear errors,
and the aws path checked at the level of the CreateProcessingJob request (moto)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from utils import bias
from utils.errors import ConfigError

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


# -- the lake: local run and files ---------------------------------------------------------------
def test_local_run_writes_clarify_files(local_lab, reviews):
    wr = local_lab.wr
    data_uri = local_lab.s3_uri("data/transformed/reviews.csv")
    wr.s3.to_csv(reviews, data_uri, index=False)
    out = bias.report_uri(local_lab, "unbalanced")
    assert out == f"s3://{local_lab.bucket}/bias/generated_bias_report/unbalanced"
    analysis = bias.run_pre_training_bias(local_lab, local_lab.s3_uri("data/transformed/"), out)
    assert wr.s3.list_objects(out + "/") == [f"{out}/analysis.json", f"{out}/analysis_config.json"]
    assert bias.read_analysis(local_lab, out) == json.loads(json.dumps(analysis))
    config = json.loads(local_lab.local_path(f"{out}/analysis_config.json").read_text())
    assert config == bias.analysis_config(list(reviews.columns))
    # the frame read back from the lake gives smclarify's numbers
    facets = analysis["pre_training_bias_metrics"]["facets"]["product_category"]
    assert facets == _smclarify_direct(wr.s3.read_csv(data_uri))


def test_write_balanced_csv(local_lab, reviews):
    balanced = bias.balance(reviews, seed=3)
    uri = bias.write_balanced(local_lab, balanced.assign(extra=1))
    assert uri == local_lab.s3_uri(bias.BALANCED_KEY)
    back = local_lab.wr.s3.read_csv(uri)
    assert list(back.columns) == list(bias.BALANCED_COLUMNS)
    assert len(back) == len(balanced)
    from utils import prereqs

    assert prereqs.balanced_data_ready(local_lab) is None


def test_prerequisite_checks_say_what_is_missing(local_lab):
    from utils import prereqs

    assert "data/balanced/" in prereqs.balanced_data_ready(local_lab)
    assert "'reviews'" in prereqs.reviews_table_ready(local_lab)


def test_missing_analysis_json_is_a_clear_error(local_lab):
    with pytest.raises(bias.BiasInputError, match="no analysis.json"):
        bias.read_analysis(local_lab, bias.report_uri(local_lab, "nothing"))


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


def test_aws_runs_a_clarify_job_with_the_course_configuration(clarify_lab, reviews):
    import boto3

    lab = clarify_lab
    lab.wr.s3.to_csv(reviews.head(200), lab.s3_uri("data/transformed/r.csv"), index=False)
    out = bias.report_uri(lab, "unbalanced")
    # the job would write analysis.json; moto runs nothing, so put the expected result there
    expected = bias.pre_training_bias_report(reviews.head(200))
    bias.write_analysis(lab, expected, out)

    processor = bias.clarify_processor(lab)
    requests = _capture_requests(processor)
    analysis = bias.run_pre_training_bias(lab, lab.s3_uri("data/transformed/"), out,
                                          job_name="clarify-unbalanced", processor=processor)  # fmt: skip
    assert analysis == json.loads(json.dumps(expected))

    (request,) = requests
    assert request["ProcessingJobName"] == "clarify-unbalanced"
    assert request["RoleArn"] == ROLE
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}  # fmt: skip
    assert "sagemaker-clarify-processing" in request["AppSpecification"]["ImageUri"]
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["dataset"]["S3Uri"] == "s3://lab-clarify/data/transformed/"
    assert inputs["analysis_config"]["S3Uri"] == f"{out}/analysis_config.json"
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "analysis_result" and output["S3Output"]["S3Uri"] == out

    # the analysis config the SDK uploaded is the one the local backend writes
    body = boto3.client("s3").get_object(Bucket="lab-clarify",
                                         Key="bias/generated_bias_report/unbalanced/analysis_config.json")  # fmt: skip
    sent = json.loads(body["Body"].read())
    assert sent == bias.analysis_config(list(reviews.columns))
    assert sent["methods"]["pre_training_bias"]["methods"] == list(bias.METHODS)
    assert sent["facet"] == [{"name_or_index": "product_category"}]
    assert sent["label_values_or_threshold"] == [1]
    described = boto3.client("sagemaker").describe_processing_job(
        ProcessingJobName="clarify-unbalanced")  # fmt: skip
    assert described["ProcessingJobStatus"] == "Completed"


def test_aws_without_analysis_json_or_role_fails_clearly(clarify_lab, reviews, monkeypatch):
    lab = clarify_lab
    lab.wr.s3.to_csv(reviews.head(50), lab.s3_uri("data/transformed/r.csv"), index=False)
    with pytest.raises(bias.BiasInputError, match="no analysis.json"):
        bias.run_pre_training_bias(lab, lab.s3_uri("data/transformed/"),
                                   bias.report_uri(lab, "x"), job_name="clarify-x")  # fmt: skip
    with pytest.raises(bias.BiasInputError, match="facet column 'category'"):
        bias.run_clarify_job(lab, lab.s3_uri("data/transformed/"), bias.report_uri(lab, "x"),
                             headers=list(reviews.columns), facet="category")  # fmt: skip
    import utils

    no_role = utils.connect("aws", bucket="lab-clarify", region="us-east-1")
    with pytest.raises(ConfigError, match="IAM role"):
        bias.clarify_processor(no_role)


def test_analysis_json_round_trips_through_s3(clarify_lab):
    analysis = {"version": "1.0", "pre_training_bias_metrics": {"label": "sentiment",
                "facets": {"product_category": [{"value_or_threshold": "A", "metrics": [
                    {"name": "KL", "description": "d", "value": float("inf")},
                    {"name": "JS", "description": "d", "value": float("nan")}]}]},
                "label_value_or_threshold": "1"}}  # fmt: skip
    uri = bias.write_analysis(clarify_lab, analysis, "s3://lab-clarify/bias/x/")
    assert uri == "s3://lab-clarify/bias/x/analysis.json"
    buffer = io.BytesIO()
    clarify_lab.wr.s3.download(path=uri, local_file=buffer)
    metrics = json.loads(buffer.getvalue())["pre_training_bias_metrics"]["facets"]
    assert [m["value"] for m in metrics["product_category"][0]["metrics"]] == ["Infinity", None]
