"""The course's four labs as a learner pastes them, on the local backend.

After the preamble the README gives (``lab = utils.connect("local")``, ``wr = lab.wr``) and with the
raw data in place, the course's own calls run unchanged, in the course's order: its set-up cell
(``sagemaker.Session()``, ``get_execution_role()``, ``boto3.Session().region_name``), W1's STS and
catalog/Athena calls, W2's Clarify processor, W3's ``AutoML`` and ``sagemaker-runtime``, W4's
BlazingText ``Estimator``. The shell's ``!aws s3 cp`` lines are written with the S3 client (what
the CLI calls). Small data and budgets; each answer is checked against botocore's shapes (conftest).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import utils
from utils import datasets

COURSE = "dlai-practical-data-science"


@pytest.fixture
def course(tmp_path, monkeypatch):
    """The preamble, the raw data placed (01's sources), and the course's set-up cell."""
    monkeypatch.chdir(tmp_path)
    lab = utils.connect("local", home=tmp_path / "lake")
    raw = tmp_path / "raw.csv"
    raw.write_bytes(datasets.generate_synthetic(1_500, seed=11).to_csv().encode())
    lab.provide_course_bucket(raw)
    # the course's set-up cell, verbatim
    import boto3
    import sagemaker

    sess = sagemaker.Session()
    bucket = sess.default_bucket()
    role = sagemaker.get_execution_role()
    region = boto3.Session().region_name
    return lab, lab.wr, sess, bucket, role, region


def _aws_s3_cp(source: str, target: str) -> None:
    """``!aws s3 cp s3://... ./`` (or ``./file s3://...``), as the CLI does it: one S3 call."""
    import boto3

    s3 = boto3.client("s3")
    if source.startswith("s3://"):
        bucket, _, key = source[5:].partition("/")
        s3.download_file(bucket, key, target)
    else:
        bucket, _, key = target[5:].partition("/")
        s3.upload_file(source, bucket, key)


def test_week_1_register_and_query(course):
    lab, wr, sess, bucket, role, region = course
    import boto3

    sts = boto3.Session(region_name=region).client(service_name="sts", region_name=region)
    account_id = sts.get_caller_identity()["Account"]
    assert account_id == lab.account and role.startswith(f"arn:aws:iam::{account_id}:role/")

    name = "womens_clothing_ecommerce_reviews_transformed.csv"
    _aws_s3_cp(f"s3://{COURSE}/data/transformed/{name}", f"./{name}")
    _aws_s3_cp(f"./{name}", f"s3://{bucket}/data/transformed/{name}")
    wr.catalog.create_database(name="dsoaws_deep_learning", exist_ok=True)
    assert "dsoaws_deep_learning" in wr.catalog.databases()["Database"].tolist()
    wr.catalog.create_csv_table(
        table="reviews", database="dsoaws_deep_learning",
        path=f"s3://{bucket}/data/transformed/", mode="overwrite",
        columns_types={"sentiment": "int", "review_body": "string", "product_category": "string"},
        skip_header_line_count=1, sep=",",
    )  # fmt: skip
    table = wr.catalog.table(database="dsoaws_deep_learning", table="reviews")
    assert table["Column Name"].tolist() == ["sentiment", "review_body", "product_category"]
    wr.athena.create_athena_bucket()

    local = pd.read_csv(name)
    counts = wr.athena.read_sql_query(
        "SELECT sentiment, COUNT(sentiment) AS count_sentiment FROM reviews "
        "GROUP BY sentiment ORDER BY sentiment", database="dsoaws_deep_learning")  # fmt: skip
    expected = local["sentiment"].value_counts().sort_index()
    assert counts["sentiment"].tolist() == expected.index.tolist()
    assert counts["count_sentiment"].tolist() == expected.tolist()
    words = wr.athena.read_sql_query(
        "SELECT CARDINALITY(SPLIT(review_body, ' ')) as num_words FROM reviews",
        database="dsoaws_deep_learning")  # fmt: skip
    assert sorted(words["num_words"]) == sorted(local["review_body"].str.split(" ").map(len))


def test_week_2_clarify(course):
    lab, wr, sess, bucket, role, region = course
    from sagemaker import clarify
    from sagemaker.processing import ProcessingJob

    name = "womens_clothing_ecommerce_reviews_transformed.csv"
    _aws_s3_cp(f"s3://{COURSE}/data/transformed/{name}", f"./{name}")
    df = pd.read_csv(f"./{name}")
    data_s3_uri = sess.upload_data(bucket=bucket, key_prefix="bias/unbalanced", path=f"./{name}")
    report_path = f"s3://{bucket}/bias/generated_bias_report/unbalanced"
    data_config = clarify.DataConfig(s3_data_input_path=data_s3_uri, s3_output_path=report_path,
                                     label="sentiment", headers=df.columns.to_list(),
                                     dataset_type="text/csv")  # fmt: skip
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1],
                                     facet_name="product_category")  # fmt: skip
    processor = clarify.SageMakerClarifyProcessor(role=role, instance_count=1,
                                                  instance_type="ml.m5.large",
                                                  sagemaker_session=sess)  # fmt: skip
    processor.run_pre_training_bias(data_config=data_config, data_bias_config=bias_config,
                                    methods=["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"],
                                    wait=False, logs=False)  # fmt: skip
    job_name = processor.latest_job.job_name
    running = ProcessingJob.from_processing_name(processing_job_name=job_name,
                                                 sagemaker_session=sess)  # fmt: skip
    assert running.describe()["ProcessingJobStatus"] in {"InProgress", "Completed"}
    running.wait(logs=False)
    assert running.describe()["ProcessingJobStatus"] == "Completed"
    listed = {o["Key"].rsplit("/", 1)[-1]
              for o in lab.client("s3").list_objects_v2(
                  Bucket=bucket, Prefix="bias/generated_bias_report/unbalanced/")["Contents"]}  # fmt: skip
    assert {"analysis.json", "analysis_config.json", "report.html", "report.ipynb"} <= listed
    analysis = json.loads(sess.read_s3_file(bucket,
                                            "bias/generated_bias_report/unbalanced/analysis.json"))  # fmt: skip
    facets = analysis["pre_training_bias_metrics"]["facets"]["product_category"]
    names = {m["name"] for m in facets[0]["metrics"]}
    assert names == {"CI", "DPL", "KL", "JS", "LP", "TVD", "KS"}
    categories = {f["value_or_threshold"] for f in facets}
    assert categories == set(df["product_category"].unique())


