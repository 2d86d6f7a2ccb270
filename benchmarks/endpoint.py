"""Benchmark: the local endpoint under load, against calling the same model in-process.

Run ``python -m benchmarks.endpoint`` (``--quick`` for a short run). It trains a TF-IDF +
logistic regression model on synthetic reviews (or loads ``--model <joblib file>``), deploys it
on the local backend (a server process on 127.0.0.1), and drives it from a second process
through ``invoke_endpoint`` (the boto3-shaped local runtime, keep-alive connections):

- one review per request: p50 / p99 latency and requests per second;
- batches of 100 reviews per request: p50 latency and reviews per second;

each with 1, 4 and 16 concurrent clients (threads of the load process). The same work is timed
in the same run by calling the model in-process (``predict_proba``, the same threads), and the
ratio endpoint / in-process is the server's overhead (HTTP, CSV parsing and encoding, the
prediction lock). Every answer is checked against the in-process prediction: a wrong or failed
request counts as failed. Target: p50 under 10 ms for one review; zero failed requests. The last
line printed is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

NAME = "bench-ep"
BUCKET = "bench-bucket"
KEYS = ["predicted_label", "probability"]


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def train_model(rows: int, seed: int, path: Path) -> tuple[Any, list[str]]:
    """A real sentiment model on balanced synthetic reviews; returns it and unseen texts."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from utils import bias, datasets

    df = datasets.transform(datasets.generate_synthetic(rows, seed=seed)).df
    df = bias.balance(df, by=["sentiment"], seed=seed).sample(frac=1.0, random_state=seed)
    cut = int(len(df) * 0.8)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    model.fit(df["review_body"].iloc[:cut].tolist(), df["sentiment"].iloc[:cut].tolist())
    joblib.dump(model, path)
    return model, df["review_body"].iloc[cut:].tolist()


