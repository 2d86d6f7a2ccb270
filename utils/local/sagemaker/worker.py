"""The background process of one local training or processing job.

``python -m utils.local.sagemaker.worker --home <lab home> --kind training-jobs --name <job>``

AWS equivalent: the instance SageMaker starts for the job. The worker lays out the container's
file system under the job's folder as SageMaker does (``/opt/ml/input/data/<channel>`` with
each channel's S3 objects, ``/opt/ml/input/config/hyperparameters.json``, ``/opt/ml/model``;
for processing, each input at its ``LocalPath`` and each output's ``LocalPath`` uploaded
afterwards), runs the image's engine (:mod:`utils.local.sagemaker.images`), then uploads the
model as ``<S3OutputPath>/<job>/output/model.tar.gz`` and ends the job Completed, Failed
(reason from ``/opt/ml/output/failure``, as SageMaker reads it, or from the error) or Stopped
(``SIGTERM``: what StopTrainingJob / StopProcessingJob send).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tarfile
import time
import traceback
from pathlib import Path, PurePosixPath
from typing import Any

from utils.local.lake import LocalLake, parse_s3_uri
from utils.local.sagemaker import images
from utils.local.sagemaker.jobs import (
    KINDS,
    TRAINING,
    JobKind,
    JobRecords,
    finish,
    iso,
    transition,
)

_STOP = {"flag": False}


class StopRequested(Exception):
    """The job was asked to stop (SIGTERM from Stop*)."""


class JobInputError(ValueError):
    """A channel or processing input cannot be used (missing objects, a bad URI)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    _STOP["flag"] = True


