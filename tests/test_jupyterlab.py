"""What a learner sees in JupyterLab, in headless Chromium driven by Playwright (issue 15).

One JupyterLab server from .venv on 127.0.0.1 serves a folder of notebook copies, started as
``tasks.py lab`` starts it: from the repository's top folder, with the ``lab-home`` and ``runs``
links in the folder it serves. Each test opens a notebook, runs it with Run > Run All Cells and
reads the page:

- 01_ingest runs every cell without an error (without Chromium, or with
  JUPYTERLAB_TEST_NO_BROWSER=1, the same check goes through the server's REST API and the
  kernel's websocket, as the browser would);
- 00's cost table reads as written: no maths made of "$5 ... $0.01", no cell cut short;
- a missing prerequisite shows one line, not a stack trace into utils/lab.py;
- 05's live view is tqdm's notebook widget, and its report links open Autopilot's notebooks;
- a run report opened from ``runs/`` shows where the data came from;
- the grading command works as a student types it in JupyterLab's terminal.

The browser tests skip when Debian's Chromium (or Playwright) is absent; each is bounded in time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from utils.records import read_records

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_ingest.ipynb"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip
RUN_TIMEOUT = 240  # seconds for a notebook on a slow, shared machine (05: see its test)
SHOTS = os.environ.get("JUPYTERLAB_TEST_SHOTS")  # a folder to keep the screenshots in

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or $CHROMIUM_PATH; None if absent."""
    if os.environ.get("JUPYTERLAB_TEST_NO_BROWSER"):
        return None
    for candidate in (os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), "/usr/bin/chromium"):  # fmt: skip
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _browser_or_skip() -> str:
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    return executable


def _tasks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tasks_for_lab_test", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Server:
    url: str
    token: str
    root: Path
    log: Path
    runs: Path

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else {}

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def notebook(self, name: str, home: Path, **params: object) -> str:
        """A copy of notebooks/<name> in the served folder, with its own lab home and ``params``
        appended to its parameters cell (as a learner would edit them); returns its name."""
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        values = {"LAB_HOME": str(home), **params}
        cell.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items())
        nbformat.write(nb, self.root / name)
        return name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """``jupyter lab`` from this environment, on 127.0.0.1 with a token, as tasks.py starts it."""
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip(f"no jupyter next to {sys.executable}")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "served"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    runs = tmp / "runs"
    tasks = _tasks()
    tasks.make_links(root, tmp / "lake")  # lab-home -> the lab home, runs -> runs/
    (root / "runs").unlink()
    runs.mkdir()
    (root / "runs").symlink_to(runs, target_is_directory=True)  # this test's runs, not the repo's
    settings = tmp / "settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))  # every cell in the page
    notify = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notify.parent.mkdir(parents=True)
    notify.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LAB_") or k == "LAB_SHARED_DATA"}  # fmt: skip
    env.update({
        "LAB_HOME": str(tmp / "lake"), "LAB_OFFLINE": "1", "MPLBACKEND": "Agg",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "PATH": f"{jupyter.parent}{os.pathsep}{env.get('PATH', '')}",
    })  # fmt: skip
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "jupyter.log"
    args = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
        args.append("--allow-root")
    with log.open("w") as out:  # from the top folder, as tasks.py runs it: the terminals open here
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    srv = Server(f"http://127.0.0.1:{port}", token, root, log, runs)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                srv.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{srv.log_tail()}")
                time.sleep(0.5)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- driving the page --------------------------------------------------------------------------

STATUS = "() => (document.querySelector('#jp-main-statusbar') || {}).textContent || ''"
PROMPTS = ("() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
           ".jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim())")  # fmt: skip


