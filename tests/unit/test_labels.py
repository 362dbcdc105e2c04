import orjson
import pytest

from models.labels import MAX_SOURCE_LENGTH, InvalidLabel, Label, parse_label

GOOD = {"transaction_id": "t1", "user_id": "u1", "label": 1, "known_at": "2026-01-08T00:00:00Z"}


def encode(**changes) -> bytes:
    data = {**GOOD, **changes}
    return orjson.dumps({k: v for k, v in data.items() if v is not ...})


def reason_of(raw) -> str:
    with pytest.raises(InvalidLabel) as caught:
        parse_label(raw)
    return caught.value.reason


def test_a_minimal_label_is_valid():
    assert parse_label(encode()) == Label("t1", "u1", 1, 1767830400.0)


def test_optional_fields_are_read_and_written_back():
    label = parse_label(encode(label=0, merchant_id="m1", timestamp=1767261600, source="review"))
    assert (label.label, label.merchant_id, label.timestamp, label.source) == (
        0, "m1", 1767261600.0, "review"
    )  # fmt: skip
    assert parse_label(orjson.dumps(label.to_dict())) == label


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (None, "empty"),
        (b"{", "invalid_json"),
        (b"[1]", "not_an_object"),
        (b" " * 70_000, "oversized"),
        (encode(label=...), "missing_field"),
        (encode(known_at=...), "missing_field"),
        (encode(transaction_id=...), "missing_field"),
        (encode(user_id="  "), "missing_field"),
        (encode(label=2), "invalid_label"),
        (encode(label=1.0), "invalid_label"),
        (encode(label="1"), "invalid_label"),
        (encode(label=None), "invalid_label"),
        (encode(known_at="soon"), "invalid_timestamp"),
        (encode(timestamp=-5), "invalid_timestamp"),
        (encode(merchant_id=["m"]), "wrong_type"),
        (encode(source="x" * (MAX_SOURCE_LENGTH + 1)), "too_long"),
    ],
)
def test_bad_labels_are_refused_with_a_reason(raw, reason):
    assert reason_of(raw) == reason