# -- the plan: (mode, clients, requests per client) ----------------------------------------------
def plan(concurrency: list[int], single: int, batches: int) -> list[tuple[str, int, int]]:
    out = []
    for c in concurrency:
        out.append(("single", c, max(20, single // c)))
        out.append(("batch100", c, max(2, batches // c)))
    return out


def _bodies(texts: list[str], mode: str, clients: int, per_client: int) -> list[list[list[str]]]:
    """Per client, the list of requests (each a list of reviews), drawn round-robin."""
    size = 1 if mode == "single" else 100
    out = []
    k = 0
    for _ in range(clients):
        requests = []
        for _ in range(per_client):
            requests.append([texts[(k + i) % len(texts)] for i in range(size)])
            k += size
        out.append(requests)
    return out


def _run_threads(clients: int, work: Any) -> tuple[list[list[tuple[float, bool]]], float]:
    results: list[list[tuple[float, bool]]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def run(i: int) -> None:
        barrier.wait()
        work(i, results[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


def load_worker(settings: dict[str, Any], texts: list[str], expected: dict[str, str],
                steps: list[tuple[str, int, int]], out: Any) -> None:  # fmt: skip
    """The second process: drives the endpoint and reports latencies and failures per step."""
    import utils
    from utils import endpoints

    lab = utils.connect("local", **settings)
    runtime = endpoints.sagemaker_runtime(lab)
    report = []
    for mode, clients, per_client in steps:
        work_items = _bodies(texts, mode, clients, per_client)
        errors: list[str] = []

        def work(i: int, sink: list[tuple[float, bool]], items: list[list[list[str]]] = work_items,
                 errs: list[str] = errors) -> None:  # fmt: skip
            for reviews in items[i]:
                body = endpoints.csv_body(reviews).encode("utf-8")
                t0 = time.perf_counter()
                try:
                    resp = runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv",
                                                   Accept="text/csv", Body=body)  # fmt: skip
                    answer = resp["Body"].read().decode("utf-8")
                    elapsed = time.perf_counter() - t0
                    got = [line.split(",", 1)[0] for line in answer.splitlines() if line]
                    ok = got == [expected[r] for r in reviews]
                    if not ok and len(errs) < 5:
                        errs.append(f"wrong answer for {reviews[0][:40]!r}...")
                except Exception as exc:  # noqa: BLE001 - counted as a failed request
                    elapsed, ok = time.perf_counter() - t0, False
                    if len(errs) < 5:
                        errs.append(f"{type(exc).__name__}: {exc}")
                sink.append((elapsed, ok))

        results, wall = _run_threads(clients, work)
        flat = [r for rs in results for r in rs]
        report.append({"mode": mode, "clients": clients, "requests": len(flat),
                       "failed": sum(1 for _, ok in flat if not ok),
                       "latencies": [t for t, _ in flat], "wall": wall, "errors": errors})  # fmt: skip
    runtime.close()
    out.put(report)


def in_process(model: Any, texts: list[str], steps: list[tuple[str, int, int]]) -> list[dict]:
    """The same requests, answered by ``predict_proba`` in this process (no server)."""
    report = []
    for mode, clients, per_client in steps:
        work_items = _bodies(texts, mode, clients, per_client)

        def work(i: int, sink: list[tuple[float, bool]], items: list[list[list[str]]] = work_items
                 ) -> None:  # fmt: skip
            for reviews in items[i]:
                t0 = time.perf_counter()
                proba = model.predict_proba(reviews)
                _ = [str(model.classes_[j]) for j in proba.argmax(axis=1)]
                sink.append((time.perf_counter() - t0, True))

        results, wall = _run_threads(clients, work)
        flat = [r for rs in results for r in rs]
        report.append({"mode": mode, "clients": clients, "requests": len(flat), "failed": 0,
                       "latencies": [t for t, _ in flat], "wall": wall})  # fmt: skip
    return report


def summarise(step: dict[str, Any]) -> dict[str, Any]:
    size = 1 if step["mode"] == "single" else 100
    lat = step["latencies"]
    return {
        "mode": step["mode"],
        "clients": step["clients"],
        "requests": step["requests"],
        "failed": step["failed"],
        "p50_ms": round(_percentile(lat, 50) * 1000, 3),
        "p99_ms": round(_percentile(lat, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(lat) * 1000, 3) if lat else None,
        "requests_per_s": round(step["requests"] / step["wall"], 1),
        "reviews_per_s": round(step["requests"] * size / step["wall"], 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000, help="synthetic reviews to train on")
    parser.add_argument("--model", help="a joblib model (predict_proba, classes_) to serve instead")
    parser.add_argument("--single", type=int, default=1600, help="one-review requests per level")
    parser.add_argument("--batches", type=int, default=64, help="100-review requests per level")
    parser.add_argument("--concurrency", default="1,4,16", help="client counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="a short run (fewer requests)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.quick:
        args.single, args.batches, args.rows = 400, 16, 3000
    concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]

    import joblib

    import utils
    from utils import endpoints

    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as tmp:
        home = Path(tmp) / "lake"
        settings = {"home": str(home), "bucket": BUCKET}
        lab = utils.connect("local", **settings)
        t0 = time.perf_counter()
        if args.model:
            model_path = Path(args.model)
            model = joblib.load(model_path)
            from utils import datasets

            df = datasets.transform(datasets.generate_synthetic(2000, seed=args.seed + 1)).df
            texts = df["review_body"].tolist()
        else:
            model_path = Path(tmp) / "model.joblib"
            model, texts = train_model(args.rows, args.seed, model_path)
        texts = texts[:500]
        train_s = time.perf_counter() - t0
        labels = [str(model.classes_[j]) for j in model.predict_proba(texts).argmax(axis=1)]
        expected = dict(zip(texts, labels, strict=True))
        steps = plan(concurrency, args.single, args.batches)

        t0 = time.perf_counter()
        endpoints.deploy_model(lab, model_path, NAME, KEYS, predictor_cls=None)
        deploy_s = time.perf_counter() - t0
        try:
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            worker = ctx.Process(target=load_worker,
                                 args=(settings, texts, expected, steps, queue))  # fmt: skip
            worker.start()
            endpoint_report = queue.get(timeout=900)
            worker.join(60)
            local_report = in_process(model, texts, steps)
        finally:
            endpoints.delete_endpoint(lab, NAME, delete_model=True, missing_ok=True)

    rows = []
    for ep, ip in zip(endpoint_report, local_report, strict=True):
        e, i = summarise(ep), summarise(ip)
        rows.append({"mode": e["mode"], "clients": e["clients"], "requests": e["requests"],
                     "failed": e["failed"], "endpoint_p50_ms": e["p50_ms"],
                     "endpoint_p99_ms": e["p99_ms"], "in_process_p50_ms": i["p50_ms"],
                     "in_process_p99_ms": i["p99_ms"],
                     "p50_overhead_x": round(e["p50_ms"] / i["p50_ms"], 2) if i["p50_ms"] else None,
                     "endpoint_reviews_per_s": e["reviews_per_s"],
                     "in_process_reviews_per_s": i["reviews_per_s"],
                     "throughput_ratio": round(e["reviews_per_s"] / i["reviews_per_s"], 3),
                     "errors": ep.get("errors", [])})  # fmt: skip

    print(f"local endpoint benchmark: {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs; model trained/loaded in {train_s:.1f} s, deployed in "
          f"{deploy_s:.1f} s (until /ping answered)")  # fmt: skip
    header = (f"{'mode':<9}{'clients':>8}{'requests':>9}{'failed':>7}{'ep p50':>9}{'ep p99':>9}"
              f"{'ip p50':>9}{'ip p99':>9}{'p50 x':>7}{'ep rev/s':>10}{'ip rev/s':>10}"
              f"{'ep/ip':>7}")  # fmt: skip
    print(header)
    for r in rows:
        print(f"{r['mode']:<9}{r['clients']:>8}{r['requests']:>9}{r['failed']:>7}"
              f"{r['endpoint_p50_ms']:>9.2f}{r['endpoint_p99_ms']:>9.2f}"
              f"{r['in_process_p50_ms']:>9.2f}{r['in_process_p99_ms']:>9.2f}"
              f"{r['p50_overhead_x']:>7.1f}{r['endpoint_reviews_per_s']:>10.0f}"
              f"{r['in_process_reviews_per_s']:>10.0f}{r['throughput_ratio']:>7.2f}")  # fmt: skip
    single_p50 = [r["endpoint_p50_ms"] for r in rows if r["mode"] == "single" and r["clients"] == 1]
    failed = sum(r["failed"] for r in rows)
    verdict = {
        "target_p50_ms": 10.0,
        "single_review_p50_ms_1_client": single_p50[0] if single_p50 else None,
        "meets_p50_target": bool(single_p50) and single_p50[0] < 10.0,
        "failed_requests": failed,
    }
    print(f"one review, 1 client: p50 {verdict['single_review_p50_ms_1_client']} ms "
          f"(target < 10 ms: {'met' if verdict['meets_p50_target'] else 'NOT met'}); "
          f"failed requests: {failed}")  # fmt: skip
    for r in rows:
        for err in r["errors"]:
            print(f"  {r['mode']} x{r['clients']}: {err}", file=sys.stderr)
    result = {"python": platform.python_version(), "cpus": os.cpu_count(), "train_s": train_s,
              "deploy_s": deploy_s, "steps": rows, **verdict}  # fmt: skip
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    outcome = main()
    sys.exit(0 if outcome["failed_requests"] == 0 else 1)