class Browser:
    """One headless Chromium page on the server, with the steps a learner takes."""

    def __init__(self, pw, executable: str, server: Server, shots: Path) -> None:
        self.browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.set_default_timeout(90_000)
        self.server, self.shots = server, shots

    def open(self, path: str) -> None:
        """Open ``path`` in a workspace of its own (no tab restored from another test)."""
        space = f"t{uuid.uuid4().hex[:8]}"
        self.page.goto(f"{self.server.url}/lab/workspaces/{space}/tree/{path}"
                       f"?token={self.server.token}")  # fmt: skip

    def run_all(self, notebook: str, timeout: float = RUN_TIMEOUT, during=None) -> None:
        """Open ``notebook``, Run > Run All Cells, and wait until the kernel is idle with
        nothing queued (three polls in a row); ``during(page)`` is called at each poll."""
        page = self.page
        self.open(notebook)
        page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell")
        page.wait_for_function(f"({STATUS})().includes('Idle')")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        deadline = time.monotonic() + timeout
        idle_polls = 0
        while idle_polls < 3:
            if time.monotonic() > deadline:
                self.shot(f"{Path(notebook).stem}-timeout")
                raise AssertionError(f"still running: {page.evaluate(PROMPTS)}")
            time.sleep(1)
            if during is not None:
                during(page)
            shown = page.evaluate(PROMPTS)
            busy = any("*" in p for p in shown) or "Idle" not in page.evaluate(STATUS)
            started = any(any(ch.isdigit() for ch in p) for p in shown)
            idle_polls = idle_polls + 1 if started and not busy else 0

    def save(self, notebook: str) -> None:
        self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
        self.page.keyboard.press("Control+s")
        self.page.wait_for_selector(".lm-TabBar-tab.jp-mod-current:not(.jp-mod-dirty)")
        deadline = time.monotonic() + 30
        while not _saved_with_outputs(self.server.root / notebook) and time.monotonic() < deadline:
            time.sleep(0.5)  # the file on disk catches up with the page

    def output_of(self, text: str):
        """The output area of the code cell whose source contains ``text``."""
        cells = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
        cell = cells.filter(has=self.page.locator(".jp-InputArea", has_text=text))
        return cell.locator(".jp-OutputArea")

    def shot(self, name: str, element=None) -> Path:
        path = self.shots / f"{name}.png"
        (element or self.page).screenshot(path=str(path))
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(SHOTS) / path.name)
        return path

    def close(self) -> None:
        self.browser.close()


@pytest.fixture
def browser(server, tmp_path) -> Iterator[Browser]:
    executable = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        view = Browser(pw, executable, server, tmp_path)
        try:
            yield view
        finally:
            view.close()


