"""`vmrsched demo --once`: the README's first command, end to end against exchangesim."""

from __future__ import annotations

import io

import pytest

from vmrsched.cli.demo import run_demo

pytestmark = pytest.mark.slow


def test_the_demo_shows_each_sample_meeting_accepted_or_declined_for_the_right_reason() -> None:
    """Single, series, edited occurrence, cancellation and no-token each end as they should."""
    out = io.StringIO()
    status = run_demo(once=True, listen="127.0.0.1:0", out=out)
    text = out.getvalue()
    assert status == 0, text
    table = text[text.index("#  STEP") :]
    rows = {line.split("  ")[1].strip(): line for line in table.splitlines()[2:]}
    assert "Accepted (accept_new_single_meeting)" in rows["single meeting with a token"]
    assert "Accepted (accept_new_recurring_series)" in rows["weekly series"]
    assert "Accepted (accept_edited_occurrence)" in rows["edited occurrence"]
    assert "Released (cancelled)" in rows["cancellation"]
    assert "Declined (reject_invalid_alias_id)" in rows["meeting without a token"]
    assert "@vmr.contoso.com" in rows["single meeting with a token"]
