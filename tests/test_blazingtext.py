"""BlazingText: data preparation, hyperparameter checks, local training and serving, the aws request.

The local jobs train fastText for real on a few hundred synthetic reviews (one trained model is
shared by the module); the aws tests check the CreateTrainingJob request the sagemaker SDK sends
to moto.
"""

from __future__ import annotations

import inspect
import io
import json
import tarfile

import pandas as pd
import pytest

import utils
from utils import blazingtext as bt
from utils.errors import ConfigError

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
SMALL = {"buckets": 5000, "vector_dim": 10}  # a small model keeps the local jobs fast
TUNED = {"mode": "supervised", "epochs": 10, "learning_rate": 0.5, "min_count": 1,
         "vector_dim": 10, "word_ngrams": 2, "buckets": 5000}  # fmt: skip


# -- tokenizing and labels -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I'm not a fan of this product!",
         ["I", "'m", "not", "a", "fan", "of", "this", "product", "!"]),
        ("i don't like it. it's too small", ["i", "do", "n't", "like", "it", ".", "it", "'s",
                                             "too", "small"]),
        ("I can't... really: 100% cotton (not silk); $50 & more?",
         ["I", "ca", "n't", "...", "really", ":", "100", "%", "cotton", "(", "not", "silk", ")",
          ";", "$", "50", "&", "more", "?"]),
        ("we'll see -- they've gone", ["we", "'ll", "see", "--", "they", "'ve", "gone"]),
        ("cannot wait, gonna buy", ["can", "not", "wait", ",", "gon", "na", "buy"]),
        ("", []),
    ],
)  # fmt: skip
def test_word_tokenize_follows_nltk(text, tokens):
    assert bt.word_tokenize(text) == tokens


def test_tokenize_is_the_course_preparation():
    # the course's expected output for its example data frame
    assert bt.tokenize("I do like this product!") == "i do like this product !"
    assert bt.tokenize("I don't like this product!") == "i do n't like this product !"
    assert bt.tokenize('Great, "soft"\nfabric') == "great soft fabric"
    assert bt.tokenize(float("nan")) == "nan"  # str(review), as the course


@pytest.mark.parametrize("value", [-1, 0, 1, "-1", "positive"])
def test_labels_round_trip(value):
    label = bt.to_label(value)
    assert label == f"__label__{value}"
    assert bt.to_label(label) == label  # an existing prefix is kept once
    assert bt.from_label(label) == (int(value) if str(value).lstrip("-").isdigit() else value)


@pytest.mark.parametrize("bad", ["1", "label_1", None])
def test_from_label_refuses_what_is_not_a_label(bad):
    with pytest.raises(ValueError, match="not a BlazingText label"):
        bt.from_label(bad)


@pytest.mark.parametrize("bad", ["__label__", "very good", ""])
def test_to_label_needs_a_value_without_spaces(bad):
    with pytest.raises(ValueError, match="without white space"):
        bt.to_label(bad)


def test_prepare_data_matches_the_course_and_leaves_the_input_alone():
    df = pd.DataFrame({"sentiment": [-1, 0, 1],
                       "review_body": ["I do like this product!", "this product is ok",
                                       "I don't like this product!"]})  # fmt: skip
    out = bt.prepare_data(df)
    assert out.to_dict("list") == {
        "sentiment": ["__label__-1", "__label__0", "__label__1"],
        "review_body": ["i do like this product !", "this product is ok",
                        "i do n't like this product !"],
    }  # fmt: skip
    assert df["sentiment"].tolist() == [-1, 0, 1]
    with pytest.raises(bt.ChannelDataError, match="review_body"):
        bt.prepare_data(df.rename(columns={"review_body": "text"}))


# -- data ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    """Balanced synthetic reviews, sorted by sentiment as 04_detect_bias writes them."""
    from utils import bias, datasets

    df = datasets.transform(datasets.generate_synthetic(1500, seed=5)).df
    return bias.balance(df, by=["sentiment"], seed=5)


def test_split_is_stratified_seeded_and_shuffled(reviews):
    prepared = bt.prepare_data(reviews)
    train, validation = bt.split_data(prepared, 0.1, seed=7)
    assert len(train) + len(validation) == len(prepared)
    assert len(validation) == pytest.approx(0.1 * len(prepared), abs=3)
    shares = validation["sentiment"].value_counts()
    assert shares.max() - shares.min() <= 1  # stratified: a third each
    again, _ = bt.split_data(prepared, 0.1, seed=7)
    pd.testing.assert_frame_equal(train, again)
    # the input is sorted by label; the training rows are not
    runs = (train["sentiment"] != train["sentiment"].shift()).sum()
    assert runs > len(train) / 3


