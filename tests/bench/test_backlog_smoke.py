"""Smoke test of the backlog benchmark (bench/backlog.py): its whole code path with a tiny N."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "backlog.py"


def load_benchmark() -> ModuleType:
    """bench/backlog.py as a module (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_backlog", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(180)
def test_every_backlog_meeting_is_answered_exactly_once() -> None:
    """Ten waiting meetings (singles and series) each get one answer; push meetings are timed."""
    backlog = load_benchmark()
    result = backlog.run(n=10, singles=8, latency_ms=0, push_meetings=2, timeout_s=60)
    assert (result.answered, result.duplicates) == (10, 0)
    assert len(result.push_seconds) == 2
    assert result.ews_calls.get("CreateItem", 0) >= 10
