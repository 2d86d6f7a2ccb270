"""CloudWatch Logs and CloudWatch metrics on the local backend, read from the local jobs.

AWS equivalent: ``boto3.client("logs")`` and ``boto3.client("cloudwatch")``, where SageMaker
sends what its jobs and endpoints print and the metrics its algorithms emit. Locally:

- log groups ``/aws/sagemaker/TrainingJobs`` and ``/aws/sagemaker/ProcessingJobs`` hold one
  stream per job, ``<job>/algo-1-<start time>``, read from the job's ``output.log``;
  ``/aws/sagemaker/AutoMLJobs`` (the group the SDK's ``logs_for_auto_ml_job`` names) holds the
  local Autopilot's events, one stream ``<job>/events`` per job: each stage it enters, each
  featurizer ready, each candidate's score, with their times (on AWS, Autopilot's own steps
  log to the processing and training job groups instead);
  ``/aws/sagemaker/Endpoints/<endpoint>`` holds the endpoint server's log (stream
  ``AllTraffic/<host>``). What ``estimator.logs()`` and ``sess.logs_for_job`` read.
- the namespace ``/aws/sagemaker/TrainingJobs`` holds each training job's metrics with the
  dimensions ``TrainingJobName`` and ``Host``; what ``TrainingJobAnalytics`` reads.

The log files carry no time per line, so an event's timestamp is its stream's start plus its
line number in milliseconds: ordered, stable between reads, and within the job's run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from utils.local.sagemaker.jobs import PROCESSING, TRAINING, JobKind, JobRecords, parse_time
from utils.local.service import Service, ServiceError

GROUPS: dict[str, JobKind] = {
    "/aws/sagemaker/TrainingJobs": TRAINING,
    "/aws/sagemaker/ProcessingJobs": PROCESSING,
}
ENDPOINT_GROUP = "/aws/sagemaker/Endpoints/"
AUTOML_GROUP = "/aws/sagemaker/AutoMLJobs"
HOST = "algo-1"
MAX_EVENTS = 10_000


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def endpoint_log_path(home: Path, endpoint: str) -> Path:
    """Where the local endpoint server of ``endpoint`` writes its log."""
    return Path(home) / "endpoints" / "logs" / f"{endpoint}.log"


class LogsService(Service):
    """``logs``: DescribeLogStreams and GetLogEvents over the local jobs' and endpoints' logs."""

    service_name = "logs"

    def _streams(self, group: str) -> list[tuple[str, Path, int]]:
        """(stream name, log file, start in ms) of every stream in ``group``."""
        out = []
        if group in GROUPS:
            records = JobRecords(self.home, GROUPS[group])
            for name in records.names():
                record = records.read_raw(name)
                start = parse_time(record.get("TrainingStartTime")
                                   or record.get("ProcessingStartTime")
                                   or record["CreationTime"])  # fmt: skip
                path = records.log_path(name)
                if path.is_file():
                    out.append((f"{name}/{HOST}-{int(start.timestamp())}", path, _ms(start)))
        elif group == AUTOML_GROUP:
            from utils.local.automl.store import JobStore

            store = JobStore(self.home)
            for name in store.names():
                created = parse_time(store.read_raw(name)["CreationTime"])
                out.append((f"{name}/events", store.job_dir(name) / "events.jsonl", _ms(created)))
        elif group.startswith(ENDPOINT_GROUP):
            name = group[len(ENDPOINT_GROUP) :]
            path = endpoint_log_path(self.home, name)
            if name and path.is_file():
                start = dt.datetime.fromtimestamp(path.stat().st_ctime, dt.UTC)
                out.append((f"AllTraffic/{HOST}-{name}", path, _ms(start)))
        else:
            raise ServiceError("ResourceNotFoundException", f"The specified log group does not "
                               f"exist: {group!r} (local log groups: {', '.join(GROUPS)}, "
                               f"{ENDPOINT_GROUP}<endpoint>)")  # fmt: skip
        return out

    def _events(self, path: Path, start_ms: int) -> list[dict[str, Any]]:
        if path.suffix == ".jsonl":  # the local Autopilot's events carry their own times
            return _automl_events(path)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-MAX_EVENTS:]
        ingested = int(path.stat().st_mtime * 1000)
        return [{"timestamp": start_ms + i, "message": line, "ingestionTime": max(ingested,
                 start_ms + i)} for i, line in enumerate(lines)]  # fmt: skip

    def describe_log_streams(self, logGroupName: str | None = None,
                             logStreamNamePrefix: str | None = None, orderBy: str = "LogStreamName",
                             descending: bool = False, limit: int = 50,
                             nextToken: str | None = None, **_: Any) -> dict[str, Any]:  # fmt: skip
        """DescribeLogStreams: the streams of a group, by name or by last event time."""
        if not logGroupName:
            raise ServiceError("InvalidParameterException", "logGroupName is required locally")
        if logStreamNamePrefix and orderBy == "LastEventTime":
            raise ServiceError("InvalidParameterException", "Cannot order by LastEventTime with "
                               "a logStreamNamePrefix.")  # fmt: skip
        rows = []
        for name, path, start in self._streams(logGroupName):
            if logStreamNamePrefix and not name.startswith(logStreamNamePrefix):
                continue
            events = self._events(path, start)
            last = events[-1]["timestamp"] if events else start
            rows.append({
                "logStreamName": name, "creationTime": start, "firstEventTimestamp": start,
                "lastEventTimestamp": last, "lastIngestionTime": int(path.stat().st_mtime * 1000),
                "uploadSequenceToken": "0", "storedBytes": 0,
                "arn": self.account.arn("logs", f"log-group:{logGroupName}:log-stream:{name}"),
            })  # fmt: skip
        key = "lastEventTimestamp" if orderBy == "LastEventTime" else "logStreamName"
        rows.sort(key=lambda r: r[key], reverse=descending)
        first = int(nextToken) if nextToken else 0
        page = rows[first : first + limit]
        out: dict[str, Any] = {"logStreams": page}
        if first + limit < len(rows):
            out["nextToken"] = str(first + limit)
        return out

    def get_log_events(self, logGroupName: str, logStreamName: str, startTime: int | None = None,
                       endTime: int | None = None, nextToken: str | None = None,
                       limit: int = MAX_EVENTS, startFromHead: bool = False,
                       **_: Any) -> dict[str, Any]:  # fmt: skip
        """GetLogEvents: events of one stream in time order, paged by forward tokens."""
        for name, path, start in self._streams(logGroupName):
            if name == logStreamName:
                events = self._events(path, start)
                break
        else:
            raise ServiceError("ResourceNotFoundException", f"The specified log stream does not "
                               f"exist: {logStreamName!r} in {logGroupName!r}")  # fmt: skip
        if startTime is not None:
            events = [e for e in events if e["timestamp"] >= startTime]
        if endTime is not None:
            events = [e for e in events if e["timestamp"] < endTime]
        position = 0
        if nextToken:
            try:
                position = int(nextToken.split("/", 1)[1])
            except (IndexError, ValueError):
                raise ServiceError(
                    "InvalidParameterException",
                    f"The specified nextToken is invalid: {nextToken!r}",
                ) from None
        if not startFromHead and not nextToken:
            position = max(0, len(events) - limit)
        page = events[position : position + limit]
        after = position + len(page)
        return {"events": page, "nextForwardToken": f"f/{after:056d}",
                "nextBackwardToken": f"b/{position:056d}"}  # fmt: skip


def _automl_events(path: Path) -> list[dict[str, Any]]:
    import json

    out = []
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines()[-MAX_EVENTS:]:
        try:
            event = json.loads(line)
        except ValueError:  # a line being written right now
            break
        stamp = _ms(parse_time(event["time"]))
        stage = f"{event['stage']}: " if event.get("stage") else ""
        out.append({"timestamp": stamp, "message": f"{stage}{event['message']}",
                    "ingestionTime": stamp})  # fmt: skip
    return out


class CloudWatchService(Service):
    """``cloudwatch``: GetMetricStatistics and ListMetrics for the local training jobs."""

    service_name = "cloudwatch"
    NAMESPACE = "/aws/sagemaker/TrainingJobs"

    def _points(self, job: str) -> list[dict[str, Any]]:
        records = JobRecords(self.home, TRAINING)
        return records.metrics(job) if records.exists(job) else []

    def list_metrics(self, Namespace: str | None = None, MetricName: str | None = None,
                     Dimensions: list[dict[str, Any]] | None = None,
                     **_: Any) -> dict[str, Any]:  # fmt: skip
        """ListMetrics: every (metric, training job) that has data points."""
        if Namespace not in (None, self.NAMESPACE):
            return {"Metrics": []}
        wanted = {d["Name"]: d.get("Value") for d in Dimensions or []}
        rows = []
        for job in JobRecords(self.home, TRAINING).names():
            if wanted.get("TrainingJobName") not in (None, job):
                continue
            for metric in sorted({p["MetricName"] for p in self._points(job)}):
                if MetricName in (None, metric):
                    rows.append({"Namespace": self.NAMESPACE, "MetricName": metric, "Dimensions": [
                        {"Name": "Host", "Value": HOST},
                        {"Name": "TrainingJobName", "Value": job}]})  # fmt: skip
        return {"Metrics": rows}

    def get_metric_statistics(self, Namespace: str, MetricName: str, StartTime: dt.datetime,
                              EndTime: dt.datetime, Period: int, Statistics: list[str] | None = None,
                              Dimensions: list[dict[str, Any]] | None = None,
                              ExtendedStatistics: list[str] | None = None, Unit: str | None = None,
                              **_: Any) -> dict[str, Any]:  # fmt: skip
        """GetMetricStatistics: a training job's metric in ``Period``-second buckets."""
        if ExtendedStatistics:
            raise NotImplementedError("local backend: cloudwatch.get_metric_statistics("
                                      "ExtendedStatistics=...) is not implemented locally")  # fmt: skip
        if not Statistics:
            raise ServiceError("InvalidParameterCombination", "Must specify either Statistics or "
                               "ExtendedStatistics")  # fmt: skip
        if Period < 1:
            raise ServiceError("InvalidParameterValue", f"Period {Period}: at least 1 second")
        out: dict[str, Any] = {"Label": MetricName, "Datapoints": []}
        if Namespace != self.NAMESPACE:
            return out
        dims = {d["Name"]: d["Value"] for d in Dimensions or []}
        job = dims.get("TrainingJobName")
        if not job or set(dims) - {"TrainingJobName", "Host"} or dims.get("Host", HOST) != HOST:
            return out
        start, end = _aware(StartTime), _aware(EndTime)
        buckets: dict[int, list[float]] = {}
        for point in self._points(job):
            if point["MetricName"] != MetricName:
                continue
            moment = parse_time(point["Timestamp"])
            if not start <= moment < end:
                continue
            index = int((moment - start).total_seconds() // Period)
            buckets.setdefault(index, []).append(float(point["Value"]))
        for index in sorted(buckets):
            values = buckets[index]
            row: dict[str, Any] = {"Timestamp": start + dt.timedelta(seconds=index * Period),
                                   "Unit": Unit or "None"}  # fmt: skip
            for stat in Statistics:
                row[stat] = {"Average": sum(values) / len(values), "Sum": sum(values),
                             "Minimum": min(values), "Maximum": max(values),
                             "SampleCount": float(len(values))}[stat]  # fmt: skip
            out["Datapoints"].append(row)
        return out


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