def _saved_with_outputs(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = any(o.output_type == "error" for c in code for o in c.outputs)
    return failed or all(c.execution_count for c in code)


# -- 01 in the browser, or over the REST API -----------------------------------------------------


def _check_saved(server: Server) -> None:
    nb = nbformat.read(server.root / NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [(c.execution_count, o.ename, o.evalue) for c in code for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert not errors, f"cells show errors: {errors}"
    assert all(c.execution_count for c in code), "some cells did not run"
    recorded = read_records(nb)
    assert recorded["rows_kept"] > 0 and recorded["transformed_columns"] == [
        "sentiment", "review_body", "product_category"]  # fmt: skip


def _message(session: str, msg_type: str, content: dict) -> dict:
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session,
                   "username": "test", "version": "5.3",
                   "date": dt.datetime.now(dt.UTC).isoformat()},
        "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
    }  # fmt: skip


def _run_over_rest(server: Server) -> None:
    """What the browser does, through the server's APIs: a session, then each code cell."""
    import websocket  # websocket-client, a dependency of jupyter_server

    created = server.api("POST", "/api/sessions", {"path": NOTEBOOK, "type": "notebook",
                                                   "name": NOTEBOOK,
                                                   "kernel": {"name": "python3"}})  # fmt: skip
    kernel = created["kernel"]["id"]
    ws_url = server.url.replace("http", "ws", 1) + f"/api/kernels/{kernel}/channels"
    ws = websocket.create_connection(ws_url, header=[f"Authorization: token {server.token}"],
                                     timeout=RUN_TIMEOUT)  # fmt: skip
    nb = nbformat.read(server.root / NOTEBOOK, as_version=4)
    session = uuid.uuid4().hex
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            request = _message(session, "execute_request", {
                "code": cell.source, "silent": False, "store_history": True,
                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})  # fmt: skip
            ws.send(json.dumps(request))
            outputs, replied, idle = [], False, False
            while not (replied and idle):
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "execute_reply":
                    replied = True
                    cell.execution_count = content.get("execution_count")
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
                elif kind in ("stream", "display_data", "execute_result", "error"):
                    outputs.append(nbformat.v4.output_from_msg(msg))
            cell.outputs = outputs
            if any(o.output_type == "error" for o in outputs):
                break  # as Run All Cells does
    finally:
        ws.close()
        server.api("DELETE", f"/api/sessions/{created['id']}")
    server.api("PUT", f"/api/contents/{NOTEBOOK}", {"type": "notebook", "format": "json",
                                                     "content": json.loads(nbformat.writes(nb))})  # fmt: skip


def test_01_ingest_runs_all_cells_in_jupyterlab(server, tmp_path):
    executable = chromium_path()
    browser_ok = False
    if executable is not None:
        try:
            import playwright.sync_api  # noqa: F401

            browser_ok = True
        except ImportError:
            pass
    if browser_ok:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            view = Browser(pw, executable, server, tmp_path)
            try:
                view.run_all(NOTEBOOK)
                view.save(NOTEBOOK)
            finally:
                view.close()
    else:
        try:
            import websocket  # noqa: F401
        except ImportError:
            pytest.skip("neither Chromium with Playwright nor websocket-client is available")
        _run_over_rest(server)
    _check_saved(server)


# -- what a learner reads ------------------------------------------------------------------------


def test_00_cost_table_reads_as_written(server, browser, tmp_path):
    name = server.notebook("00_setup.ipynb", tmp_path / "home00")
    browser.run_all(name)
    table = browser.output_of("environment.planned_resources(lab)").locator("table")
    text = table.inner_text()
    browser.shot("00-cost-table", table)
    # neither read as maths ("5perTBscanned...") nor cut at pandas' 50 characters
    assert "$5 per TB scanned, at least 10 MB per query (this data: < $0.01)" in text
    assert "about $0.12 per hour until deleted: run 99_cleanup" in text
    assert "~4 min of ml.m5.large per job (cents); endpoint $0.12 per hour until deleted" in text
    assert table.locator("mjx-container, .MathJax").count() == 0
    # the [recorded] lines are explained where they first show
    intro = browser.page.locator(".jp-MarkdownCell", has_text="[recorded] backend = 'local'")
    assert intro.count() == 1 and "lab.record" in intro.inner_text()


def test_a_missing_prerequisite_shows_one_line(server, browser, tmp_path):
    name = server.notebook("02_explore_athena.ipynb", tmp_path / "empty-home")
    browser.run_all(name)
    error = browser.output_of('lab.require("01_ingest")')
    browser.shot("02-prerequisite", error)
    text = error.inner_text().strip()
    assert text.startswith("PrerequisiteError: Run 01_ingest first: no transformed reviews under")
    assert len(text.splitlines()) == 1, text  # the message alone
    assert "Traceback" not in text and "lab.py" not in text


def _prepare_05(home: Path) -> None:
    """01 and 04 in ``home``, headless, on small synthetic data (what 05 needs)."""
    import papermill

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    for name, params in (("01_ingest", {"RAW_DATA": "synthetic", "SYNTHETIC_ROWS": 1500}),
                         ("04_detect_bias", {"DPI": 40})):  # fmt: skip
        old = dict(os.environ)
        os.environ.clear()
        os.environ.update({**env, "LAB_OFFLINE": "1", "LAB_PROGRESS": "text", "MPLBACKEND": "Agg"})
        try:
            papermill.execute_notebook(
                str(ROOT / "notebooks" / f"{name}.ipynb"), str(home.parent / f"{name}.out.ipynb"),
                parameters={"LAB_HOME": str(home), **params}, kernel_name="python3",
                cwd=str(ROOT / "notebooks"), progress_bar=False,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )  # fmt: skip
        finally:
            os.environ.clear()
            os.environ.update(old)


def test_05_shows_the_live_view_and_opens_autopilots_notebooks(server, browser, tmp_path):
    home = tmp_path / "home05"
    _prepare_05(home)
    name = server.notebook("05_autopilot.ipynb", home, DPI=40, MAX_RUNTIME_SECONDS=600)
    seen: list[str] = []

    def watch(page) -> None:  # the widget while the job runs: stage, time, candidates
        bars = page.locator(".jp-OutputArea-output .widget-hprogress, "
                            ".jp-OutputArea-output .widget-progress")  # fmt: skip
        if bars.count():
            seen.append(bars.first.locator("xpath=..").inner_text())

    browser.run_all(name, timeout=420, during=watch)
    tracking = browser.output_of("until=aml.past")
    final = browser.output_of("description = aml.track(automl, job_name, poll_seconds=poll")
    browser.shot("05-live-view", final)
    for area in (tracking, final):
        assert area.locator(".widget-progress, .widget-hprogress").count() == 1  # tqdm's widget
    label = re.sub(r"[\u2007\xa0\s]+", " ", final.locator(".jupyter-widgets").first.inner_text())
    assert re.search(r"automl-dm-[\d-]+: (MaxCandidatesReached|Completed)", label), label
    assert "3/3" in label and " of 10:00, best validation:accuracy 0." in label, label
    assert seen, "no progress widget was shown while the job ran"
    assert "featurizer" in final.inner_text() or "candidate" in final.inner_text()

    # the generated notebooks: their S3 URIs, and links JupyterLab opens with one click
    links = browser.output_of("report.links(lab, artifacts)")
    browser.shot("05-links", links)
    assert "s3://sagemaker-us-east-1-000000000000/autopilot/" in links.inner_text()
    link = links.locator("a.lab-link", has_text="SageMakerAutopilotDataExplorationNotebook")
    # JupyterLab resolves the relative link against the notebook's folder, and opens it itself
    assert "/files/lab-home/s3/sagemaker-us-east-1-000000000000/" in link.get_attribute("href")
    link.click()
    tab = browser.page.locator(".lm-TabBar-tab.jp-mod-current",
                               has_text="SageMakerAutopilotDataExplorationNotebook")  # fmt: skip
    tab.wait_for(timeout=30_000)
    browser.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell").first.wait_for()
    browser.shot("05-exploration-notebook")


def test_the_run_report_opens_from_runs_with_its_origin_banner(server, browser, tmp_path):
    from utils import report, runner

    run = server.runs / "20250101-120000"
    # 00's links may have pointed runs/ at the repository's runs: this test's again
    assert report.ensure_link(server.root / "runs", server.runs)
    env_home = tmp_path / "home-run"
    old = os.environ.get("LAB_HOME")
    os.environ["LAB_HOME"] = str(env_home)
    try:
        results = runner.run([ROOT / "notebooks" / NOTEBOOK],
                             {"RAW_DATA": "synthetic", "SYNTHETIC_ROWS": 300,
                              "LAB_HOME": str(env_home)}, run, progress=False)  # fmt: skip
    finally:
        os.environ.pop("LAB_HOME") if old is None else os.environ.__setitem__("LAB_HOME", old)
    assert results[0].status == "ok", results[0].error
    runner.write_summary(results, run, {"RAW_DATA": "synthetic"})
    report.write_report(run, render=False)
    browser.open("runs/20250101-120000/report.html")  # what a double click in runs/ opens
    frame = browser.page.frame_locator(".jp-HTMLViewer iframe, iframe").first
    banner = frame.locator("#data-origin")
    banner.wait_for(timeout=60_000)
    browser.shot("report-banner")
    assert banner.inner_text().startswith("SYNTHETIC DATA: 01_ingest used reviews generated by")
    assert "synthetic" in banner.get_attribute("class")


def test_the_grading_command_in_jupyterlabs_terminal(server, tmp_path):
    """`python3 tasks.py check 01_ingest`, typed in the terminal JupyterLab opens, whose
    login shell's python3 is not the venv's."""
    import websocket

    shutil.copy(ROOT / "student" / NOTEBOOK, server.root / NOTEBOOK)  # the learner's copy
    created = server.api("POST", "/api/terminals", {"cwd": ""})  # as the launcher asks
    url = server.url.replace("http", "ws", 1) + f"/terminals/websocket/{created['name']}"
    ws = websocket.create_connection(url, header=[f"Authorization: token {server.token}"],
                                     timeout=30)  # fmt: skip
    out = tmp_path / "check"
    # Each answer carries its own label: the shell's prompt may land on any line (a prompt printed
    # after the typed-ahead line is echoed shares a line with the first answer).
    typed = (f"echo PWD=$(pwd); echo PY=$(command -v python3); python3 tasks.py check 01_ingest "
             f"-p RAW_DATA synthetic -p SYNTHETIC_ROWS 300 --out {out}; echo EXIT=$?")  # fmt: skip
    text = ""
    try:
        ws.settimeout(1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the shell's first prompt, then type
            try:
                if json.loads(ws.recv())[0] == "stdout":
                    break
            except websocket.WebSocketTimeoutException:
                continue
        ws.settimeout(30)
        ws.send(json.dumps(["stdin", typed + "\r"]))
        deadline = time.monotonic() + 300
        while not re.search(r"EXIT=\d", text):
            assert time.monotonic() < deadline, f"the check did not finish:\n{text}"
            try:
                kind, *rest = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if kind == "stdout":
                text += rest[0]
    finally:
        ws.close()
        server.api("DELETE", f"/api/terminals/{created['name']}")
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07|\r", "", text)
    lines = [ln.strip() for ln in shown.splitlines() if ln.strip()]
    answers = dict(re.findall(r"\b(PWD|PY)=(/\S*)", shown))
    assert answers.get("PWD") == str(ROOT), shown  # the terminal opens in the repository's top
    python = answers["PY"]
    venv = Path(sys.executable).parent.parent.resolve()
    assert not Path(python).resolve().is_relative_to(venv), python  # not the venv's python
    assert f"grading {server.root / NOTEBOOK} against notebooks/{NOTEBOOK}" in lines, shown
    assert ("exercise 1 · 5. Upload the transformed data: NOT DONE: its cell still has None "
            "to replace") in lines  # fmt: skip
    assert "01_ingest: 0 of 1 exercises done (not yet)" in lines and "EXIT=1" in lines
    assert "ModuleNotFoundError" not in shown and "[IPKernelApp]" not in shown
