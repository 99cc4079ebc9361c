"""Smoke test of the backlog benchmark (bench/backlog.py): its whole code path with a tiny N."""

from __future__ import annotations

import importlib.util
import io
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
def test_every_backlog_meeting_is_answered_exactly_once_with_one_call_each() -> None:
    """Ten waiting meetings (singles and series) each get one answer, each reply one CreateItem
    and no Sent Items lookup (first attempts); push meetings are timed; the report is a table."""
    backlog = load_benchmark()
    result = backlog.run(n=10, singles=8, latency_ms=0, push_meetings=2, timeout_s=60)
    assert (result.answered, result.duplicates) == (10, 0)
    assert len(result.push_seconds) == 2
    assert result.ews_calls.get("CreateItem", 0) == 10
    assert result.ews_calls.get("FindItem", 0) == 0
    assert result.calls_per_meeting <= 2
    assert result.cpu_seconds > 0

    out = io.StringIO()
    backlog.report([result, result], out, command="bench/backlog.py --n 10")
    lines = out.getvalue().splitlines()
    assert "| measure | run 1 | run 2 | target (issue 4) |" in lines
    [calls] = [line for line in lines if line.startswith("| EWS calls per meeting |")]
    assert calls.endswith("| ≤ 2: met |")
    [exact] = [line for line in lines if line.startswith("| answered / duplicates |")]
    assert "10 / 0" in exact


@pytest.mark.timeout(180)
def test_the_graph_backlog_with_change_notifications_subscribes_once_and_answers_each_once() -> (
    None
):
    """``--api graph --graph-push``: the service subscribes once (through the validation
    handshake to the loopback endpoints), answers every meeting once, and the timed meetings
    are woken by notifications (no 2-second delta polling: few delta requests): one
    notification per meeting (new messages only), at most one delta pass each (plus the one
    after subscribing), each read one GET (no $batch of one)."""
    backlog = load_benchmark()
    result = backlog.run(
        n=4, singles=4, latency_ms=0, push_meetings=3, timeout_s=60, api="graph", graph_push=True
    )
    assert (result.answered, result.duplicates) == (4, 0)
    made = "subscriptions.create"  # before or after the backlog is cleared, once
    assert result.ews_calls.get(made, 0) + result.push_calls.get(made, 0) == 1
    assert len(result.push_seconds) == 3
    assert max(result.push_seconds) < 15  # the poll interval is 30 s
    assert 1 <= result.push_notifications <= 3
    assert result.push_calls.get("message_delta", 0) <= 3 + 1
    assert result.push_calls.get("get_message", 0) == 3
    assert result.push_calls.get("$batch", 0) == 0
