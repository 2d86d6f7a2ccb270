"""Fixtures of the fault suite: the state of a lab home's lake, to compare before and after."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

LakeState = dict[str, dict[str, tuple[str, int]]]


def _files(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root``: relative path -> (sha256 of its bytes, modification time)."""
    out: dict[str, tuple[str, int]] = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[path.relative_to(root).as_posix()] = (digest, path.stat().st_mtime_ns)
    return out


@pytest.fixture
def lake_state() -> Callable[[Path], LakeState]:
    """``lake_state(home)``: the lake's objects (``<home>/s3``, with staging files), their S3
    metadata and the Glue catalog, byte for byte and with modification times. Equal before and
    after a fault means nothing in the lake changed, not even a rewrite with the same bytes."""

    def state(home: Path) -> LakeState:
        home = Path(home)
        return {part: _files(home / part) for part in ("s3", "s3-metadata", "catalog")}

    return state
