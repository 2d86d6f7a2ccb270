"""BlazingText in supervised mode (the course's fourth lab), the same calls on both backends.

AWS equivalent: SageMaker's built-in BlazingText algorithm. Its supervised mode is the fastText
text classifier, so the ``local`` backend trains fastText itself.

- Data: :func:`tokenize` (the course's nltk ``word_tokenize`` preparation, done here by a regex
  tokenizer that follows nltk's Treebank rules closely), :func:`to_label` / :func:`from_label`
  (``-1`` <-> ``__label__-1``), :func:`prepare_data`, :func:`split_data` (stratified, seeded,
  training rows shuffled) and :func:`upload_channels` (space-separated files, one review per
  line, as the ``train`` and ``validation`` channels under ``s3://<bucket>/blazingtext/data/``).
- Training: :func:`estimator_class` gives the sagemaker SDK's ``Estimator`` on ``aws`` and the
  local :class:`Estimator` on ``local``; both check the hyperparameters before a job starts
  (:func:`validate_hyperparameters`). Locally ``fit`` trains fastText (one thread, the lab's
  seed: the same data gives the same model), logs the train and validation accuracy as
  BlazingText does, and stores ``<output_path>/<job>/output/model.tar.gz`` holding ``model.bin``.
- The engine (fastText in a child process, the hyperparameter checks and BlazingText's
  defaults, :class:`FastTextClassifier` with its endpoint hook) is BlazingText's local
  container, :mod:`utils.local.blazingtext`; the local :class:`Estimator` runs it in-process.
- Serving: ``Estimator.deploy`` puts the model behind the local endpoint of
  :mod:`utils.endpoints` and returns the SDK's ``Predictor``; the endpoint answers as
  BlazingText's container does (:meth:`FastTextClassifier.invocations`): ``{"instances":
  [...], "configuration": {"k": 2}}`` -> ``[{"label": ["__label__1", ...], "prob": [0.9, ...]},
  ...]``.
- Training jobs: :func:`list_training_jobs` (the lab's, on both backends) and, locally,
  :func:`delete_training_job` / :func:`cleanup_training_jobs` (``99_cleanup`` uses them).
- Comparison: :func:`compare_with_autopilot` scores this model and the Autopilot candidate of
  ``05_autopilot`` / ``06_deploy_predict`` on the same reviews.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from utils.errors import ConfigError, LabError
from utils.local.blazingtext import (
    LABEL_PREFIX,
    LOCAL_THREADS,
    ChannelDataError,
    FastTextClassifier,
    HyperparameterError,
    TrainingJobFailed,
    engine_name,
    extract_model,
    fit_supervised,
    parse_request,
    parse_rows,
    validate_hyperparameters,
)
from utils.local.blazingtext import parse_line as _parse_line
from utils.local.blazingtext import train_in_child as _train_in_child

__all__ = [
    "COURSE_HYPERPARAMETERS",
    "DATA_PREFIX",
    "LABEL_PREFIX",
    "OUTPUT_PREFIX",
    "SAMPLE_REVIEWS",
    "ChannelDataError",
    "Comparison",
    "Estimator",
    "FastTextClassifier",
    "HyperparameterError",
    "TrainingJobFailed",
    "autopilot_holdout",
    "autopilot_predictions",
    "channel_lines",
    "cleanup_training_jobs",
    "compare_with_autopilot",
    "delete_training_job",
    "estimator_class",
    "exclude_reviews",
    "execution_role",
    "from_label",
    "image_uri",
    "is_blazingtext_image",
    "list_training_jobs",
    "load_endpoint_model",
    "load_model",
    "model_ready",
    "parse_request",
    "predict_sentiments",
    "prepare_data",
    "read_channel",
    "split_data",
    "to_label",
    "tokenize",
    "training_metrics",
    "upload_channels",
    "validate_hyperparameters",
    "word_tokenize",
]

DATA_PREFIX = "blazingtext/data/"  # + "train/train.txt", "validation/validation.txt"
OUTPUT_PREFIX = "blazingtext/output"  # the estimators' output_path in 07_blazingtext
ALGORITHM = "blazingtext"
# The course's hyperparameters (C1_W4): what its BlazingText jobs trained with.
COURSE_HYPERPARAMETERS: dict[str, Any] = {
    "mode": "supervised",
    "epochs": 10,
    "learning_rate": 0.01,
    "min_count": 2,
    "vector_dim": 300,
    "word_ngrams": 3,
}
SAMPLE_REVIEWS = ("This product is great!", "OK, but not great", "This is not the right product.")
LOCAL_ROLE = "arn:aws:iam::000000000000:role/service-role/LocalSageMakerExecutionRole"
LOCAL_ACCOUNT = "000000000000"
HOLDOUT_KEY = "data/balanced/holdout.csv"  # what 05_autopilot holds out (utils.endpoints)
BATCH_PREDICTIONS_PREFIX = "models/batch-predictions/"  # where 06 writes <input>.out files
_JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

log = logging.getLogger(__name__)
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")  # the labs use the v2 SDK on purpose
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)


# -- tokenizing --------------------------------------------------------------------------------
# The course tokenizes with nltk.word_tokenize: punkt sentence splitting, then the Treebank word
# tokenizer on each sentence. nltk and its punkt model are not installed here; these rules follow
# the Treebank tokenizer's (contractions, punctuation, the sentence-final period) and split
# sentences after '.', '!' or '?' followed by white space (punkt also knows abbreviations).
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_STARTING = (
    (re.compile(r'^"'), "``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r'([ (\[{<])("|\'{2})'), r"\1 `` "),
    (re.compile(r"(?i)(')(?!re|ve|ll|m|t|s|d|n)(\w)\b"), r"\1 \2"),
)
_PUNCTUATION = (
    (re.compile(r"([^.])(\.)([\]\)}>\"']*)\s*$"), r"\1 \2 \3 "),  # the sentence's last period
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}"), r" \g<0> "),
    (re.compile(r"[;@#$%&*]"), r" \g<0> "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[\]\[(){}<>]"), r" \g<0> "),
    (re.compile(r"--"), r" -- "),
)
_ENDING = (
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"(\S)('')"), r"\1 \2 "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
    (re.compile(r"(?i)\b(can)(not)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(gon|wan)(na)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(got)(ta)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(gim|lem)(me)\b"), r" \1 \2 "),
)


def word_tokenize(text: str) -> list[str]:
    """Split a text into words and punctuation, as ``nltk.word_tokenize`` does (approximately).

    ``"I'm not a fan of this product!"`` -> ``['I', "'m", 'not', 'a', 'fan', 'of', 'this',
    'product', '!']``; ``"don't"`` -> ``['do', "n't"]``. AWS equivalent: none (the course runs
    nltk in the notebook); nltk also knows abbreviations such as "e.g." that end no sentence.
    """
    tokens: list[str] = []
    for sentence in _SENTENCES.split(str(text).strip()):
        for pattern, replacement in _STARTING + _PUNCTUATION:
            sentence = pattern.sub(replacement, sentence)
        sentence = f" {sentence} "
        for pattern, replacement in _ENDING:
            sentence = pattern.sub(replacement, sentence)
        tokens += sentence.split()
    return tokens


def tokenize(review: Any) -> str:
    """The course's ``tokenize``: drop commas and double quotes, lowercase, tokenize, join.

    ``"I don't like this product!"`` -> ``"i do n't like this product !"``. Use it for the
    training files and for the reviews sent to the endpoint (the course forgot the lowercasing
    when predicting, so its model saw "This" where it had learned "this").
    """
    text = str(review).replace(",", "").replace('"', "").lower()
    return " ".join(word_tokenize(text))


# -- labels and data ---------------------------------------------------------------------------
def to_label(sentiment: Any) -> str:
    """``-1`` -> ``'__label__-1'`` (an existing prefix is kept once), as the course's prepare_data."""
    value = str(sentiment).strip()
    value = value.removeprefix(LABEL_PREFIX)
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"label {sentiment!r}: a label needs a value without white space")
    return LABEL_PREFIX + value