def test_split_errors_are_clear(reviews):
    prepared = bt.prepare_data(reviews)
    with pytest.raises(ValueError, match="validation_fraction=1.5"):
        bt.split_data(prepared, 1.5)
    lonely = pd.concat([prepared.head(10), prepared.tail(1).assign(sentiment="__label__9")])
    with pytest.raises(bt.ChannelDataError, match="at least 2 rows per class"):
        bt.split_data(lonely)


def test_channels_round_trip_through_the_lake(local_lab, reviews):
    prepared = bt.prepare_data(reviews.head(30))
    uris = bt.upload_channels(local_lab, prepared.head(20), prepared.tail(10))
    assert uris == {"train": local_lab.s3_uri("blazingtext/data/train/"),
                    "validation": local_lab.s3_uri("blazingtext/data/validation/")}  # fmt: skip
    text = local_lab.local_path(uris["train"] + "train.txt").read_text()
    first = text.splitlines()[0]
    assert first == f"{prepared['sentiment'][0]} {prepared['review_body'][0]}"
    assert '"' not in text  # no quotes around the reviews (the course's to_csv(sep=' ') had them)
    back = bt.read_channel(local_lab, uris["validation"])
    assert back["label"].tolist() == prepared.tail(10)["sentiment"].tolist()
    assert back["text"].tolist() == prepared.tail(10)["review_body"].tolist()
    with pytest.raises(bt.ChannelDataError, match="row 0.*no '__label__' prefix"):
        bt.upload_channels(local_lab, reviews.head(3))


# -- hyperparameters -----------------------------------------------------------------------------
def test_course_hyperparameters_are_valid_and_defaults_fill_in():
    hp = bt.validate_hyperparameters(bt.COURSE_HYPERPARAMETERS)
    assert hp["epochs"] == 10 and hp["learning_rate"] == 0.01 and hp["vector_dim"] == 300
    assert hp["buckets"] == 2_000_000 and hp["early_stopping"] is False  # BlazingText's defaults
    as_strings = {k: str(v) for k, v in bt.COURSE_HYPERPARAMETERS.items()}  # as the API sends them
    assert bt.validate_hyperparameters(as_strings) == hp


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "supervize"}, r"mode='supervize'.*'supervised'.*'cbow'.*did you mean"),
        ({"epochs": -1}, r"epochs=-1: expected a positive whole number"),
        ({"epochs": 2.5}, r"epochs=2.5: expected a whole number"),
        ({"learning_rate": 0}, r"learning_rate=0: expected a positive number"),
        ({"min_count": -3}, r"min_count=-3: expected a whole number >= 0"),
        ({"word_ngrams": True}, r"word_ngrams=True: expected a number, not a boolean"),
        ({"early_stopping": "maybe"}, r"early_stopping='maybe': expected True or False"),
        ({"epoch": 5}, r"unknown hyperparameter\(s\) \['epoch'\].*did you mean 'epochs'"),
        ({"early_stopping": True, "min_epochs": 20}, r"min_epochs=20 is more than epochs=10"),
    ],
)
def test_bad_hyperparameters_name_the_parameter_and_the_allowed_values(changes, message):
    with pytest.raises(bt.HyperparameterError, match=message):
        bt.validate_hyperparameters({**bt.COURSE_HYPERPARAMETERS, **changes})


def test_mode_is_required_and_word2vec_modes_run_on_aws_only():
    with pytest.raises(bt.HyperparameterError, match="mode is required"):
        bt.validate_hyperparameters({"epochs": 5})
    assert bt.validate_hyperparameters({"epochs": 5}, partial=True)["epochs"] == 5
    assert bt.validate_hyperparameters({"mode": "cbow", "window_size": 5}) == {
        "mode": "cbow", "window_size": 5}  # fmt: skip
    with pytest.raises(NotImplementedError, match="Word2Vec mode.*BACKEND='aws'"):
        bt.validate_hyperparameters({"mode": "skipgram"}, local=True)