def test_weeks_3_and_4_autopilot_and_blazingtext(course):
    lab, wr, sess, bucket, role, region = course
    import time

    import boto3
    import sagemaker
    from sagemaker.automl.automl import AutoML
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import JSONSerializer

    name = "womens_clothing_ecommerce_reviews_balanced.csv"
    _aws_s3_cp(f"s3://{COURSE}/data/balanced/{name}", f"./{name}")
    df = pd.read_csv(f"./{name}")[["sentiment", "review_body"]]
    df.to_csv("./womens_clothing_ecommerce_reviews_balanced_for_autopilot.csv", index=False)
    autopilot_train_s3_uri = sess.upload_data(
        bucket=bucket, key_prefix="autopilot/data",
        path="./womens_clothing_ecommerce_reviews_balanced_for_autopilot.csv")  # fmt: skip

    # W3: Autopilot, the V1 API, as the course calls it (a smaller budget)
    automl = AutoML(target_attribute_name="sentiment", base_job_name="automl-dm-course",
                    output_path=f"s3://{bucket}/autopilot", max_candidates=2,
                    sagemaker_session=sess, role=role,
                    max_runtime_per_training_job_in_seconds=120,
                    total_job_runtime_in_seconds=240)  # fmt: skip
    automl.fit(autopilot_train_s3_uri, job_name="automl-dm-course", wait=False, logs=False)
    job = automl.describe_auto_ml_job(job_name="automl-dm-course")
    seen = {job["AutoMLJobSecondaryStatus"]}
    while job["AutoMLJobStatus"] not in ("Completed", "Failed", "Stopped"):
        time.sleep(1)
        job = automl.describe_auto_ml_job(job_name="automl-dm-course")
        seen.add(job["AutoMLJobSecondaryStatus"])
    assert job["AutoMLJobStatus"] == "Completed", job.get("FailureReason")
    # the stages the course's loops wait for (no mode given: AUTO, ENSEMBLING on this small file)
    assert "FeatureEngineering" in seen and "TrainingModels" in seen, seen
    assert "DataExplorationNotebookLocation" in job["AutoMLJobArtifacts"]
    candidates = automl.list_candidates(job_name="automl-dm-course",
                                        sort_by="FinalObjectiveMetricValue")  # fmt: skip
    assert 1 <= len(candidates) <= 2
    values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in candidates]
    assert values == sorted(values)  # SortOrder's default, as AWS documents it: Ascending
    best_candidate = automl.best_candidate(job_name="automl-dm-course")
    assert best_candidate["CandidateName"] == candidates[-1]["CandidateName"]  # Accuracy: max
    autopilot_model = automl.deploy(
        initial_instance_count=1, instance_type="ml.m5.large", candidate=best_candidate,
        inference_response_keys=["predicted_label", "probability"],
        predictor_cls=sagemaker.predictor.Predictor, serializer=JSONSerializer(),
        deserializer=JSONDeserializer())  # fmt: skip
    sm_runtime = boto3.client("sagemaker-runtime")
    answers = []
    for review in ["I simply love it!", "It is OK.", "It is a lousy dress."]:
        response = sm_runtime.invoke_endpoint(EndpointName=autopilot_model.endpoint_name,
                                              ContentType="text/csv", Accept="text/csv",
                                              Body=review)  # fmt: skip
        label, probability = response["Body"].read().decode("utf-8").strip().split(",")
        answers.append(label)
        assert 0 < float(probability) <= 1
    assert set(answers) <= {"-1", "0", "1"}

    # W4: BlazingText, as the course calls it
    split = int(len(df) * 0.9)
    for channel, part in (("train", df[:split]), ("validation", df[split:])):
        lines = "__label__" + part["sentiment"].astype(str) + " " + part["review_body"].str.lower()
        path = f"./sentiment.{channel}"
        lines.to_csv(path, index=False, header=False)
        sess.upload_data(path, bucket=bucket, key_prefix=f"blazingtext/data/{channel}")
    image_uri = sagemaker.image_uris.retrieve(region=region, framework="blazingtext")
    estimator = sagemaker.estimator.Estimator(image_uri=image_uri, role=role, instance_count=1,
                                              instance_type="ml.m5.large", volume_size=30,
                                              max_run=7200, sagemaker_session=sess)  # fmt: skip
    estimator.set_hyperparameters(mode="supervised", epochs=10, learning_rate=0.01, min_count=2,
                                  vector_dim=300, word_ngrams=3)  # fmt: skip
    inputs = {
        channel: sagemaker.inputs.TrainingInput(
            f"s3://{bucket}/blazingtext/data/{channel}", distribution="FullyReplicated",
            content_type="text/plain", s3_data_type="S3Prefix")
        for channel in ("train", "validation")
    }  # fmt: skip
    estimator.fit(inputs=inputs, wait=False)
    training_job_name = estimator.latest_training_job.name
    estimator.latest_training_job.wait(logs=False)
    status = sess.sagemaker_client.describe_training_job(TrainingJobName=training_job_name)
    assert status["TrainingJobStatus"] == "Completed"
    metrics = estimator.training_job_analytics.dataframe()
    assert "validation:accuracy" in metrics["metric_name"].tolist()
    text_classifier = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                                       serializer=JSONSerializer(),
                                       deserializer=JSONDeserializer())  # fmt: skip
    predictions = text_classifier.predict(data={"instances": ["i simply love it !",
                                                              "it is a lousy dress ."]})  # fmt: skip
    assert len(predictions) == 2
    assert all(p["label"][0] in {"__label__-1", "__label__0", "__label__1"} for p in predictions)
    text_classifier.delete_endpoint()
    autopilot_model.delete_endpoint()
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []
