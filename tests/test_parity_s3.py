"""Every local wr.s3 call's parameters are accepted by awswrangler's, with the same defaults."""

from __future__ import annotations

import inspect

import awswrangler
import pytest

from utils.local.s3 import LocalS3

CALLS = ["upload", "download", "list_objects", "read_csv", "to_csv", "does_object_exist",
         "delete_objects"]  # fmt: skip


@pytest.mark.parametrize("name", CALLS)
def test_signature_matches_awswrangler(name):
    real = inspect.signature(getattr(awswrangler.s3, name)).parameters
    local = dict(inspect.signature(getattr(LocalS3, name)).parameters)
    local.pop("self")
    for pname, param in local.items():
        assert pname in real, f"wr.s3.{name}: local parameter {pname!r} is not awswrangler's"
        assert param.kind == real[pname].kind, f"wr.s3.{name}({pname}): kind differs"
        assert param.default == real[pname].default, (
            f"wr.s3.{name}({pname}): default {param.default!r} != {real[pname].default!r}"
        )
    # same order, so positional calls mean the same thing
    assert list(local) == [p for p in real if p in local]
    missing = [p for p in real if p not in local]
    assert not missing, f"wr.s3.{name}: local lacks {missing}"