# -- local training ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lake(tmp_path_factory, reviews):
    """A local lab with the channels uploaded: 90% train, 10% validation."""
    lab = utils.connect("local", home=tmp_path_factory.mktemp("bt") / "lake")
    train, validation = bt.split_data(bt.prepare_data(reviews), 0.1, seed=1)
    uris = bt.upload_channels(lab, train, validation)
    return {"lab": lab, "channels": uris, "train": train, "validation": validation}


def _estimator(lab, **kwargs):
    Estimator = lab.Estimator  # the course's sagemaker.estimator.Estimator, per backend
    return Estimator(image_uri=bt.image_uri(lab), role=kwargs.pop("role", None), instance_count=1,
                     instance_type="ml.m5.large", volume_size=30, max_run=7200,
                     output_path=lab.s3_uri(bt.OUTPUT_PREFIX), **kwargs)  # fmt: skip


def _inputs(channels):
    from sagemaker.inputs import TrainingInput

    return {name: TrainingInput(uri, distribution="FullyReplicated", content_type="text/plain",
                                s3_data_type="S3Prefix") for name, uri in channels.items()}  # fmt: skip


@pytest.fixture(scope="module")
def trained(lake):
    estimator = _estimator(lake["lab"])
    estimator.set_hyperparameters(**TUNED)
    estimator.fit(_inputs(lake["channels"]), wait=False)
    return estimator


def test_local_fit_reports_accuracy_and_stores_model_bin(trained, lake, capsys):
    lab = lake["lab"]
    metrics = bt.training_metrics(trained)
    assert set(metrics) == {"train:accuracy", "validation:accuracy"}
    assert 0.5 < metrics["validation:accuracy"] <= 1.0  # three classes: chance is 1/3
    assert metrics["train:accuracy"] >= metrics["validation:accuracy"] - 0.1
    job = trained.latest_training_job
    desc = job.describe()
    assert desc["TrainingJobStatus"] == "Completed"
    assert desc["HyperParameters"]["learning_rate"] == "0.5"  # strings, as in the API
    assert desc["AlgorithmSpecification"]["TrainingImage"].endswith("/blazingtext:1")
    assert [c["ChannelName"] for c in desc["InputDataConfig"]] == ["train", "validation"]
    assert desc["InputDataConfig"][0]["ContentType"] == "text/plain"
    uri = f"{lab.s3_uri(bt.OUTPUT_PREFIX)}/{job.name}/output/model.tar.gz"
    assert trained.model_data == uri == desc["ModelArtifacts"]["S3ModelArtifacts"]
    with tarfile.open(lab.local_path(uri)) as tar:
        assert tar.getnames() == ["model.bin"]
    frame = trained.training_job_analytics.dataframe()
    assert frame["metric_name"].tolist() == ["train:accuracy", "validation:accuracy"]
    # the log reports both accuracies as BlazingText does
    trained.logs()
    log = capsys.readouterr().out
    assert f"#validation_accuracy: {metrics['validation:accuracy']:.4f}" in log
    assert f"Number of train examples: {len(lake['train'])}" in log


def test_the_stored_model_predicts_what_the_job_reported(trained, lake):
    model = bt.load_model(lake["lab"], trained.model_data)
    assert model.classes_ == ["__label__-1", "__label__0", "__label__1"]
    validation = lake["validation"]
    predicted = model.predict(validation["review_body"].tolist())
    accuracy = (pd.Series(predicted) == validation["sentiment"].to_numpy()).mean()
    assert accuracy == pytest.approx(bt.training_metrics(trained)["validation:accuracy"])
    proba = model.predict_proba(["", "lovely soft dress", "two\nlines"])
    assert proba.shape == (3, 3)
    assert proba.sum(axis=1).tolist() == pytest.approx([1.0] * 3, abs=1e-3)


def test_a_seeded_job_gives_the_same_model_again(trained, lake):
    again = _estimator(lake["lab"])
    again.set_hyperparameters(**TUNED)
    again.fit({"train": lake["channels"]["train"], "validation": lake["channels"]["validation"]},
              logs="None")  # plain URIs work as channels too  # fmt: skip
    assert again.latest_training_job.name != trained.latest_training_job.name
    assert bt.training_metrics(again) == bt.training_metrics(trained)


