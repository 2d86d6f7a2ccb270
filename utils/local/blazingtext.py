"""BlazingText's containers on the local backend: supervised mode (text classification), fastText.

AWS equivalent: SageMaker's built-in BlazingText image (``sagemaker.image_uris.retrieve(
framework="blazingtext", region=region)``). Its supervised mode extends fastText's text
classifier, so locally fastText itself trains and serves the model:

- :func:`train` is the training container (:mod:`utils.local.sagemaker.images` runs it in a
  training job's worker, :class:`utils.local.sagemaker.worker.Container`). It reads the
  ``train`` (required) and ``validation`` (optional) channels, one ``__label__<value> token
  token ...`` line per text; checks the hyperparameters as BlazingText does
  (:func:`validate_hyperparameters`: unknown names, types, ranges; BlazingText's defaults);
  trains fastText in a fresh child process; writes ``model.bin`` to ``/opt/ml/model``; and
  emits ``train:accuracy`` and ``validation:accuracy``, logging what BlazingText logs. A bad
  input fails the job with the reason BlazingText gives (``ClientError: ...``), also written to
  ``/opt/ml/output/failure``. Word2Vec modes fail the job: locally only supervised mode runs.
- :func:`load_model` is the inference container: the model of an unpacked ``model.tar.gz`` as a
  :class:`FastTextClassifier`, whose ``invocations`` hook answers endpoint requests in
  BlazingText's format (``{"instances": [...]}`` -> ``[{"label": [...], "prob": [...]}]``).

fastText trains with one thread and a fixed seed, so the same data and hyperparameters give the
same model. The course's helpers (tokenizing, labels, channel lines) are in ``utils.blazingtext``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import LabError

if TYPE_CHECKING:
    from utils.local.sagemaker.worker import Container

LABEL_PREFIX = "__label__"
CHANNELS = ("train", "validation")  # what supervised mode reads; train is required
CONTENT_TYPES = (None, "text/plain")  # File mode; the augmented manifest needs Pipe mode
MODEL_FILE = "model.bin"
LOCAL_THREADS = 1  # fastText threads locally: one thread makes a seeded run reproducible
FAILURE_FILE = "/opt/ml/output/failure"  # what SageMaker reads as the job's FailureReason
POLL_SECONDS = 0.25  # how often a running training checks for StopTrainingJob

Row = tuple[list[str], str]  # (labels, space-separated tokens) of one line


# -- errors ----------------------------------------------------------------------------------
class HyperparameterError(LabError, ValueError):
    """A hyperparameter BlazingText would refuse: unknown name, mode or value out of range."""


class ChannelDataError(LabError, ValueError):
    """A channel's data cannot be used: no objects, or a line not in BlazingText's format."""


class TrainingJobFailed(LabError, RuntimeError):
    """A training job ended Failed (as the SDK's ``UnexpectedStatusException``)."""


# -- hyperparameters ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    kind: type
    default: Any
    minimum: float | None = None
    strict: bool = False  # minimum excluded
    fasttext: str | None = None
    hint: str = ""


SUPERVISED_MODE = "supervised"
WORD2VEC_MODES = ("batch_skipgram", "skipgram", "cbow")
MODES = (SUPERVISED_MODE, *WORD2VEC_MODES)
# BlazingText's text classification hyperparameters (AWS docs: "BlazingText Hyperparameters").
SUPERVISED_HYPERPARAMETERS: dict[str, _Spec] = {
    "mode": _Spec(str, None, hint="'supervised'"),
    "buckets": _Spec(int, 2_000_000, 1, fasttext="bucket", hint="hash buckets for word n-grams"),
    "early_stopping": _Spec(bool, False, hint="stop when validation accuracy stops improving"),
    "epochs": _Spec(int, 5, 1, fasttext="epoch", hint="passes over the data"),
    "learning_rate": _Spec(float, 0.05, 0, strict=True, fasttext="lr", hint="step size"),
    "min_count": _Spec(int, 5, 0, fasttext="minCount", hint="drop rarer words"),
    "min_epochs": _Spec(int, 5, 1, hint="epochs before early stopping may stop"),
    "patience": _Spec(int, 4, 1, hint="epochs without improvement before stopping"),
    "vector_dim": _Spec(int, 100, 1, fasttext="dim", hint="size of the word vectors"),
    "word_ngrams": _Spec(int, 2, 1, fasttext="wordNgrams", hint="words per n-gram feature"),
}


def _typed(name: str, value: Any, spec: _Spec) -> Any:
    shown = f"{name}={value!r}"
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise HyperparameterError(f"{shown}: expected True or False")
    if isinstance(value, bool):
        raise HyperparameterError(f"{shown}: expected a number, not a boolean")
    if spec.kind is int:
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int | np.integer):
            raise HyperparameterError(f"{shown}: expected a whole number")
        value = int(value)
    else:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise HyperparameterError(f"{shown}: expected a number") from None
        if not math.isfinite(value):
            raise HyperparameterError(f"{shown}: expected a finite number")
    if spec.minimum is not None:
        low = spec.minimum
        if value < low or (spec.strict and value == low):
            what = {
                (int, 1): "a positive whole number (1, 2, ...)",
                (int, 0): "a whole number >= 0",
                (float, 0): "a positive number",
            }.get((spec.kind, int(low)), f"at least {low}")
            raise HyperparameterError(f"{shown}: expected {what} ({spec.hint})")
    return value


