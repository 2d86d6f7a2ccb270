from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

from utils import records, runner


def test_select_by_numbers_and_ranges(tmp_path):
    for name in ("00_setup", "01_ingest", "02_explore", "04_bias", "99_cleanup", "notes"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    found = runner.discover(tmp_path)
    assert [p.stem for p in found] == ["00_setup", "01_ingest", "02_explore", "04_bias",
                                       "99_cleanup"]  # fmt: skip
    assert [p.stem[:2] for p in runner.select(found, "01-02,99")] == ["01", "02", "99"]
    with pytest.raises(SystemExit, match="matches no notebook"):
        runner.select(found, "50")
    with pytest.raises(SystemExit, match="numbers and ranges"):
        runner.select(found, "one")


def test_parameter_values_are_coerced(tmp_path):
    (tmp_path / "p.yaml").write_text("SEED: 3\nBACKEND: aws\n")
    params = runner.load_params(str(tmp_path / "p.yaml"),
                                [["SEED", "7"], ["DRY_RUN", "false"], ["RAW_DATA", "none"],
                                 ["RATE", "0.5"], ["NAME", "x.csv"]], None)  # fmt: skip
    assert params == {"SEED": 7, "BACKEND": "aws", "DRY_RUN": False, "RAW_DATA": None,
                      "RATE": 0.5, "NAME": "x.csv"}  # fmt: skip
    assert runner.load_params(None, None, "local") == {"BACKEND": "local"}


def test_records_round_trip_through_a_notebook_dict():
    frame = pd.DataFrame({"sentiment": [-1, 0, 1], "n": [3, 2, 1]})
    payloads = {
        "rows": 22626,
        "counts": {"-1": 2370},
        "frame": frame,
        "ratio": float("nan"),
    }
    outputs = []
    for name, value in payloads.items():
        payload = {"name": name, "value": records.to_jsonable(value)}
        outputs.append(nbformat.v4.new_output("display_data", data={records.MIME: payload}))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=outputs)])
    nb = json.loads(nbformat.writes(nb))
    got = records.read_records(nb)
    assert got["rows"] == 22626 and got["counts"] == {"-1": 2370} and got["ratio"] is None
    pd.testing.assert_frame_equal(got["frame"], frame)


def test_record_refuses_bad_names_and_values():
    with pytest.raises(ValueError, match="identifier"):
        records.record("rows kept", 1)
    with pytest.raises(TypeError, match="cannot record"):
        records.record("thing", object())