class Container:
    """The running job as its container sees it: paths, settings, and what it may report."""

    def __init__(self, records: JobRecords, name: str, record: dict[str, Any]) -> None:
        self.records = records
        self.name = name
        self.record = record
        self.kind: JobKind = records.kind
        self.root = records.container_root(name)
        self.lake = LocalLake(records.home)
        self.home = records.home

    # -- the container's file system ----------------------------------------------------------
    def path(self, container_path: str) -> Path:
        """The local folder for an absolute container path such as ``/opt/ml/model``."""
        pure = PurePosixPath(container_path)
        if not pure.is_absolute() or ".." in pure.parts:
            raise JobInputError(f"container path {container_path!r}: expected an absolute path "
                                "without '..'")  # fmt: skip
        return self.root.joinpath(*pure.parts[1:])

    @property
    def model_dir(self) -> Path:
        return self.path("/opt/ml/model")

    @property
    def output_data_dir(self) -> Path:
        return self.path("/opt/ml/output/data")

    @property
    def hyperparameters(self) -> dict[str, str]:
        """HyperParameters of a training job (strings, as the container receives them)."""
        return dict(self.record.get("HyperParameters") or {})

    def channel(self, name: str) -> Path | None:
        """The folder holding a training channel's files, or None if the job has no such channel."""
        folder = self.path(f"/opt/ml/input/data/{name}")
        return folder if folder.is_dir() else None

    @property
    def channels(self) -> dict[str, Path]:
        root = self.path("/opt/ml/input/data")
        return {p.name: p for p in sorted(root.iterdir()) if p.is_dir()} if root.is_dir() else {}

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.record.get("Environment") or {})

    @property
    def arguments(self) -> list[str]:
        return list((self.record.get("AppSpecification") or {}).get("ContainerArguments") or [])

    @property
    def seed(self) -> int:
        return int(self.record.get("Local", {}).get("Seed", 0))

    # -- reporting ----------------------------------------------------------------------------
    def log(self, message: str) -> None:
        """One line of the job's log (its CloudWatch stream)."""
        print(message, flush=True)

    def metric(self, name: str, value: float) -> None:
        """Emit a metric: a CloudWatch data point and a line of the job's log."""
        self.log(f"#{name.replace(':', '_')}: {float(value)}")
        line = json.dumps({"MetricName": name, "Value": float(value), "Timestamp": iso()})
        with open(self.records.metrics_path(self.name), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def status(self, secondary: str, message: str) -> None:
        """A training job's SecondaryStatus (Downloading, Training, Uploading, ...)."""
        if self.kind is TRAINING:
            self.records.update(self.name, lambda r: transition(r, secondary, message))
        self.log(f"[{secondary}] {message}")

    def check_stop(self) -> None:
        """Raise StopRequested if Stop* was called; engines call this between steps."""
        if _STOP["flag"]:
            raise StopRequested()

    # -- S3 in and out ------------------------------------------------------------------------
    def download(self, uri: str, target: Path, what: str, data_type: str = "S3Prefix") -> int:
        """Copy the objects of ``uri`` (a prefix, or one object) into ``target``, as SageMaker
        copies a channel's objects into the container; keys map to files as the lake maps them."""
        if data_type == "ManifestFile":
            raise NotImplementedError(f"local backend: {what}: S3DataType='ManifestFile' is not "
                                      "implemented locally; use 'S3Prefix'")  # fmt: skip
        bucket, key = parse_s3_uri(uri)
        target.mkdir(parents=True, exist_ok=True)
        count = 0
        # a prefix matches every key that starts with it, as on S3 (not only a "folder")
        for found, path, _ in sorted(self.lake.walk(bucket, key)):
            inner = found[len(key) :].lstrip("/") or found.rsplit("/", 1)[-1]
            dest = target.joinpath(*[p for p in inner.split("/") if p])
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            count += 1
        if count == 0:
            raise JobInputError(f"{what}: no S3 objects under {uri} (ClientError: the S3 prefix "
                                "is empty or does not exist)")  # fmt: skip
        return count

    def upload_folder(self, folder: Path, uri: str) -> list[str]:
        """Upload every file of ``folder`` under the S3 prefix ``uri``."""
        written = []
        uri = uri.rstrip("/")
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                dest = f"{uri}/{path.relative_to(folder).as_posix()}"
                self.put_file(path, dest)
                written.append(dest)
        return written

    def put_file(self, path: Path, uri: str) -> None:
        target = self.lake.path_for(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)


# -- training ------------------------------------------------------------------------------------
def _prepare_training(box: Container) -> None:
    record = box.record
    config = box.path("/opt/ml/input/config")
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(box.hyperparameters))
    channels = {}
    box.status("Downloading", "Downloading input data")
    for channel in record.get("InputDataConfig") or []:
        source = channel["DataSource"].get("S3DataSource")
        if source is None:
            raise NotImplementedError(f"local backend: channel {channel['ChannelName']!r}: only "
                                      "S3 data sources are implemented locally")  # fmt: skip
        what = f"channel {channel['ChannelName']!r} ({source['S3Uri']})"
        box.download(source["S3Uri"], box.path(f"/opt/ml/input/data/{channel['ChannelName']}"),
                     what, source.get("S3DataType", "S3Prefix"))  # fmt: skip
        channels[channel["ChannelName"]] = {"ContentType": channel.get("ContentType"),
                                            "S3DistributionType": source.get(
                                                "S3DataDistributionType")}  # fmt: skip
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    box.model_dir.mkdir(parents=True, exist_ok=True)
    box.output_data_dir.mkdir(parents=True, exist_ok=True)


def _tar(folder: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)