def test_bad_hyperparameters_fail_before_any_job(lake):
    lab = lake["lab"]
    before = sorted((lab.home / "training-jobs").glob("*.json"))
    estimator = _estimator(lab)
    with pytest.raises(bt.HyperparameterError, match="mode='unsupervised'"):
        estimator.set_hyperparameters(mode="unsupervised")
    with pytest.raises(bt.HyperparameterError, match="epochs=-5"):
        estimator.set_hyperparameters(mode="supervised", epochs=-5)
    with pytest.raises(bt.HyperparameterError, match="epochs=-5"):
        _estimator(lab, hyperparameters={"mode": "supervised", "epochs": -5})
    no_mode = _estimator(lab)
    with pytest.raises(bt.HyperparameterError, match="mode is required"):
        no_mode.fit(_inputs(lake["channels"]))
    assert sorted((lab.home / "training-jobs").glob("*.json")) == before


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (None, "needs the 'train' channel"),
        ("s3://b/x/", "pass inputs=\\{'train': ..., 'validation': ...\\}"),
        ({"validation": "s3://b/x/"}, "'train' channel is required"),
        ({"train": "s3://b/x/", "test": "s3://b/y/"}, r"\['test'\]"),
    ],
)
def test_channel_mistakes_are_named(lake, inputs, message):
    estimator = _estimator(lake["lab"])
    estimator.set_hyperparameters(**TUNED)
    with pytest.raises(bt.ChannelDataError, match=message):
        estimator.fit(inputs)


def test_bad_channel_data_fails_the_job_with_the_reason(lake):
    lab = lake["lab"]
    estimator = _estimator(lab)
    estimator.set_hyperparameters(**TUNED)
    with pytest.raises(bt.TrainingJobFailed, match="ClientError: channel 'train': no objects"):
        estimator.fit({"train": lab.s3_uri("blazingtext/nothing-here/")})
    assert estimator.latest_training_job.describe()["TrainingJobStatus"] == "Failed"
    lab.wr.s3.upload(local_file=io.BytesIO(b"__label__1 good\nno label here\n"),
                     path=lab.s3_uri("blazingtext/bad/train.txt"))  # fmt: skip
    with pytest.raises(bt.TrainingJobFailed, match=r"line 2: a line starts with its label"):
        estimator.fit({"train": lab.s3_uri("blazingtext/bad/")})


