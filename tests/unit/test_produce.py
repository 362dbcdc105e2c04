"""What ``produce --start continue`` takes from the messages already in the topic."""

from __future__ import annotations

from app.commands.produce import newest_event_time


def test_the_newest_event_time_is_read_from_transactions_only():
    values = [
        b'{"transaction_id":"a","user_id":"u1","amount":1,"timestamp":"2026-03-02T10:00:00Z"}',
        b'{"transaction_id":"b","user_id":"u2","amount":1,"timestamp":1772449200}',
        b"{broken",
        b'{"no":"timestamp"}',
        b'["a list"]',
        b'{"timestamp":"when?"}',
    ]
    assert newest_event_time(values) == 1772449200.0  # 11:00, after 10:00
    assert newest_event_time(values[2:]) is None
    assert newest_event_time([]) is None