def validate_hyperparameters(
    hyperparameters: dict[str, Any], local: bool = False, partial: bool = False
) -> dict[str, Any]:
    """Check BlazingText hyperparameters; return the supervised ones typed, defaults filled in.

    Raises :class:`HyperparameterError` naming the parameter and what is allowed: an unknown
    ``mode`` or name, a value of the wrong type or out of range (``epochs=-1``). Word2Vec modes
    are passed through unchecked on ``aws``; the local backend trains ``mode='supervised'`` only
    (NotImplementedError). With ``partial`` (while hyperparameters are being set) a missing
    ``mode`` is not an error yet and the others are checked as supervised ones. AWS equivalent:
    the checks a BlazingText container makes when its job starts (a ``ClientError`` there).
    """
    if not isinstance(hyperparameters, dict):
        raise HyperparameterError(
            f"hyperparameters: expected a dict, got {type(hyperparameters).__name__}"
        )
    given = {str(k): v for k, v in hyperparameters.items()}
    if partial and given.get("mode") in (None, ""):
        given["mode"] = SUPERVISED_MODE
    if "mode" not in given or given["mode"] in (None, ""):
        raise HyperparameterError(
            "mode is required: set_hyperparameters(mode='supervised', ...) for text "
            f"classification; BlazingText's modes are {', '.join(map(repr, MODES))}"
        )
    mode = str(given["mode"]).strip()
    if mode not in MODES:
        close = difflib.get_close_matches(mode, MODES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise HyperparameterError(
            f"mode={given['mode']!r}: BlazingText's modes are 'supervised' (text "
            f"classification) and {', '.join(map(repr, WORD2VEC_MODES))} (Word2Vec){hint}"
        )
    if mode != SUPERVISED_MODE:
        if local:
            raise NotImplementedError(
                f"mode={mode!r} is BlazingText's Word2Vec mode; the local backend trains "
                "mode='supervised' only (text classification). Run Word2Vec with BACKEND='aws'."
            )
        return dict(given)
    unknown = sorted(set(given) - set(SUPERVISED_HYPERPARAMETERS))
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, SUPERVISED_HYPERPARAMETERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise HyperparameterError(
            f"unknown hyperparameter(s) {unknown} for mode='supervised'{hint}; allowed are "
            f"{sorted(SUPERVISED_HYPERPARAMETERS)}"
        )
    out: dict[str, Any] = {"mode": SUPERVISED_MODE}
    for name, spec in SUPERVISED_HYPERPARAMETERS.items():
        if name == "mode":
            continue
        value = given.get(name)
        out[name] = spec.default if value is None else _typed(name, value, spec)
    if out["early_stopping"] and out["min_epochs"] > out["epochs"]:
        raise HyperparameterError(
            f"min_epochs={out['min_epochs']} is more than epochs={out['epochs']}: early stopping "
            "can only stop after min_epochs"
        )
    return out


def fasttext_args(hp: dict[str, Any], seed: int, threads: int = LOCAL_THREADS) -> dict[str, Any]:
    """fastText's ``train_supervised`` arguments for checked BlazingText hyperparameters."""
    args = {spec.fasttext: hp[name] for name, spec in SUPERVISED_HYPERPARAMETERS.items()
            if spec.fasttext}  # fmt: skip
    return {**args, "loss": "softmax", "thread": threads, "seed": seed, "verbose": 0}


# -- the channels' lines -----------------------------------------------------------------------
def parse_line(line: str, where: str, number: int) -> Row:
    """``"__label__1 soft fabric"`` -> ``(["__label__1"], "soft fabric")``; ChannelDataError."""
    words = line.split()
    labels = []
    while words and words[0].startswith(LABEL_PREFIX):
        labels.append(words.pop(0))
    if not labels:
        raise ChannelDataError(
            f"{where} line {number}: a line starts with its label, '{LABEL_PREFIX}<value> "
            f"<tokens>'; got {line[:60]!r}"
        )
    return labels, " ".join(words)


def parse_rows(text: str, where: str) -> list[Row]:
    """Every non-blank line of a channel's text as ``(labels, tokens)``."""
    return [parse_line(line, where, i + 1) for i, line in enumerate(text.splitlines())
            if line.strip()]  # fmt: skip


def read_rows(path: str | os.PathLike[str]) -> list[Row]:
    """The lines of one channel file (see :func:`parse_rows`)."""
    return parse_rows(Path(path).read_text(encoding="utf-8"), str(path))


def label_order_warning(labels: list[str], where: str) -> str | None:
    """A warning when the lines are sorted by label (fastText then learns little), else None."""
    n = len(labels)
    if n < 20:
        return None
    runs = 1 + sum(1 for a, b in zip(labels, labels[1:], strict=False) if a != b)
    counts = Counter(labels)
    expected = 1 + (n - 1) * (1 - sum((c / n) ** 2 for c in counts.values()))
    if len(counts) > 1 and runs < 0.5 * expected:
        return (
            f"{where}: the lines are ordered by label ({runs} runs of equal labels in {n} lines, "
            f"about {expected:.0f} expected in shuffled data); fastText learns from the lines in "
            "order and learns little from sorted data: shuffle the rows before writing the file"
        )
    return None


# -- the model ---------------------------------------------------------------------------------
def _clean(text: Any) -> str:
    return " ".join(str(text).split())


def _label_key(label: str) -> tuple[int, float, str]:
    value = label.removeprefix(LABEL_PREFIX)
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


class FastTextClassifier:
    """A trained fastText supervised model with ``classes_``, ``predict`` and ``predict_proba``.

    AWS equivalent: the model a BlazingText endpoint loads from ``model.bin``. The texts are
    split on white space as BlazingText does: tokenize them first. fastText adds an end-of-line
    word to every text, so even an empty review gets an answer. :meth:`invocations` answers an
    endpoint request in BlazingText's own format (the local endpoint server's hook).
    """

    # what BlazingText's inference container takes (and answers in: Accept is ignored)
    content_types = ("application/json", "application/jsonlines")
    sample_request = (b'{"instances": ["warm-up review"]}', "application/json")

    def __init__(self, model: Any) -> None:
        self.model = model
        labels = list(model.get_labels())
        self.classes_ = sorted(labels, key=_label_key)

    def top_k(self, texts: Sequence[str], k: int = 1) -> list[dict[str, list[Any]]]:
        """BlazingText's answer per text: ``{"label": [...], "prob": [...]}``, most likely first.

        ``k`` above the number of labels gives every label, as fastText (and BlazingText) do.
        """
        cleaned = [_clean(t) for t in texts]
        if not cleaned:
            return []
        labels, probs = self.model.predict(cleaned, k=k)
        return [
            {"label": list(names), "prob": [min(float(v), 1.0) for v in values]}
            for names, values in zip(labels, probs, strict=True)
        ]

    def invocations(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        """Answer an endpoint request as BlazingText's container does (the endpoint's hook).

        ``application/json``: ``{"instances": ["tokens ...", ...], "configuration": {"k": 2}}``
        (``configuration`` optional, k=1 by default) -> ``[{"label": ["__label__1"], "prob":
        [0.93]}, ...]``. ``application/jsonlines`` (batch transform): one ``{"source": "tokens
        ...", "k": 2}`` per line -> one ``{"label": [...], "prob": [...]}`` per line. The answer
        is in the request's content type; ``accept`` is ignored, as BlazingText does when the
        two differ. A malformed request raises ValueError (the endpoint answers 400).
        """
        if content_type == "application/jsonlines":
            lines = [line for line in _utf8(body).splitlines() if line.strip()]
            out = []
            for i, line in enumerate(lines):
                record = _json(line, f"line {i + 1}")
                if not isinstance(record, dict) or not isinstance(record.get("source"), str):
                    raise ValueError(
                        f'line {i + 1}: expected {{"source": "tokenized review"}} (optionally '
                        f'with "k"), got {line[:80]}'
                    )
                out += self.top_k([record["source"]], _check_k(record.get("k", 1)))
            answer = "".join(json.dumps(item) + "\n" for item in out)
            return answer.encode("utf-8"), content_type
        instances, k = parse_request(body)
        return json.dumps(self.top_k(instances, k)).encode("utf-8"), "application/json"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        cleaned = [_clean(t) for t in texts]
        out = np.full((len(cleaned), len(self.classes_)), 1.0 / max(len(self.classes_), 1))
        if not cleaned:
            return out
        index = {c: i for i, c in enumerate(self.classes_)}
        labels, probs = self.model.predict(cleaned, k=-1)
        for row, (names, values) in enumerate(zip(labels, probs, strict=True)):
            if len(names):
                out[row] = 0.0
                for name, value in zip(names, values, strict=True):
                    out[row, index[name]] = min(float(value), 1.0)
        return out

    def predict(self, texts: Sequence[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.classes_[i] for i in proba.argmax(axis=1)]


def _utf8(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the request is not UTF-8 text (byte {exc.start})") from None


def _json(text: str, where: str = "the request") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{where} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f'"configuration": {{"k": {json.dumps(k)}}}: k is a positive whole number')
    return k


def parse_request(body: bytes | str | dict[str, Any]) -> tuple[list[str], int]:
    """``(instances, k)`` of BlazingText's JSON request; ValueError saying what is wrong.

    AWS equivalent: what BlazingText's inference container reads: ``{"instances": ["tokenized
    review", ...], "configuration": {"k": 2}}``.
    """
    data = body if isinstance(body, dict) else _json(_utf8(body))
    if not isinstance(data, dict) or "instances" not in data:
        shown = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(
            'BlazingText takes {"instances": ["tokenized review", ...]} (optionally with '
            f'"configuration": {{"k": 2}}), got {shown}'
        )
    instances = data["instances"]
    if not isinstance(instances, list):
        raise ValueError(f'"instances" must be a list of texts, got {type(instances).__name__}')
    for i, text in enumerate(instances):
        if not isinstance(text, str):
            raise ValueError(
                f'"instances" must be a list of texts (tokenized reviews): instance {i} is '
                f"{json.dumps(text)[:60]}"
            )
    configuration = data.get("configuration") or {}
    if not isinstance(configuration, dict):
        raise ValueError(
            f'"configuration" must be an object such as {{"k": 2}}, got {configuration!r}'
        )
    return instances, _check_k(configuration.get("k", 1))


def extract_model(tar_path: Path, folder: Path) -> Path:
    """Unpack ``model.bin`` of a BlazingText ``model.tar.gz`` into ``folder``; its path."""
    with tarfile.open(tar_path, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if Path(m.name).name == MODEL_FILE), None)
        if member is None or not member.isfile():
            raise ChannelDataError(f"{tar_path.name}: no {MODEL_FILE} inside (BlazingText's model)")
        source = tar.extractfile(member)
        assert source is not None
        target = Path(folder) / MODEL_FILE
        with open(target, "wb") as fh:
            shutil.copyfileobj(source, fh)
    return target


def load_model(folder: str | os.PathLike[str]) -> FastTextClassifier:
    """The model in an unpacked BlazingText ``model.tar.gz`` (its ``model.bin``), ready to serve.

    AWS equivalent: BlazingText's inference container loading ``/opt/ml/model`` when an
    endpoint starts. The classifier's ``invocations`` hook answers as that container does.
    """
    import fasttext

    root = Path(folder)
    found = [root / MODEL_FILE] if (root / MODEL_FILE).is_file() else sorted(root.rglob(MODEL_FILE))
    if not found:
        raise FileNotFoundError(
            f"{root}: no {MODEL_FILE} (BlazingText's model): expected the unpacked model.tar.gz "
            "of a BlazingText training job"
        )
    return FastTextClassifier(fasttext.load_model(str(found[0])))


# -- training fastText in a child process ------------------------------------------------------
def _accuracy(classifier: FastTextClassifier, rows: list[Row]) -> float:
    if not rows:
        return float("nan")
    predicted = classifier.predict([text for _, text in rows])
    return float(np.mean([p in labels for p, (labels, _) in zip(predicted, rows, strict=True)]))


def evaluate_files(model: Any, files: dict[str, str]) -> dict[str, float]:
    """Accuracy (and line count) of a fastText model on each channel file."""
    classifier = FastTextClassifier(model)
    out: dict[str, float] = {}
    for name, path in files.items():
        rows = read_rows(path)
        out[f"{name}:accuracy"] = _accuracy(classifier, rows)
        out[f"{name}:examples"] = float(len(rows))
    return out


# The training process. It imports fastText alone before training: fasttext-numpy2 0.10.4 reads
# memory it never initialized while it trains, so a model depends on what the process allocated
# and freed before (a second training in one process, or one after importing pandas, diverges
# with "Encountered NaN" at learning rates from about 0.05 up). The parent starts it with glibc's
# MALLOC_PERTURB_=255, which hands out zeroed memory: the same data and seed give the same model.
_CHILD = """
import json, sys, time
import fasttext
request = json.loads(sys.stdin.read())
started = time.perf_counter()
try:
    model = fasttext.train_supervised(input=request["files"]["train"], **request["args"])
except RuntimeError as exc:
    print(json.dumps({"ok": False, "error": str(exc)}))
    sys.exit(0)
seconds = time.perf_counter() - started
model.save_model(request["model_path"])
words, labels = len(model.words), len(model.labels)
from utils.local.blazingtext import evaluate_files
print(json.dumps({"ok": True, "seconds": seconds, "words": words, "labels": labels,
                  **evaluate_files(model, request["files"])}))
"""
CHILD_ENV = {"MALLOC_PERTURB_": "255", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}


def train_in_child(files: dict[str, str], args: dict[str, Any], model_path: Path,
                   stop: Callable[[], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Train in a new Python process; its result (accuracies, seconds, words) or
    :class:`TrainingJobFailed`. ``stop`` is called while it trains: an exception from it (a
    StopTrainingJob) ends the child and is raised again."""
    from utils.config import project_root

    root = str(project_root())
    env = {**os.environ, **CHILD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    request = json.dumps({"files": files, "args": args, "model_path": str(model_path)})
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env, cwd=root,
    )  # fmt: skip
    pending: str | None = request  # sent once: a retried communicate() takes no input
    try:
        while True:
            try:
                stdout, stderr = proc.communicate(pending, timeout=POLL_SECONDS if stop else None)
                break
            except subprocess.TimeoutExpired:
                pending = None
                if stop is not None:
                    stop()
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    lines = stdout.strip().splitlines()
    answer = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    if answer is None:
        tail = " | ".join(stderr.strip().splitlines()[-3:]) or "no message"
        raise TrainingJobFailed(
            f"the training process died (exit code {proc.returncode}: {tail}); if it ran out of "
            "memory: a model holds (words + buckets) x vector_dim numbers, lower buckets or "
            "vector_dim"
        )
    if not answer.pop("ok"):
        error = answer["error"]
        hint = " (training diverged: lower learning_rate)" if "NaN" in error else ""
        raise TrainingJobFailed(f"fastText failed: {error}{hint}")
    return answer


def engine_name() -> str:
    """``fastText (fasttext-numpy2 0.10.4)``: what trains locally, for the logs."""
    try:
        from importlib.metadata import version

        return f"fastText (fasttext-numpy2 {version('fasttext-numpy2')})"
    except Exception:  # noqa: BLE001 - only a label in the log
        return "fastText"


def fit_supervised(
    data: dict[str, list[Row]],
    hp: dict[str, Any],
    *,
    seed: int,
    work: Path,
    model_path: Path,
    log: Callable[[str], None],
    warn: Callable[[str], None],
    trainer: Callable[..., dict[str, Any]] | None = None,
    stop: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train BlazingText's supervised mode on parsed channels; the child's result.

    ``data`` holds the ``train`` rows (and optionally ``validation``), ``hp`` the checked
    hyperparameters. Writes ``model_path`` (fastText's ``model.bin``) and logs the training as
    BlazingText does. ``trainer`` defaults to :func:`train_in_child`.
    """
    labels = {label for row_labels, _ in data["train"] for label in row_labels}
    if len(labels) < 2:
        raise ChannelDataError(
            "channel 'train': every line has the same label; a classifier needs two or more"
        )
    message = label_order_warning([row[0][0] for row in data["train"]], "channel 'train'")
    if message:
        warn(message)
    work.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for name, rows in data.items():
        path = work / f"{name}.txt"
        path.write_text("".join(f"{' '.join(row_labels)} {words}\n" for row_labels, words in rows),
                        encoding="utf-8")  # fmt: skip
        files[name] = str(path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    result = (trainer or train_in_child)(files, fasttext_args(hp, seed), model_path, stop=stop)
    seconds = max(float(result["seconds"]), 1e-9)
    words = sum(len(w.split()) for _, w in data["train"]) * hp["epochs"]
    if "words" in result:
        log(f"Number of words:  {result['words']}")
        log(f"Number of labels: {result['labels']}")
    log(f"##### Alpha: 0.0000  Progress: 100.00%  Million Words/sec: "
        f"{words / seconds / 1e6:.2f} #####")  # fmt: skip
    log("Training finished.")
    log(f"Average throughput in Million words/sec: {words / seconds / 1e6:.2f}")
    log(f"Total training time in seconds: {seconds:.2f}")
    return result


# -- the training container --------------------------------------------------------------------
def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%m/%d/%Y %H:%M:%S")


def _channel_rows(container: Container, name: str, folder: Path, uri: str) -> list[Row]:
    rows: list[Row] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        inside = "/" + path.relative_to(container.root).as_posix()
        container.log(f"[{_stamp()} INFO] Processing {inside} . File size: "
                      f"{path.stat().st_size / 1e6:.2f} MB")  # fmt: skip
        where = f"channel {name!r} ({uri}, file {path.relative_to(folder).as_posix()})"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelDataError(f"{where}: not UTF-8 text (byte {exc.start})") from None
        rows += parse_rows(text, where)
    if not rows:
        raise ChannelDataError(f"channel {name!r}: the objects under {uri} hold no lines")
    return rows


def _channels(container: Container) -> dict[str, list[Row]]:
    configs = {c["ChannelName"]: c for c in container.record.get("InputDataConfig") or []}
    found = container.channels
    unknown = sorted(set(found) - set(CHANNELS))
    if unknown:
        raise ChannelDataError(
            f"channel(s) {unknown}: BlazingText's supervised mode reads the channels 'train' "
            "(required) and 'validation' (optional)"
        )
    if "train" not in found:
        raise ChannelDataError(
            "the 'train' channel is required: fit({'train': ..., 'validation': ...})"
        )
    data = {}
    for name in CHANNELS:
        if name not in found:
            continue
        config = configs.get(name, {})
        content_type = config.get("ContentType")
        if content_type not in CONTENT_TYPES:
            raise ChannelDataError(
                f"channel {name!r}: ContentType {content_type!r}; in File mode BlazingText reads "
                "'text/plain' files, one '__label__<value> <tokens>' line per text (the "
                "augmented manifest, application/jsonlines, needs Pipe mode)"
            )
        uri = config.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri", name)
        data[name] = _channel_rows(container, name, found[name], uri)
    return data


def _checker(container: Container) -> Callable[[], None]:
    """What a running training checks: a StopTrainingJob, and MaxRuntimeInSeconds."""
    limit = (container.record.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    deadline = time.monotonic() + limit if limit else None

    def check() -> None:
        container.check_stop()
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"the job ran past MaxRuntimeInSeconds={limit}")

    return check


def _train(container: Container) -> None:
    check = _checker(container)
    log = container.log
    log("Arguments: train")
    given = json.dumps(container.hyperparameters, sort_keys=True)
    log(f"[{_stamp()} INFO] Hyperparameters: {given}")
    hp = validate_hyperparameters(container.hyperparameters, local=True)
    if hp["early_stopping"]:
        raise NotImplementedError(
            "local backend: early_stopping=True is not implemented locally (fastText has no "
            "early stopping: the local job trains all `epochs`); set early_stopping=False, or "
            "run on BACKEND='aws'"
        )
    log(f"[{_stamp()} INFO] Running single machine CPU BlazingText training using supervised "
        f"mode (local backend: {engine_name()}, {LOCAL_THREADS} thread, seed {container.seed}).")  # fmt: skip
    data = _channels(container)
    if "validation" in data:
        log(f"Loaded validation data: {len(data['validation'])} lines.")
    check()
    work = container.path("/tmp/blazingtext")
    try:
        result = fit_supervised(
            data, hp, seed=container.seed, work=work,
            model_path=container.model_dir / MODEL_FILE, log=log,
            warn=lambda message: log(f"[{_stamp()} WARNING] {message}"), stop=check,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name in CHANNELS:
        if name in data:
            container.metric(f"{name}:accuracy", result[f"{name}:accuracy"])
            log(f"Number of {name} examples: {len(data[name])}")


def _write_failure(container: Container, reason: str) -> None:
    path = container.path(FAILURE_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reason, encoding="utf-8")
    container.log(reason)


def train(container: Container) -> None:
    """BlazingText's training container in supervised mode: fastText on the job's channels.

    AWS equivalent: a training job with the BlazingText image. Reads the ``train`` and
    ``validation`` channels and the hyperparameters (strings), writes ``model.bin`` to
    ``/opt/ml/model``, emits ``train:accuracy`` / ``validation:accuracy``. Bad input fails the
    job with ``ClientError: ...`` naming what was wrong (in ``/opt/ml/output/failure``).
    """
    try:
        _train(container)
    except (HyperparameterError, ChannelDataError) as exc:
        _write_failure(container, f"ClientError: {exc}")
        raise
    except NotImplementedError as exc:
        _write_failure(container, f"NotImplementedError: {exc}")
        raise
    except TrainingJobFailed as exc:
        _write_failure(container, f"AlgorithmError: {exc}")
        raise
