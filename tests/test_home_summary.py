"""The home screen's summary says who is signed in and what to do next."""

from __future__ import annotations

from datetime import UTC, datetime

from api_client.models.auth import AccountOut
from screens.home import account_summary

ACCOUNT = AccountOut(
    id="a", email="nso@example.org", name="Staff", created_at=datetime.now(UTC), user_id="u"
)


def test_nso_staff_are_sent_to_their_queues_not_to_join_etwinning():
    state, step = account_summary(ACCOUNT, {"state": "esep_registered", "staff_country": "GR"})
    assert "GR" in state and "Support Organisation" in state
    assert "queues" in step and "Join eTwinning" not in step


def test_a_teacher_waiting_for_validation_is_told_to_wait():
    state, step = account_summary(ACCOUNT, {"state": "etwinning_pending", "staff_country": None})
    assert "validation" in state.lower()
    assert "7 days" in step
