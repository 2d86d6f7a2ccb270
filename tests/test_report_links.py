"""The links a notebook shows to the files a job wrote: one click in JupyterLab (issue 15, item 4).

In a kernel a Jupyter server started (JPY_SESSION_NAME set), a link is relative to the notebook's
folder, through ``lab-home`` (or ``runs``) made there; elsewhere it is the file's file:// URI.
The S3 URI stays in every row, as the course shows it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from utils import report


def _jupyter(monkeypatch, folder: Path) -> None:
    monkeypatch.chdir(folder)  # the kernel's cwd is the notebook's folder
    monkeypatch.setenv("JPY_SESSION_NAME", str(folder / "05_autopilot.ipynb"))


def test_local_files_open_through_the_lab_home_link(local_lab, tmp_path, monkeypatch):
    uri = local_lab.s3_uri("autopilot/job/notebooks/Exploration.ipynb")
    local_lab.wr.s3.upload(local_file=_file(tmp_path / "x.ipynb", "{}"), path=uri)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _jupyter(monkeypatch, folder)
    shown = report.links(local_lab, {"DataExplorationNotebookLocation": uri,
                                     "Missing": local_lab.s3_uri("nope.ipynb")})  # fmt: skip
    row, missing = shown.rows
    assert row.label == "data exploration notebook" and row.location == uri
    assert row.href == "lab-home/s3/" + uri.removeprefix("s3://")
    link = folder / "lab-home"
    assert link.is_symlink() and link.resolve() == local_lab.home.resolve()
    assert (folder / row.href).read_text() == "{}"  # what JupyterLab will open
    assert missing.href is None and missing.note == "not in the lake (yet)"
    html = shown._repr_html_()
    assert f"'font-size: 85%'>{uri}</code>" in html and f"href='{row.href}'" in html
    assert "mathjax_ignore" in html
    assert f"open in JupyterLab: {row.href}" in repr(shown)

    # another lab home: the link is re-pointed, atomically
    other = tmp_path / "other-home"
    (other / "f").mkdir(parents=True)
    assert report.jupyter_href(other / "f", "lab-home", other) == "lab-home/f"
    assert link.resolve() == other.resolve()
    # a real folder of that name is left alone: no link then
    link.unlink()
    link.mkdir()
    assert report.jupyter_href(other / "f", "lab-home", other) is None


def test_outside_jupyter_the_link_is_the_files_own_uri(local_lab, tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = local_lab.s3_uri("bias/report.html")
    local_lab.wr.s3.upload(local_file=_file(tmp_path / "r.html", "<p>r</p>"), path=uri)
    (row,) = report.links(local_lab, [uri]).rows
    assert row.label == "report.html" and row.href == local_lab.local_path(uri).as_uri()
    assert not (tmp_path / "lab-home").exists()
    # in JupyterLab, a lab home under the notebook's folder (a workshop copy's) needs no link
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "04_detect_bias.ipynb"))
    inside = tmp_path / "lake"
    (inside / "a").mkdir(parents=True)
    assert report.jupyter_href(inside / "a", "lab-home", inside) == "lake/a"


def test_on_aws_a_copy_is_downloaded_and_the_console_linked(aws_lab, tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    _jupyter(monkeypatch, tmp_path / "notebooks")
    s3 = aws_lab.client("s3")
    s3.put_object(Bucket="lab-test-bucket", Key="bias/out/report.html", Body=b"<p>bias</p>")
    aws_lab.config = dataclasses.replace(aws_lab.config, home=tmp_path / "home")
    uri = "s3://lab-test-bucket/bias/out/report.html"
    shown = report.links(aws_lab, [uri, "s3://lab-test-bucket/bias/missing.html"])
    row, missing = shown.rows
    assert row.location == uri and row.note == "a downloaded copy"
    assert row.path == tmp_path / "home" / "downloads" / "lab-test-bucket" / "bias/out/report.html"
    assert row.path.read_bytes() == b"<p>bias</p>"
    assert row.href == "lab-home/downloads/lab-test-bucket/bias/out/report.html"
    assert row.console == ("https://s3.console.aws.amazon.com/s3/object/lab-test-bucket"
                           "?region=us-east-1&prefix=bias/out/report.html")  # fmt: skip
    assert missing.href is None and missing.note.startswith("no copy:")
    assert missing.console and "AWS console" in shown._repr_html_()


def test_run_reports_newest_first_with_how_each_went(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    for name, status in (("20250101-100000", "ok"), ("20250102-100000", "failed"),
                         ("check-20250103-100000", "ok")):  # fmt: skip
        (runs / name).mkdir(parents=True)
        (runs / name / "report.html").write_text("<p>r</p>")
        (runs / name / "summary.json").write_text(json.dumps({"params": {}, "notebooks": [
            {"notebook": "01_ingest", "status": status}]}))  # fmt: skip
    folder = tmp_path / "student"
    folder.mkdir()
    _jupyter(monkeypatch, folder)
    shown = report.run_reports(runs)
    assert [r.label for r in shown.rows] == ["run 20250102-100000", "run 20250101-100000"]
    assert [r.note for r in shown.rows] == ["failed in 01_ingest", "1 notebook(s) ran"]
    assert shown.rows[0].href == "runs/20250102-100000/report.html"
    assert os.path.samefile(folder / "runs", runs)
    assert "no run report yet" in repr(report.run_reports(tmp_path / "none"))


def _file(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)