def _finish_training(box: Container) -> dict[str, Any]:
    box.status("Uploading", "Uploading generated training model")
    output = box.record["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    model_uri = f"{output}/{box.name}/output/model.tar.gz"
    staged = box.records.job_dir(box.name) / "model.tar.gz"
    _tar(box.model_dir, staged)
    box.put_file(staged, model_uri)
    staged.unlink()
    if any(box.output_data_dir.iterdir()):
        staged = box.records.job_dir(box.name) / "output.tar.gz"
        _tar(box.output_data_dir, staged)
        box.put_file(staged, f"{output}/{box.name}/output/output.tar.gz")
        staged.unlink()
    latest: dict[str, dict[str, Any]] = {}
    for point in box.records.metrics(box.name):
        latest[point["MetricName"]] = point
    return {"ModelArtifacts": {"S3ModelArtifacts": model_uri},
            "FinalMetricDataList": list(latest.values())}  # fmt: skip


# -- processing ----------------------------------------------------------------------------------
def _prepare_processing(box: Container) -> None:
    for item in box.record.get("ProcessingInputs") or []:
        source = item.get("S3Input")
        if source is None:
            raise NotImplementedError(f"local backend: processing input {item['InputName']!r}: "
                                      "only S3 inputs are implemented locally")  # fmt: skip
        what = f"processing input {item['InputName']!r} ({source['S3Uri']})"
        box.download(source["S3Uri"], box.path(source["LocalPath"]), what,
                     source.get("S3DataType", "S3Prefix"))  # fmt: skip
    for item in (box.record.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        box.path(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)


def _finish_processing(box: Container) -> dict[str, Any]:
    for item in (box.record.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        out = item["S3Output"]
        box.upload_folder(box.path(out["LocalPath"]), out["S3Uri"])
    return {}


def _failure_reason(box: Container, exc: BaseException) -> str:
    failure = box.path("/opt/ml/output/failure")
    if failure.is_file() and failure.read_text().strip():
        return failure.read_text().strip()
    if isinstance(exc, ValueError | NotImplementedError | KeyError | FileNotFoundError):
        return f"{type(exc).__name__}: {exc}"
    return f"AlgorithmError: {type(exc).__name__}: {exc} (see the job's log: {box.records.log_path(box.name)})"


def run(home: Path, kind: JobKind, name: str) -> int:
    """Run one job to its end; returns the process exit code."""
    import psutil

    records = JobRecords(home, kind)
    me = psutil.Process()

    def started(rec: dict[str, Any]) -> None:
        rec.setdefault("Local", {})["Worker"] = {"Pid": os.getpid(), "CreateTime": me.create_time()}
        if kind is TRAINING:
            rec["TrainingStartTime"] = iso()
            transition(rec, "Starting", "Launching requested ML instances (local worker)")
        else:
            rec["ProcessingStartTime"] = iso()

    record = records.update(name, started)
    box = Container(records, name, record)
    image_uri = (record["AlgorithmSpecification"]["TrainingImage"] if kind is TRAINING
                 else record["AppSpecification"]["ImageUri"])  # fmt: skip
    limit = (record.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    started_at = time.monotonic()
    try:
        image = images.find(image_uri, "train" if kind is TRAINING else "process",
                            f"Create{kind.noun}")  # fmt: skip
        if kind is TRAINING:
            _prepare_training(box)
            box.check_stop()
            box.status("Training", "Training image download completed. Training in progress.")
            image.entry("train")(box)
        else:
            _prepare_processing(box)
            box.check_stop()
            image.entry("process")(box)
        box.check_stop()
        if limit and time.monotonic() - started_at > limit:
            raise TimeoutError(f"the job ran past MaxRuntimeInSeconds={limit}")
        result = _finish_training(box) if kind is TRAINING else _finish_processing(box)

        def completed(rec: dict[str, Any]) -> None:
            rec.update(result)
            finish(rec, kind, "Completed", None)

        records.update(name, completed)
        return 0
    except StopRequested:
        records.update(name, lambda r: finish(r, kind, "Stopped", None))
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure becomes the job's FailureReason
        traceback.print_exc()
        reason = (str(exc.message) if hasattr(exc, "message") and hasattr(exc, "code")
                  else _failure_reason(box, exc))  # fmt: skip
        records.update(name, lambda r: finish(r, kind, "Failed", reason))
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one local SageMaker training/processing job.")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--kind", required=True, choices=sorted(KINDS))
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a notebook's interrupt is not a stop
    return run(args.home, KINDS[args.kind], args.name)


if __name__ == "__main__":
    sys.exit(main())
