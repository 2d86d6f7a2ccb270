"""01_ingest on the real data set (../shared/data), when it is present."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.notebook, pytest.mark.realdata]


def test_01_ingest_on_the_real_file(run_notebook, real_data_path, tmp_path):
    rec = run_notebook("01_ingest", LAB_HOME=str(tmp_path / "lake"), RAW_DATA=str(real_data_path))
    assert rec["raw_origin"] == "parameter" and rec["raw_synthetic"] is False
    assert rec["raw_rows"] == 23486
    assert rec["rows_kept"] == 22626
    assert rec["sentiment_counts"] == {"-1": 2370, "0": 2823, "1": 17433}