def test_an_unexpected_error_fails_the_job_and_keeps_its_traceback(lake, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(bt, "_train_in_child", broken)
    estimator = _estimator(lake["lab"])
    estimator.set_hyperparameters(**TUNED)
    with pytest.raises(KeyError, match="boom"):
        estimator.fit(_inputs(lake["channels"]))
    desc = estimator.latest_training_job.describe()
    assert desc["TrainingJobStatus"] == "Failed"
    assert "InternalServerError: KeyError" in desc["FailureReason"]


def test_label_sorted_training_data_is_warned_about(lake):
    lab = lake["lab"]
    ordered = lake["train"].sort_values("sentiment")
    uris = bt.upload_channels(lab, ordered, prefix="blazingtext/sorted/")
    estimator = _estimator(lab)
    estimator.set_hyperparameters(**TUNED)
    with pytest.warns(UserWarning, match="ordered by label.*shuffle"):
        estimator.fit(uris)


def test_local_estimator_refuses_what_it_cannot_do(lake):
    lab = lake["lab"]
    with pytest.raises(NotImplementedError, match="BlazingText image only"):
        bt.estimator_class(lab)(image_uri="123.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
    with pytest.raises(ValueError, match="instance_count=2"):
        bt.estimator_class(lab)(image_uri=bt.image_uri(lab), instance_count=2)
    with pytest.raises(NotImplementedError, match="subnets"):
        _estimator(lab, subnets=["subnet-1"])
    estimator = _estimator(lab)
    estimator.set_hyperparameters(**TUNED, early_stopping=True)
    with pytest.raises(NotImplementedError, match="early_stopping=True"):
        estimator.fit(_inputs(lake["channels"]))
    with pytest.raises(ConfigError, match="estimator_class"):
        bt.Estimator(image_uri=bt.image_uri(lab))


def test_local_estimator_signature_matches_the_sdk():
    from sagemaker.estimator import Estimator, EstimatorBase

    pairs = [(bt.Estimator.__init__, Estimator.__init__), (bt.Estimator.fit, EstimatorBase.fit),
             (bt.Estimator.deploy, EstimatorBase.deploy)]  # fmt: skip
    for local_fn, real_fn in pairs:
        real = inspect.signature(real_fn).parameters
        local = {k: v for k, v in inspect.signature(local_fn).parameters.items()
                 if v.kind is not inspect.Parameter.VAR_KEYWORD}  # fmt: skip
        for name, param in local.items():
            assert name in real, f"{local_fn.__qualname__}: {name!r} is not the SDK's"
            assert param.default == real[name].default, f"{local_fn.__qualname__}({name})"
        assert list(local) == [p for p in real if p in local], local_fn.__qualname__


# -- serving -------------------------------------------------------------------------------------
def test_lab_estimator_is_the_backends_class(local_lab, aws_lab):
    from sagemaker.estimator import Estimator as SDKEstimator

    assert local_lab.Estimator is local_lab.Estimator  # one class per lab: isinstance works
    assert issubclass(local_lab.Estimator, bt.Estimator) and local_lab.Estimator.lab is local_lab
    assert issubclass(aws_lab.Estimator, SDKEstimator)
    estimator = aws_lab.Estimator(image_uri=bt.image_uri(aws_lab), role=ROLE, instance_count=1,
                                  instance_type="ml.m5.large")  # fmt: skip
    session = estimator.sagemaker_session
    assert session.boto_region_name == "us-east-1" and session.default_bucket() == aws_lab.bucket


def test_parse_request_reads_blazingtexts_json_and_says_what_is_wrong():
    assert bt.parse_request(b'{"instances": ["a b", "c"]}') == (["a b", "c"], 1)
    assert bt.parse_request({"instances": [], "configuration": {"k": 3}}) == ([], 3)
    for bad, says in [
        (b'{"instances": ["a"', "not valid JSON"),
        (b'["a", "b"]', r'BlazingText takes \{"instances"'),
        (b'{"reviews": ["a"]}', r"got \['reviews'\]"),
        (b'{"instances": "a"}', '"instances" must be a list of texts, got str'),
        (b'{"instances": ["a", 2]}', "instance 1 is 2"),
        (b'{"instances": ["a"], "configuration": {"k": 0}}', "k is a positive whole number"),
        (b'{"instances": ["a"], "configuration": {"k": true}}', r'"k": true'),
        (b'{"instances": ["a"], "configuration": 2}', '"configuration" must be an object'),
        (b"\xff", "not UTF-8"),
    ]:
        with pytest.raises(ValueError, match=says):
            bt.parse_request(bad)


def test_the_model_answers_as_blazingtexts_container(trained, lake):
    model = bt.load_model(lake["lab"], trained.model_data)
    tokenized = [bt.tokenize(r) for r in bt.SAMPLE_REVIEWS]
    body, content_type = model.invocations(
        json.dumps({"instances": tokenized}).encode(), "application/json", "text/csv"
    )
    assert content_type == "application/json"  # Accept is ignored, as BlazingText does
    answer = json.loads(body)
    assert [a["label"] for a in answer] == [[p] for p in model.predict(tokenized)]
    proba = model.predict_proba(tokenized)
    assert [a["prob"][0] for a in answer] == pytest.approx(proba.max(axis=1).tolist(), abs=1e-6)
    # batch transform's JSON Lines: one {"source", "k"} per line, one answer per line
    lines = b'{"source": "lovely dress"}\n{"source": "too small", "k": 2}\n'
    body, content_type = model.invocations(lines, "application/jsonlines", "")
    assert content_type == "application/jsonlines"
    first, second = (json.loads(line) for line in body.decode().splitlines())
    assert len(first["label"]) == 1 and len(second["label"]) == len(second["prob"]) == 2
    with pytest.raises(ValueError, match='line 1: expected {"source"'):
        model.invocations(b'{"text": "x"}', "application/jsonlines", "")


def test_deploy_predicts_in_blazingtexts_format(trained, lake):
    from botocore.exceptions import ClientError
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import JSONSerializer

    from utils import endpoints

    lab = lake["lab"]
    predictor = trained.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                               serializer=JSONSerializer(), deserializer=JSONDeserializer())  # fmt: skip
    try:
        assert type(predictor) is Predictor  # the SDK's own: no client-side conversion
        name = predictor.endpoint_name
        assert name.startswith("blazingtext-")
        assert endpoints.describe_endpoint(lab, name)["EndpointStatus"] == "InService"
        tokenized = [bt.tokenize(r) for r in bt.SAMPLE_REVIEWS]
        local = bt.load_model(lab, trained.model_data)

        # the raw response, as boto3's invoke_endpoint returns it: BlazingText's JSON
        runtime = lab.sagemaker_runtime
        response = runtime.invoke_endpoint(
            EndpointName=name, ContentType="application/json", Accept="application/json",
            Body=json.dumps({"instances": tokenized}),
        )  # fmt: skip
        assert response["ContentType"] == "application/json"
        raw = json.loads(response["Body"].read())
        assert isinstance(raw, list) and len(raw) == 3
        for item in raw:
            assert set(item) == {"label", "prob"} and len(item["label"]) == len(item["prob"]) == 1
            assert item["label"][0] in ("__label__-1", "__label__0", "__label__1")
            assert 0 < item["prob"][0] <= 1
        assert [a["label"][0] for a in raw] == local.predict(tokenized)

        # the SDK's Predictor deserializes the same answer
        assert predictor.predict({"instances": tokenized}) == raw
        # top k, most likely first
        top = predictor.predict({"instances": tokenized[:2], "configuration": {"k": 3}})
        assert len(top) == 2
        assert sorted(top[0]["label"]) == ["__label__-1", "__label__0", "__label__1"]
        assert top[0]["prob"] == sorted(top[0]["prob"], reverse=True)
        assert sum(top[0]["prob"]) == pytest.approx(1.0, abs=1e-3)
        assert top[0]["label"][0] == raw[0]["label"][0]
        two = predictor.predict({"instances": tokenized[:1], "configuration": {"k": 2}})
        assert len(two[0]["label"]) == len(two[0]["prob"]) == 2

        # bad requests: the endpoint's 400 / 415 as a ModelError, and it keeps serving
        for body, content_type, status, says in [
            (b'{"instances": ["a"', "application/json", 400, "not valid JSON"),
            (b'{"instances": [1, 2]}', "application/json", 400, '"instances" must be a list'),
            (b'{"instances": ["a"], "configuration": {"k": 0}}', "application/json", 400,
             "k is a positive whole number"),
            (b"lovely dress", "text/csv", 415, "application/json or application/jsonlines"),
        ]:  # fmt: skip
            with pytest.raises(ClientError) as err:
                runtime.invoke_endpoint(EndpointName=name, ContentType=content_type, Body=body)
            assert err.value.response["Error"]["Code"] == "ModelError"
            assert err.value.response["OriginalStatusCode"] == status
            assert says in err.value.response["OriginalMessage"]
        assert predictor.predict({"instances": tokenized}) == raw  # still serving, same answers

        scored = bt.predict_sentiments(predictor, lake["validation"]["review_body"].tolist()[:40],
                                       batch_size=16, tokenized=True)  # fmt: skip
        assert len(scored) == 40 and set(scored["sentiment"]) <= {-1, 0, 1}
    finally:
        predictor.delete_endpoint()
    assert endpoints.list_endpoints(lab) == []


# -- comparing with Autopilot --------------------------------------------------------------------
class _FakePredictor:
    """Answers like a BlazingText endpoint: positive when the review says 'love'."""

    serializer = deserializer = None

    def predict(self, data):
        return [{"label": ["__label__1" if "love" in t else "__label__-1"], "prob": [0.9]}
                for t in data["instances"]]  # fmt: skip


def test_comparison_without_autopilot_says_what_to_run(local_lab):
    validation = bt.prepare_data(pd.DataFrame({"sentiment": [1, -1, 1],
                                               "review_body": ["I love it", "no", "meh"]}))  # fmt: skip
    assert bt.autopilot_holdout(local_lab) is None
    result = bt.compare_with_autopilot(local_lab, _FakePredictor(), validation, None)
    assert result.table["model"].tolist() == ["BlazingText"]
    assert result.table["accuracy"][0] == pytest.approx(2 / 3)
    assert "run 05_autopilot and 06_deploy_predict" in result.message


def test_comparison_on_autopilots_holdout(local_lab):
    holdout = pd.DataFrame({"sentiment": [1, -1, 0, 1],
                            "review_body": ["love it", "hate it", "fine", "love, love"]})  # fmt: skip
    local_lab.wr.s3.to_csv(holdout, local_lab.s3_uri("data/balanced/holdout.csv"), index=False)
    df = pd.concat([holdout, pd.DataFrame({"sentiment": [0], "review_body": ["other"]})])
    assert bt.exclude_reviews(df, bt.autopilot_holdout(local_lab))["review_body"].tolist() == [
        "other"
    ]
    with pytest.warns(UserWarning, match="only 0 of the 4 held-out reviews"):
        bt.exclude_reviews(df.tail(1), holdout)
    # 05 ran, 06 not yet: BlazingText alone, on the holdout
    result = bt.compare_with_autopilot(
        local_lab, _FakePredictor(), None, bt.autopilot_holdout(local_lab)
    )
    assert len(result.table) == 1 and "06_deploy_predict has not scored" in result.message
    # 06's batch predictions: predicted_label first, as the endpoint answers text/csv
    out = b"1,0.9\n-1,0.8\n1,0.6\n0,0.5\n"
    local_lab.wr.s3.upload(local_file=io.BytesIO(out), path=local_lab.s3_uri(
        "models/batch-predictions/automl-ep/holdout.csv.out"))  # fmt: skip
    result = bt.compare_with_autopilot(
        local_lab, _FakePredictor(), None, bt.autopilot_holdout(local_lab)
    )
    table = result.table.set_index("model")
    assert table.loc["Autopilot best candidate", "accuracy"] == pytest.approx(0.5)
    assert table.loc["BlazingText", "accuracy"] == pytest.approx(0.75)
    assert (table["reviews"] == 4).all() and "held out" in result.message
    assert result.rows.columns.tolist() == ["sentiment", "review_body", "blazingtext", "autopilot"]


# -- aws: the requests the sagemaker SDK makes ---------------------------------------------------
def _capture(estimator):
    calls = []
    client = estimator.sagemaker_session.sagemaker_client
    client.meta.events.register("provide-client-params.sagemaker.CreateTrainingJob",
                                lambda params, **_: calls.append(params))  # fmt: skip
    return calls


def test_aws_fit_sends_the_courses_training_job(aws_lab):
    estimator = _estimator(aws_lab, role=ROLE)
    assert type(estimator).__mro__[1].__module__ == "sagemaker.estimator"
    calls = _capture(estimator)
    estimator.set_hyperparameters(**bt.COURSE_HYPERPARAMETERS, buckets=None)
    channels = {"train": aws_lab.s3_uri("blazingtext/data/train/"),
                "validation": aws_lab.s3_uri("blazingtext/data/validation/")}  # fmt: skip
    estimator.fit(inputs=_inputs(channels), wait=False, job_name="blazingtext-course-1")
    (request,) = calls
    assert request["TrainingJobName"] == "blazingtext-course-1"
    assert request["AlgorithmSpecification"]["TrainingImage"] == (
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1"
    )
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert request["HyperParameters"] == {"mode": "supervised", "epochs": "10",
                                          "learning_rate": "0.01", "min_count": "2",
                                          "vector_dim": "300", "word_ngrams": "3"}  # fmt: skip
    assert request["RoleArn"] == ROLE
    assert request["InputDataConfig"] == [
        {"ChannelName": name, "ContentType": "text/plain",
         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                         "S3DataDistributionType": "FullyReplicated"}}}
        for name, uri in channels.items()
    ]  # fmt: skip
    assert request["OutputDataConfig"]["S3OutputPath"] == aws_lab.s3_uri(bt.OUTPUT_PREFIX)
    assert request["ResourceConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                         "VolumeSizeInGB": 30}  # fmt: skip
    assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200


def test_aws_bad_hyperparameters_send_no_request(aws_lab):
    estimator = _estimator(aws_lab, role=ROLE)
    calls = _capture(estimator)
    with pytest.raises(bt.HyperparameterError, match="epochs=-1"):
        estimator.set_hyperparameters(mode="supervised", epochs=-1)
    with pytest.raises(bt.HyperparameterError, match="mode='supervize'"):
        estimator.set_hyperparameters(mode="supervize")
    with pytest.raises(bt.HyperparameterError, match="vector_dim=0"):
        _estimator(aws_lab, role=ROLE, hyperparameters={"mode": "supervised", "vector_dim": 0})
    no_mode = _estimator(aws_lab, role=ROLE)
    calls += _capture(no_mode)
    with pytest.raises(bt.HyperparameterError, match="mode is required"):
        no_mode.fit({"train": aws_lab.s3_uri("blazingtext/data/train/")}, wait=False)
    with pytest.raises(bt.ChannelDataError, match="'train' channel is required"):
        estimator.set_hyperparameters(mode="supervised")
        estimator.fit({"validation": aws_lab.s3_uri("v/")}, wait=False)
    assert calls == []