def from_label(label: str) -> int | str:
    """``'__label__-1'`` -> ``-1`` (an int when the value is one, else the text)."""
    if not isinstance(label, str) or not label.startswith(LABEL_PREFIX):
        raise ValueError(f"{label!r} is not a BlazingText label: expected '{LABEL_PREFIX}<value>'")
    value = label[len(LABEL_PREFIX) :]
    try:
        return int(value)
    except ValueError:
        return value


def _need_columns(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ChannelDataError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ChannelDataError(
            f"{where}: no column(s) {missing}; the columns are {list(map(str, df.columns))}"
        )


def prepare_data(
    df: pd.DataFrame, label: str = "sentiment", text: str = "review_body"
) -> pd.DataFrame:
    """The course's ``prepare_data``: ``__label__`` prefixes and tokenized reviews (a new frame).

    Returns the columns ``sentiment`` and ``review_body`` (the input is not modified). AWS
    equivalent: the same pandas code in the course's notebook.
    """
    _need_columns(df, [label, text], "prepare_data")
    return pd.DataFrame(
        {"sentiment": df[label].map(to_label), "review_body": df[text].map(tokenize)}
    ).reset_index(drop=True)


def split_data(
    df: pd.DataFrame,
    validation_fraction: float = 0.10,
    seed: int = 42,
    label: str = "sentiment",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified train / validation split, seeded; the training rows come out shuffled.

    The course's ``train_test_split(df, test_size=0.10, stratify=df['sentiment'])``, with a seed.
    The balanced file is ordered by sentiment, and fastText learns from the lines in file order:
    trained on sorted lines it learns almost nothing, so the training rows are shuffled again
    explicitly (``train_test_split`` also permutes them).
    """
    from sklearn.model_selection import train_test_split

    _need_columns(df, [label], "split_data")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction={validation_fraction!r}: expected between 0 and 1")
    counts = df[label].value_counts()
    small = counts[counts < 2]
    if len(small):
        raise ChannelDataError(
            f"split_data: a stratified split needs at least 2 rows per class; "
            f"{dict(small)} have fewer"
        )
    train, validation = train_test_split(
        df, test_size=validation_fraction, stratify=df[label], random_state=seed, shuffle=True
    )
    train = train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return train, validation.reset_index(drop=True)


def channel_lines(df: pd.DataFrame, label: str = "sentiment", text: str = "review_body") -> str:
    """The rows as BlazingText's supervised format: ``__label__<value> <tokens>`` per line.

    The course wrote them with ``to_csv(sep=' ')``, which wraps each review in double quotes
    (pandas quotes fields holding the separator), so the quotes became part of the first and last
    word; here each line is the label, a space and the tokens.
    """
    _need_columns(df, [label, text], "channel_lines")
    out = io.StringIO()
    for i, (lab, words) in enumerate(zip(df[label], df[text], strict=True)):
        if not isinstance(lab, str) or not lab.startswith(LABEL_PREFIX):
            raise ChannelDataError(
                f"row {i}: the label {lab!r} has no '{LABEL_PREFIX}' prefix (use to_label)"
            )
        out.write(f"{lab} {' '.join(str(words).split())}\n")
    return out.getvalue()


def upload_channels(
    lab: Any,
    train: pd.DataFrame,
    validation: pd.DataFrame | None = None,
    prefix: str = DATA_PREFIX,
) -> dict[str, str]:
    """Write the channel files and upload them; returns ``{"train": uri, "validation": uri}``.

    Objects: ``<prefix>train/train.txt`` and ``<prefix>validation/validation.txt``; each channel
    URI is its folder (an ``S3Prefix`` channel reads every object under it). Re-running replaces
    them. AWS equivalent: ``sess.upload_data(path, bucket, key_prefix='blazingtext/data')``.
    """
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    frames = {"train": train, "validation": validation}
    uris: dict[str, str] = {}
    for channel, frame in frames.items():
        if frame is None:
            continue
        if len(frame) == 0:
            raise ChannelDataError(f"the {channel} data set is empty: nothing to upload")
        body = channel_lines(frame).encode("utf-8")
        folder = lab.s3_uri(f"{prefix}{channel}/")
        lab.wr.s3.upload(local_file=io.BytesIO(body), path=f"{folder}{channel}.txt")
        uris[channel] = folder
    return uris


def read_channel(lab: Any, uri: str) -> pd.DataFrame:
    """Every line of the objects under ``uri`` as a frame with ``label`` and ``text`` columns."""
    lines = _channel_text(lab, uri, "channel").splitlines()
    rows = [_parse_line(line, uri, i + 1) for i, line in enumerate(lines) if line.strip()]
    return pd.DataFrame(
        [(" ".join(labels), words) for labels, words in rows], columns=["label", "text"]
    )


def _channel_text(lab: Any, uri: str, channel: str) -> str:
    objects = [u for u in lab.wr.s3.list_objects(uri) if not u.endswith("/")]
    if not objects:
        raise ChannelDataError(
            f"channel {channel!r}: no objects under {uri}; upload the data first "
            "(blazingtext.upload_channels)"
        )
    parts = []
    for obj in objects:
        buffer = io.BytesIO()
        lab.wr.s3.download(path=obj, local_file=buffer)
        try:
            text = buffer.getvalue().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelDataError(
                f"channel {channel!r}: {obj} is not UTF-8 text (byte {exc.start})"
            ) from None
        parts.append(text if text.endswith("\n") or not text else text + "\n")
    return "".join(parts)


def _wire(hyperparameters: dict[str, Any]) -> dict[str, str]:
    """Hyperparameters as the CreateTrainingJob request carries them: strings."""
    out = {}
    for key, value in hyperparameters.items():
        if isinstance(value, bool):
            out[key] = "True" if value else "False"
        else:
            out[key] = str(value)
    return out


# -- roles, images, names ----------------------------------------------------------------------
def execution_role(lab: Any, role: str | None = None) -> str:
    """The IAM role a training job runs as: ``role``, else ROLE / LAB_ROLE, else (aws)
    ``sagemaker.get_execution_role()``; locally a placeholder ARN (nothing assumes it).

    AWS equivalent: ``sagemaker.get_execution_role()`` in the course.
    """
    if role:
        return role
    if getattr(lab.config, "role", None):
        return str(lab.config.role)
    if lab.is_local:
        return LOCAL_ROLE
    try:
        import sagemaker

        return sagemaker.get_execution_role()
    except Exception as exc:  # noqa: BLE001 - outside SageMaker there is no execution role
        raise ConfigError(
            "a SageMaker training job needs an IAM role: set ROLE / LAB_ROLE to the ARN of a role "
            f"SageMaker can assume (get_execution_role() failed: {exc})"
        ) from exc


def _quiet_sagemaker() -> None:
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)


def image_uri(lab: Any, version: str | None = None) -> str:
    """The BlazingText container image for the lab's region (the same string on both backends).

    AWS equivalent: ``sagemaker.image_uris.retrieve(framework='blazingtext', region=region)``.
    """
    _quiet_sagemaker()
    from sagemaker import image_uris

    return image_uris.retrieve(framework=ALGORITHM, region=lab.region, version=version)


def is_blazingtext_image(uri: str) -> bool:
    """True for a BlazingText image URI (``<account>.dkr.ecr.<region>.amazonaws.com/blazingtext:1``)."""
    repository = str(uri).rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    return repository == ALGORITHM


def _name_from_base(base: str) -> str:
    _quiet_sagemaker()
    from sagemaker.utils import name_from_base

    return name_from_base(base)


# -- channels ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Channel:
    name: str
    uri: str
    content_type: str | None
    config: dict[str, Any]


def _channel(name: str, value: Any) -> _Channel:
    if isinstance(value, str):
        config: dict[str, Any] = {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": value,
                    "S3DataDistributionType": "FullyReplicated",
                }
            }
        }
    elif hasattr(value, "config") and isinstance(value.config, dict):
        config = dict(value.config)
    else:
        raise TypeError(
            f"channel {name!r}: expected an s3:// URI or sagemaker.inputs.TrainingInput, got "
            f"{type(value).__name__}"
        )
    source = config.get("DataSource", {})
    if "S3DataSource" not in source:
        raise NotImplementedError(
            f"channel {name!r}: only S3 data sources run locally (got {sorted(source)})"
        )
    s3 = source["S3DataSource"]
    data_type = s3.get("S3DataType", "S3Prefix")
    if data_type != "S3Prefix":
        raise NotImplementedError(
            f"channel {name!r}: s3_data_type={data_type!r} (a manifest) runs on the aws backend; "
            "locally a channel is an S3Prefix"
        )
    distribution = s3.get("S3DataDistributionType", "FullyReplicated")
    if distribution != "FullyReplicated":
        raise NotImplementedError(
            f"channel {name!r}: distribution={distribution!r}; BlazingText's supervised mode "
            "trains on one instance, so use 'FullyReplicated'"
        )
    content_type = config.get("ContentType")
    if content_type not in (None, "text/plain"):
        raise NotImplementedError(
            f"channel {name!r}: content_type={content_type!r}; locally BlazingText reads "
            "'text/plain' files (the augmented manifest format runs on the aws backend)"
        )
    for key in ("CompressionType", "RecordWrapperType", "InputMode", "ShuffleConfig"):
        if config.get(key) not in (None, "None", "File"):
            raise NotImplementedError(
                f"channel {name!r}: {key}={config[key]!r} is not implemented locally; leave it "
                "unset"
            )
    from utils.local.lake import parse_s3_uri

    parse_s3_uri(s3["S3Uri"])
    return _Channel(name, s3["S3Uri"], content_type, {"ChannelName": name, **config})


def _channels(inputs: Any) -> dict[str, _Channel]:
    if inputs is None:
        raise ChannelDataError(
            "fit(inputs=None): BlazingText needs the 'train' channel: "
            "fit({'train': train_data, 'validation': validation_data})"
        )
    if not isinstance(inputs, dict):
        raise ChannelDataError(
            "BlazingText reads the channels 'train' (required) and 'validation' (optional): "
            f"pass inputs={{'train': ..., 'validation': ...}}, not a {type(inputs).__name__} "
            "(a single input becomes the channel 'training', which BlazingText does not read)"
        )
    unknown = sorted(set(inputs) - {"train", "validation"})
    if unknown:
        raise ChannelDataError(
            f"channel(s) {unknown}: BlazingText's supervised mode reads 'train' and 'validation'"
        )
    if "train" not in inputs:
        raise ChannelDataError("the 'train' channel is required: fit({'train': ..., ...})")
    return {name: _channel(name, value) for name, value in inputs.items()}


# -- the model ---------------------------------------------------------------------------------
def load_model(lab: Any, model_data: str) -> FastTextClassifier:
    """Load ``model.bin`` from a BlazingText ``model.tar.gz`` in the lake (or S3) in-process.

    AWS equivalent: what the BlazingText endpoint does at startup; on ``aws`` this downloads the
    training job's artifact (BlazingText's ``model.bin`` is fastText's format).
    """
    from utils.local import blazingtext as engine

    with tempfile.TemporaryDirectory(prefix="blazingtext-") as tmp:
        archive = Path(tmp) / "model.tar.gz"
        with open(archive, "wb") as fh:
            lab.wr.s3.download(path=model_data, local_file=fh)
        extract_model(archive, Path(tmp))
        return engine.load_model(tmp)


def load_endpoint_model(lab: Any, model_data: str) -> FastTextClassifier:
    """The local endpoint's loader (``ModelSource.from_loader``): :func:`load_model`."""
    return load_model(lab, model_data)


# -- training jobs (local) ---------------------------------------------------------------------
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _jobs_dir(lab: Any) -> Path:
    return Path(lab.home) / "training-jobs"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _dates(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        if isinstance(out.get(key), str):
            out[key] = dt.datetime.fromisoformat(out[key])
    for metric in out.get("FinalMetricDataList", []):
        if isinstance(metric.get("Timestamp"), str):
            metric["Timestamp"] = dt.datetime.fromisoformat(metric["Timestamp"])
    return out


class LocalTrainingJob:
    """``estimator.latest_training_job`` on the local backend: name, describe(), wait(), logs.

    AWS equivalent: the sagemaker SDK's ``_TrainingJob`` (DescribeTrainingJob, waiting).
    """

    def __init__(self, lab: Any, name: str) -> None:
        self.lab = lab
        self.name = name
        self.job_name = name

    @property
    def record_path(self) -> Path:
        return _jobs_dir(self.lab) / f"{self.name}.json"

    @property
    def log_path(self) -> Path:
        return _jobs_dir(self.lab) / f"{self.name}.log"

    def describe(self) -> dict[str, Any]:
        """DescribeTrainingJob's response: status, hyperparameters, channels, metrics, model."""
        try:
            record = json.loads(self.record_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LabError(f"no training job {self.name!r} in {_jobs_dir(self.lab)}") from None
        return _dates(record)

    def logs(self) -> str:
        """The job's log (CloudWatch's ``/aws/sagemaker/TrainingJobs`` stream)."""
        try:
            return self.log_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def wait(self, logs: bool | str = True) -> None:
        """Return once the job has ended (local jobs end inside ``fit``); raise if it Failed."""
        if logs not in (False, "None", None):
            print(self.logs(), end="")
        desc = self.describe()
        if desc["TrainingJobStatus"] == "Failed":
            raise TrainingJobFailed(
                f"Error for Training job {self.name}: Failed. Reason: {desc.get('FailureReason')}"
            )

    def __repr__(self) -> str:
        return f"LocalTrainingJob({self.name!r})"


class LocalTrainingJobAnalytics:
    """``estimator.training_job_analytics`` locally: ``dataframe()`` of the final metrics."""

    def __init__(self, job: LocalTrainingJob) -> None:
        self.job = job

    def dataframe(self, force_refresh: bool = False) -> pd.DataFrame:
        """Columns timestamp, metric_name, value, as the SDK's TrainingJobAnalytics."""
        metrics = self.job.describe().get("FinalMetricDataList", [])
        return pd.DataFrame(
            [{"timestamp": 0.0, "metric_name": m["MetricName"], "value": m["Value"]}
             for m in metrics],
            columns=["timestamp", "metric_name", "value"],
        )  # fmt: skip


class Estimator:
    """BlazingText training on the local backend, with the sagemaker SDK ``Estimator``'s calls.

    AWS equivalent: ``sagemaker.estimator.Estimator(image_uri=<blazingtext image>, role, ...)``.
    Get the class bound to a lab as ``lab.Estimator``. ``set_hyperparameters`` checks the
    values at once; ``fit({'train': ..., 'validation': ...})`` trains fastText on the
    channels' files, logs ``#train_accuracy`` and ``#validation_accuracy`` as BlazingText does,
    and stores ``model.tar.gz`` (holding ``model.bin``) under ``<output_path>/<job>/output/``;
    ``deploy`` serves it from a local endpoint. Arguments that only mean something on AWS
    (instance type, volume size, max run) are checked and recorded.
    """

    lab: Any = None  # set by estimator_class(lab)

    def __init__(
        self,
        image_uri: str,
        role: str | None = None,
        instance_count: int | None = None,
        instance_type: str | None = None,
        keep_alive_period_in_seconds: int | None = None,
        volume_size: int = 30,
        volume_kms_key: str | None = None,
        max_run: int = 86400,
        input_mode: str = "File",
        output_path: str | None = None,
        output_kms_key: str | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Any = None,
        hyperparameters: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.lab is None:
            raise ConfigError(
                "use lab.Estimator (blazingtext.estimator_class(lab)): the Estimator of the "
                "lab's backend"
            )
        for name, value in {
            "keep_alive_period_in_seconds": keep_alive_period_in_seconds,
            "volume_kms_key": volume_kms_key,
            "output_kms_key": output_kms_key,
            "sagemaker_session": sagemaker_session,
            **kwargs,
        }.items():
            if value not in (None, False):
                raise NotImplementedError(
                    f"local backend: Estimator({name}=...) is not implemented; it runs on the "
                    f"aws backend. Leave {name} unset locally."
                )
        if not is_blazingtext_image(image_uri):
            raise NotImplementedError(
                f"image_uri={image_uri!r}: the local backend trains the BlazingText image only "
                "(sagemaker.image_uris.retrieve(framework='blazingtext', region=region))"
            )
        if instance_count not in (None, 1):
            raise ValueError(
                f"instance_count={instance_count!r}: BlazingText's supervised mode trains on one "
                "instance; use 1"
            )
        if instance_type is not None and not str(instance_type).startswith("ml."):
            raise ValueError(
                f"instance_type={instance_type!r}: expected a SageMaker instance type such as "
                "'ml.m5.large' (locally it is recorded, not emulated)"
            )
        for name, value in (("volume_size", volume_size), ("max_run", max_run)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}: expected a positive whole number")
        if input_mode != "File":
            raise NotImplementedError(
                f"input_mode={input_mode!r}: BlazingText reads text files in 'File' mode (Pipe "
                "mode takes an augmented manifest, on the aws backend)"
            )
        if output_path is not None:
            from utils.local.lake import parse_s3_uri

            parse_s3_uri(output_path)
        self.image_uri = image_uri
        self.role = execution_role(self.lab, role)
        self.instance_count = instance_count or 1
        self.instance_type = instance_type
        self.volume_size = volume_size
        self.max_run = max_run
        self.input_mode = input_mode
        self.output_path = output_path or f"s3://{self.lab.bucket}/"
        self.base_job_name = base_job_name
        self.tags = tags or []
        self._hyperparameters: dict[str, Any] = {}
        self.latest_training_job: LocalTrainingJob | None = None
        self.set_hyperparameters(**(hyperparameters or {}))  # checked now, as the SDK's

    # -- the SDK's calls ---------------------------------------------------------------------
    def set_hyperparameters(self, **kwargs: Any) -> None:
        """Set (merge) hyperparameters; they are checked now, as BlazingText would at start.

        A value of None leaves that hyperparameter unset (BlazingText's default applies).
        """
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        merged = {**self._hyperparameters, **kwargs}
        validate_hyperparameters(merged, local=True, partial=True)
        self._hyperparameters = merged

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as set (the SDK returns them unchanged)."""
        return dict(self._hyperparameters)

    @property
    def model_data(self) -> str:
        """``<output_path>/<job>/output/model.tar.gz`` of the latest job."""
        job = self._latest("model_data")
        return self._model_uri(job.name)

    @property
    def training_job_analytics(self) -> LocalTrainingJobAnalytics:
        """The final metrics (``train:accuracy``, ``validation:accuracy``) as a DataFrame."""
        return LocalTrainingJobAnalytics(self._latest("training_job_analytics"))

    def logs(self) -> None:
        """Print the latest job's log. AWS: ``estimator.logs()`` (CloudWatch)."""
        print(self._latest("logs").logs(), end="")

    def _latest(self, what: str) -> LocalTrainingJob:
        if self.latest_training_job is None:
            raise ValueError(f"{what}: no training job yet; call fit(...) first")
        return self.latest_training_job

    def _model_uri(self, job_name: str) -> str:
        return f"{self.output_path.rstrip('/')}/{job_name}/output/model.tar.gz"

    def fit(
        self,
        inputs: dict[str, Any] | None = None,
        wait: bool = True,
        logs: str = "All",
        job_name: str | None = None,
        experiment_config: dict[str, str] | None = None,
    ) -> None:
        """Train on the ``train`` channel, report accuracy on both channels, store the model.

        AWS equivalent: CreateTrainingJob with the BlazingText image (``wait=False`` returns at
        once there). Locally the job runs within this call (seconds); ``wait`` and ``logs`` only
        decide whether its log is printed. A failure raises :class:`TrainingJobFailed` and the
        job's record says Failed with the reason.
        """
        if experiment_config is not None:
            raise NotImplementedError("local backend: fit(experiment_config=...) runs on aws")
        hp = validate_hyperparameters(self._hyperparameters, local=True)
        if hp["early_stopping"]:
            raise NotImplementedError(
                "early_stopping=True: the local backend trains all `epochs` (fastText has no "
                "early stopping); set early_stopping=False locally, or run on the aws backend"
            )
        channels = _channels(inputs)
        name = job_name or _name_from_base(self.base_job_name or ALGORITHM)
        if not _JOB_NAME_RE.match(name):
            raise ValueError(
                f"job_name={name!r}: use 1 to 63 letters, digits and hyphens (SageMaker's rule)"
            )
        job = LocalTrainingJob(self.lab, name)
        if job.record_path.exists():
            raise LabError(
                f"ResourceInUse: a training job named {name!r} exists already; training job "
                "names are unique: pass another job_name (or none, for a timestamped one)"
            )
        self.latest_training_job = job
        _run_job(self, job, channels, hp)
        if wait and logs not in (False, "None", None):
            print(job.logs(), end="")
        job.wait(logs=False)

    def deploy(
        self,
        initial_instance_count: int | None = None,
        instance_type: str | None = None,
        serializer: Any = None,
        deserializer: Any = None,
        accelerator_type: str | None = None,
        endpoint_name: str | None = None,
        use_compiled_model: bool = False,
        wait: bool = True,
        model_name: str | None = None,
        kms_key: str | None = None,
        data_capture_config: Any = None,
        tags: list[dict[str, str]] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Serve the latest model from a local endpoint; returns the SDK's ``Predictor``.

        AWS equivalent: ``estimator.deploy(initial_instance_count=1, instance_type='ml.m5.large',
        serializer=JSONSerializer(), deserializer=JSONDeserializer())``: CreateModel,
        CreateEndpointConfig, CreateEndpoint. The endpoint answers as BlazingText's container
        (:meth:`FastTextClassifier.invocations`). It is named ``blazingtext-<timestamp>`` unless
        ``endpoint_name`` is given, and runs until ``predictor.delete_endpoint()``.
        """
        for name, value in {
            "accelerator_type": accelerator_type,
            "use_compiled_model": use_compiled_model,
            "kms_key": kms_key,
            "data_capture_config": data_capture_config,
            **kwargs,
        }.items():
            if value not in (None, False):
                raise NotImplementedError(
                    f"local backend: deploy({name}=...) is not implemented; it runs on the aws "
                    f"backend. Leave {name} unset locally."
                )
        from utils import endpoints

        job = self._latest("deploy")
        job.wait(logs=False)
        default = _name_from_base(self.base_job_name or ALGORITHM)
        source = endpoints.ModelSource.from_loader(
            load_endpoint_model, model_data=self._model_uri(job.name)
        )
        return endpoints.deploy_model(
            self.lab,
            source,
            endpoint_name or default,
            initial_instance_count=initial_instance_count or 1,
            instance_type=instance_type or "ml.m5.large",
            wait=wait,
            serializer=serializer,
            deserializer=deserializer,
            model_name=model_name or default,
            tags=tags,
        )

    def __repr__(self) -> str:
        job = self.latest_training_job.name if self.latest_training_job else None
        return f"Estimator(BlazingText, local, latest_training_job={job!r})"


def _run_job(
    estimator: Estimator, job: LocalTrainingJob, channels: dict[str, _Channel], hp: dict[str, Any]
) -> None:
    """Run one local training job and write its record, log and model artifact."""
    lab = estimator.lab
    created = _now()
    record: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": f"arn:aws:sagemaker:{lab.region}:{LOCAL_ACCOUNT}:training-job/"
        f"{job.name.lower()}",
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
        "HyperParameters": _wire(estimator._hyperparameters),
        "AlgorithmSpecification": {
            "TrainingImage": estimator.image_uri,
            "TrainingInputMode": estimator.input_mode,
            "EnableSageMakerMetricsTimeSeries": False,
        },
        "RoleArn": estimator.role,
        "InputDataConfig": [c.config for c in channels.values()],
        "OutputDataConfig": {"S3OutputPath": estimator.output_path},
        "ResourceConfig": {
            "InstanceType": estimator.instance_type,
            "InstanceCount": estimator.instance_count,
            "VolumeSizeInGB": estimator.volume_size,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": estimator.max_run},
        "CreationTime": created.isoformat(),
        "TrainingStartTime": created.isoformat(),
        "LastModifiedTime": created.isoformat(),
        "Tags": estimator.tags,
        "Local": {
            "Engine": engine_name(),
            "Threads": LOCAL_THREADS,
            "Seed": int(lab.config.seed),
            "Pid": os.getpid(),
        },
    }
    _write_json(job.record_path, record)
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(f"[{_now().strftime('%Y-%m-%dT%H:%M:%S')}] {text}")

    work = Path(tempfile.mkdtemp(prefix=f".{job.name}-", dir=_jobs_dir(lab)))
    try:
        say(f"Arguments: train (local backend: {engine_name()}, {LOCAL_THREADS} thread, "
            f"seed {lab.config.seed})")  # fmt: skip
        say(f"Hyperparameters: {json.dumps(_wire(estimator._hyperparameters), sort_keys=True)}")
        data: dict[str, list[tuple[list[str], str]]] = {}
        for name, channel in channels.items():
            text = _channel_text(lab, channel.uri, name)
            rows = parse_rows(text, f"channel {name!r} ({channel.uri})")
            if not rows:
                raise ChannelDataError(
                    f"channel {name!r}: the objects under {channel.uri} are empty"
                )
            data[name] = rows
            say(f"Channel {name}: {channel.uri} ({len(rows)} lines)")
        model_bin = work / "model.bin"
        result = fit_supervised(
            data, hp, seed=int(lab.config.seed), work=work, model_path=model_bin, log=say,
            warn=lambda message: warnings.warn(message, UserWarning, stacklevel=4),
            trainer=_train_in_child,  # looked up now: a test may replace it
        )  # fmt: skip
        metrics: list[dict[str, Any]] = []
        for name in ("train", "validation"):
            if name not in data:
                continue
            accuracy = result[f"{name}:accuracy"]
            say(f"#{name}_accuracy: {accuracy:.4f}")
            say(f"Number of {name} examples: {len(data[name])}")
            metrics.append({"MetricName": f"{name}:accuracy", "Value": accuracy,
                            "Timestamp": _now().isoformat()})  # fmt: skip
        uri = estimator._model_uri(job.name)
        say(f"Uploading the model: {uri} (model.bin, {model_bin.stat().st_size / 1e6:.1f} MB)")
        _store_artifact(lab, model_bin, uri, work)
        ended = _now()
        record.update({
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": uri},
            "FinalMetricDataList": metrics,
            "TrainingEndTime": ended.isoformat(),
            "LastModifiedTime": ended.isoformat(),
            "TrainingTimeInSeconds": max(1, round((ended - created).total_seconds())),
            "BillableTimeInSeconds": 0,
        })  # fmt: skip
        say(f"Training job {job.name} completed.")
    except Exception as exc:  # noqa: BLE001 - any failure ends the job Failed, with the reason
        expected = isinstance(exc, LabError | NotImplementedError | OSError)
        reason = f"ClientError: {exc}" if isinstance(exc, ChannelDataError) else str(exc)
        reason = reason if expected else f"InternalServerError: {type(exc).__name__}: {exc}"
        say(f"Training job {job.name} failed: {reason}")
        ended = _now()
        record.update({
            "TrainingJobStatus": "Failed",
            "SecondaryStatus": "Failed",
            "FailureReason": reason,
            "TrainingEndTime": ended.isoformat(),
            "LastModifiedTime": ended.isoformat(),
        })  # fmt: skip
        if not expected:
            raise  # a bug, not bad input: keep its traceback (fit's wait() would hide it)
    finally:
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        job.log_path.write_text("".join(f"{line}\n" for line in lines), "utf-8")
        _write_json(job.record_path, record)
        shutil.rmtree(work, ignore_errors=True)


def _store_artifact(lab: Any, model_bin: Path, uri: str, work: Path) -> None:
    """``model.tar.gz`` with ``model.bin`` at ``uri``, written without holding it in memory."""
    archive = work / "model.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(model_bin, arcname="model.bin")
    if lab.is_local:
        target = lab.local_path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(archive, staged)
        os.replace(staged, target)
    else:  # pragma: no cover - the aws backend trains in SageMaker, not here
        lab.wr.s3.upload(local_file=str(archive), path=uri)


def estimator_class(lab: Any) -> type:
    """The ``Estimator`` class of the lab's backend, used as the course uses the SDK's.

    AWS equivalent: ``sagemaker.estimator.Estimator``; on ``aws`` it is a subclass that defaults
    ``sagemaker_session`` (the lab's region and bucket) and ``role`` (:func:`execution_role`),
    and checks BlazingText hyperparameters in ``set_hyperparameters`` and before ``fit`` starts
    a job. On ``local`` it is :class:`Estimator` bound to the lab.
    """
    if lab.is_local:
        return type("Estimator", (Estimator,), {"lab": lab, "__module__": __name__})
    _quiet_sagemaker()
    import boto3
    import sagemaker
    from sagemaker.estimator import Estimator as SDKEstimator

    class BlazingTextEstimator(SDKEstimator):  # type: ignore[misc, valid-type]
        """The SDK's Estimator; BlazingText hyperparameters are checked before a job starts."""

        def __init__(self, image_uri: str, role: str | None = None, *args: Any,
                     sagemaker_session: Any = None, **kwargs: Any) -> None:  # fmt: skip
            if sagemaker_session is None:
                sagemaker_session = sagemaker.Session(
                    boto_session=boto3.Session(region_name=lab.region), default_bucket=lab.bucket
                )
            super().__init__(
                image_uri, execution_role(lab, role), *args,
                sagemaker_session=sagemaker_session, **kwargs,
            )  # fmt: skip

        def _check(self, hyperparameters: dict[str, Any], partial: bool) -> None:
            if is_blazingtext_image(str(self.image_uri)):
                validate_hyperparameters(hyperparameters, local=False, partial=partial)

        def set_hyperparameters(self, **kwargs: Any) -> None:
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            self._check({**(self.hyperparameters() or {}), **kwargs}, partial=True)
            super().set_hyperparameters(**kwargs)

        def fit(self, inputs: Any = None, *args: Any, **kwargs: Any) -> None:
            self._check(dict(self.hyperparameters() or {}), partial=False)
            if is_blazingtext_image(str(self.image_uri)):
                _channels(inputs)  # 'train' present, no unknown channel
            super().fit(inputs, *args, **kwargs)

    BlazingTextEstimator.__name__ = BlazingTextEstimator.__qualname__ = "Estimator"
    return BlazingTextEstimator


def training_metrics(estimator: Any) -> dict[str, float]:
    """``{"train:accuracy": ..., "validation:accuracy": ...}`` of the latest job (NaN if absent).

    AWS equivalent: ``FinalMetricDataList`` of DescribeTrainingJob (what
    ``estimator.training_job_analytics`` reads from CloudWatch, available at once).
    """
    job = estimator.latest_training_job
    if job is None:
        raise ValueError("no training job yet: call estimator.fit(...) first")
    desc = job.describe()
    if desc.get("TrainingJobStatus") != "Completed":
        raise TrainingJobFailed(
            f"training job {desc.get('TrainingJobName')} is {desc.get('TrainingJobStatus')}: "
            f"{desc.get('FailureReason', 'wait for it to complete')}"
        )
    values = {m["MetricName"]: float(m["Value"]) for m in desc.get("FinalMetricDataList", [])}
    return {k: values.get(k, float("nan")) for k in ("train:accuracy", "validation:accuracy")}


def predict_sentiments(
    predictor: Any, reviews: Iterable[Any], batch_size: int = 500, tokenized: bool = False
) -> pd.DataFrame:
    """Ask a BlazingText endpoint about reviews, in batches; one row per review.

    Columns: ``review``, ``predicted_label`` (``__label__1``), ``probability`` and
    ``sentiment`` (``1``). The reviews are tokenized first unless ``tokenized``. AWS
    equivalent: ``predictor.predict({"instances": [...]})`` with ``JSONSerializer`` /
    ``JSONDeserializer``, as in the course.
    """
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import JSONSerializer

    texts = [str(r) for r in reviews]
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: expected at least 1")
    saved = predictor.serializer, predictor.deserializer
    predictor.serializer, predictor.deserializer = JSONSerializer(), JSONDeserializer()
    rows = []
    try:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            sent = batch if tokenized else [tokenize(t) for t in batch]
            answer = predictor.predict({"instances": sent})
            if len(answer) != len(batch):
                raise LabError(f"sent {len(batch)} reviews, got {len(answer)} answers")
            for text, item in zip(batch, answer, strict=True):
                label = item["label"][0]
                rows.append((text, label, float(item["prob"][0]), from_label(label)))
    finally:
        predictor.serializer, predictor.deserializer = saved
    return pd.DataFrame(rows, columns=["review", "predicted_label", "probability", "sentiment"])


# -- comparing with Autopilot ----------------------------------------------------------------
@dataclass
class Comparison:
    """The comparison table and a sentence on what it could (not) compare."""

    table: pd.DataFrame
    message: str
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return f"Comparison({len(self.table)} models: {self.message})"


def autopilot_holdout(lab: Any) -> pd.DataFrame | None:
    """The reviews ``05_autopilot`` held out from its job (``data/balanced/holdout.csv``), or None.

    AWS equivalent: ``wr.s3.read_csv('s3://<bucket>/data/balanced/holdout.csv')``.
    """
    uri = lab.s3_uri(HOLDOUT_KEY)
    if not lab.wr.s3.does_object_exist(uri):
        return None
    frame = lab.wr.s3.read_csv(uri)
    _need_columns(frame, ["sentiment", "review_body"], uri)
    return frame


def exclude_reviews(df: pd.DataFrame, holdout: pd.DataFrame | None) -> pd.DataFrame:
    """``df`` without the reviews in ``holdout`` (matched on the review text), index reset."""
    if holdout is None or len(holdout) == 0:
        return df.reset_index(drop=True)
    _need_columns(df, ["review_body"], "exclude_reviews")
    held = set(holdout["review_body"].astype(str))
    found = held & set(df["review_body"].astype(str))
    if len(found) < 0.9 * len(held):
        warnings.warn(
            f"only {len(found)} of the {len(held)} held-out reviews are in the data: the holdout "
            "does not come from this balanced file (re-run 05_autopilot after 04_detect_bias), so "
            "the comparison may score BlazingText on reviews it trained on",
            UserWarning,
            stacklevel=2,
        )
    return df[~df["review_body"].astype(str).isin(held)].reset_index(drop=True)


def _newest_batch_output(lab: Any, name: str) -> str | None:
    prefix = lab.s3_uri(BATCH_PREDICTIONS_PREFIX)
    found = [u for u in lab.wr.s3.list_objects(prefix) if u.endswith(f"/{name}.out")]
    if not found:
        return None
    if lab.is_local:
        return max(found, key=lambda u: lab.local_path(u).stat().st_mtime)
    described = lab.wr.s3.describe_objects(found)
    return max(found, key=lambda u: described[u]["LastModified"])


def autopilot_predictions(lab: Any, holdout: pd.DataFrame) -> tuple[list[str] | None, str]:
    """The Autopilot endpoint's predicted labels for the holdout rows, from ``06_deploy_predict``.

    06 scores ``data/balanced/holdout.csv`` through its endpoint and writes the answers to
    ``s3://<bucket>/models/batch-predictions/<endpoint>/holdout.csv.out`` (one CSV line per
    review, as a batch transform job). Returns ``(labels, where)`` or ``(None, why not)``.
    """
    uri = _newest_batch_output(lab, HOLDOUT_KEY.rsplit("/", 1)[-1])
    if uri is None:
        return None, (
            "06_deploy_predict has not scored the holdout yet (no holdout.csv.out under "
            f"{lab.s3_uri(BATCH_PREDICTIONS_PREFIX)})"
        )
    buffer = io.BytesIO()
    lab.wr.s3.download(path=uri, local_file=buffer)
    rows = [r for r in csv.reader(io.StringIO(buffer.getvalue().decode("utf-8"))) if r]
    if len(rows) != len(holdout):
        return None, (
            f"{uri} has {len(rows)} answers for the {len(holdout)} holdout reviews: re-run "
            "06_deploy_predict after 05_autopilot"
        )
    known = {str(v) for v in holdout["sentiment"].unique()}
    width = min(len(r) for r in rows)
    for column in range(width):
        values = [r[column] for r in rows]
        if all(v in known for v in values):
            return values, uri
    return None, f"{uri}: no column of predicted labels (values in {sorted(known)}) found"


def _scores(name: str, truth: Sequence[Any], predicted: Sequence[Any], rows: str) -> dict:
    from utils.endpoints import evaluate

    result = evaluate(truth, predicted)
    return {"model": name, "evaluated_on": rows, "reviews": len(truth),
            "accuracy": result.accuracy, "f1_macro": result.f1_macro}  # fmt: skip


def compare_with_autopilot(
    lab: Any,
    predictor: Any,
    validation: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    name: str = "BlazingText",
) -> Comparison:
    """BlazingText and the Autopilot candidate, side by side, on the same reviews.

    When ``05_autopilot`` held out reviews (and this notebook kept them out of BlazingText's
    data), both models are scored on them: BlazingText through ``predictor``, Autopilot from
    ``06_deploy_predict``'s answers. Otherwise only BlazingText's row (on ``validation``: raw
    reviews, or :func:`prepare_data`'s output) is filled in, and ``message`` says which
    notebook to run. Columns: model, evaluated_on, reviews, accuracy, f1_macro; ``rows`` holds
    each review with the true and the predicted sentiments.
    """
    columns = ["model", "evaluated_on", "reviews", "accuracy", "f1_macro"]
    if holdout is None:
        rows = validation
        where = "BlazingText's validation split"
        message = (
            "no Autopilot holdout (data/balanced/holdout.csv): run 05_autopilot and "
            "06_deploy_predict, then this notebook again, to compare on the same reviews"
        )
    else:
        rows = holdout
        where = "Autopilot's holdout (05)"
        message = ""
    _need_columns(rows, ["sentiment", "review_body"], where)
    labels = rows["sentiment"].astype(str)
    prepared = bool(labels.str.startswith(LABEL_PREFIX).all())  # prepare_data's output
    truth = [str(from_label(v)) for v in labels] if prepared else labels.tolist()
    answers = predict_sentiments(predictor, rows["review_body"].tolist(), tokenized=prepared)
    scored = pd.DataFrame({"sentiment": truth, "review_body": rows["review_body"].tolist()})
    scored["blazingtext"] = answers["sentiment"].astype(str)
    table = [_scores(name, truth, scored["blazingtext"].tolist(), where)]
    if holdout is not None:
        predicted, source = autopilot_predictions(lab, holdout)
        if predicted is None:
            message = f"Autopilot not compared: {source}"
        else:
            scored["autopilot"] = predicted
            table.append(_scores("Autopilot best candidate", truth, predicted, where))
            message = f"both models on the {len(truth)} reviews 05_autopilot held out ({source})"
    return Comparison(pd.DataFrame(table, columns=columns), message, scored)


def model_ready(lab: Any) -> str | None:
    """A prerequisite check for what ``07_blazingtext`` leaves: a BlazingText ``model.tar.gz``.

    AWS equivalent: ``wr.s3.list_objects('s3://<bucket>/blazingtext/output/', suffix=
    'model.tar.gz')``. Returns None when there is one, else what is missing.
    """
    prefix = lab.s3_uri(OUTPUT_PREFIX + "/")
    if not lab.wr.s3.list_objects(prefix, suffix="model.tar.gz"):
        return f"no BlazingText model under {prefix} (backend {lab.backend!r})"
    return None


# -- training jobs: listing and (locally) deleting ---------------------------------------------
JOB_PREFIX = "blazingtext/"  # a training job is the labs' when its output is under this prefix


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _local_job_summaries(lab: Any) -> list[dict[str, Any]]:
    folder = _jobs_dir(lab)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            record = {"TrainingJobName": path.stem, "TrainingJobStatus": "Failed",
                      "FailureReason": "unreadable record"}  # fmt: skip
        status = record.get("TrainingJobStatus", "?")
        local = record.get("Local") or {}
        running = status == "InProgress" and _pid_alive(local.get("Pid"))
        work = [p for p in folder.glob(f".{path.stem}-*") if p.is_dir()]
        out.append({
            "TrainingJobName": record.get("TrainingJobName", path.stem),
            "TrainingJobStatus": status if running or status != "InProgress" else "Failed",
            "CreationTime": record.get("CreationTime"),
            "S3OutputPath": (record.get("OutputDataConfig") or {}).get("S3OutputPath"),
            "Running": running,
            "LocalBytes": sum(p.stat().st_size for p in [path, path.with_suffix(".log")]
                              if p.exists()) + sum(_tree_size(d) for d in work),
        })  # fmt: skip
    return out


def _tree_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path.is_file() else 0
    return total


def list_training_jobs(lab: Any) -> list[dict[str, Any]]:
    """The labs' BlazingText training jobs, newest first: ``TrainingJobName``,
    ``TrainingJobStatus``, ``CreationTime``, ``S3OutputPath``.

    AWS equivalent: ``sagemaker_client.list_training_jobs`` + ``describe_training_job``; a job
    is the labs' when its output is under ``s3://<bucket>/blazingtext/``. Locally every job
    recorded in the lab home is (``Running`` says whether its process still trains; a job whose
    process is gone is reported Failed), with ``LocalBytes`` on disk.
    """
    if lab.is_local:
        jobs = _local_job_summaries(lab)
    else:
        from utils.endpoints import sagemaker_client

        client = sagemaker_client(lab)
        prefix = lab.s3_uri(JOB_PREFIX)
        jobs = []
        kwargs: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending",
                                  "MaxResults": 100}  # fmt: skip
        while True:
            page = client.list_training_jobs(**kwargs)
            for summary in page.get("TrainingJobSummaries", []):
                desc = client.describe_training_job(TrainingJobName=summary["TrainingJobName"])
                output = (desc.get("OutputDataConfig") or {}).get("S3OutputPath", "")
                if (output.rstrip("/") + "/").startswith(prefix):
                    jobs.append({**summary, "S3OutputPath": output})
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return sorted(jobs, key=lambda j: str(j.get("CreationTime") or ""), reverse=True)


def delete_training_job(lab: Any, name: str) -> None:
    """Delete a finished local training job: its record, its log and any leftover work folder.

    The model it stored in the lake stays (it goes with ``s3://<bucket>/blazingtext/``). AWS
    equivalent: none; SageMaker keeps training job records (no charge), so this is local only.
    """
    if not lab.is_local:
        raise ConfigError("training-job records are kept by SageMaker on aws; nothing to delete")
    folder = _jobs_dir(lab)
    if not _JOB_NAME_RE.match(str(name)):
        raise ValueError(f"{name!r} is not a training job name")
    job = next((j for j in _local_job_summaries(lab) if j["TrainingJobName"] == name), None)
    if job is None:
        return
    if job["Running"]:
        raise LabError(f"training job {name} is still running (InProgress): let it finish first")
    for work in folder.glob(f".{name}-*"):
        shutil.rmtree(work, ignore_errors=True)
    for suffix in (".log", ".json"):
        (folder / f"{name}{suffix}").unlink(missing_ok=True)


def cleanup_training_jobs(lab: Any) -> list[str]:
    """Delete the finished local training jobs (records, logs); returns their names. Local only.

    The models in the lake stay: ``99_cleanup`` removes them with the ``blazingtext/`` prefix.
    """
    if not lab.is_local:
        raise ConfigError("training-job records are kept by SageMaker on aws; nothing to delete")
    removed = []
    for job in list_training_jobs(lab):
        if not job["Running"]:
            delete_training_job(lab, job["TrainingJobName"])
            removed.append(job["TrainingJobName"])
    return sorted(removed)
