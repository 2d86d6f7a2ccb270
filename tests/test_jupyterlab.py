"""The interactive path: JupyterLab from .venv on 127.0.0.1 runs 01_ingest cell by cell.

In headless Chromium driven by Playwright: open the notebook, Run > Run All Cells, save, and
check that every code cell ran and none shows an error. Where no Chromium is installed (or with
JUPYTERLAB_TEST_NO_BROWSER=1), the same check goes through the Jupyter server's REST API and
the kernel's websocket, as the browser would. Skips only if neither can be used.
"""

from __future__ import annotations

import datetime as dt
import json
import os
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
RUN_TIMEOUT = 240  # seconds for the whole notebook on a slow, shared machine

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


@dataclass
class Server:
    url: str
    token: str
    root: Path
    log: Path

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    """``jupyter lab`` from this environment, on 127.0.0.1 with a token, serving a copy of 01."""
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip(f"no jupyter next to {sys.executable}")
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    settings = tmp_path / "settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))  # every cell in the page
    notify = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notify.parent.mkdir(parents=True)
    notify.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ)
    env.update({
        "LAB_HOME": str(tmp_path / "lake"), "LAB_OFFLINE": "1",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "PATH": f"{jupyter.parent}{os.pathsep}{env.get('PATH', '')}",
    })  # fmt: skip
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyter.log"
    args = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
        args.append("--allow-root")
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    srv = Server(f"http://127.0.0.1:{port}", token, root, log)
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


def _saved_with_outputs(server: Server) -> bool:
    nb = nbformat.read(server.root / NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = any(o.output_type == "error" for c in code for o in c.outputs)
    return failed or all(c.execution_count for c in code)


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


def _run_in_browser(server: Server, executable: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(90_000)
            page.goto(f"{server.url}/lab/tree/{NOTEBOOK}?token={server.token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell")
            status = "() => (document.querySelector('#jp-main-statusbar') || {}).textContent || ''"
            page.wait_for_function(f"({status})().includes('Idle')")
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            prompts = ("() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell "
                       ".jp-InputPrompt')].map(e => e.textContent.trim())")  # fmt: skip
            deadline = time.monotonic() + RUN_TIMEOUT
            idle_polls = 0
            while idle_polls < 3:  # idle, nothing queued, three polls in a row
                assert time.monotonic() < deadline, f"still running: {page.evaluate(prompts)}"
                time.sleep(1)
                shown = page.evaluate(prompts)
                busy = any("*" in p for p in shown) or "Idle" not in page.evaluate(status)
                started = any(any(ch.isdigit() for ch in p) for p in shown)
                idle_polls = idle_polls + 1 if started and not busy else 0
            page.locator(".jp-NotebookPanel .jp-Cell").first.click()
            page.keyboard.press("Control+s")
            page.wait_for_selector(".lm-TabBar-tab.jp-mod-current:not(.jp-mod-dirty)")
            deadline = time.monotonic() + 30
            while not _saved_with_outputs(server) and time.monotonic() < deadline:
                time.sleep(0.5)  # the file on disk catches up with the page
        finally:
            browser.close()


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


def test_01_ingest_runs_all_cells_in_jupyterlab(server):
    executable = chromium_path()
    browser_ok = False
    if executable is not None:
        try:
            import playwright.sync_api  # noqa: F401

            browser_ok = True
        except ImportError:
            pass
    if browser_ok:
        _run_in_browser(server, executable)
    else:
        try:
            import websocket  # noqa: F401
        except ImportError:
            pytest.skip("neither Chromium with Playwright nor websocket-client is available")
        _run_over_rest(server)
    _check_saved(server)
