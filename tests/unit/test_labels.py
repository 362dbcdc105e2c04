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


def test_the_newest_label_of_each_transaction_is_its_outcome():
    from models.labels import Label, label_transactions, newest_labels
    from models.transaction import Transaction

    labels = [
        Label("t1", "u", 1, known_at=10.0),
        Label("t1", "u", 0, known_at=30.0),  # cleared later
        Label("t2", "u", 0, known_at=10.0),
        Label("t2", "u", 1, known_at=10.0),  # same moment: the later given wins
        Label("t9", "u", 1, known_at=5.0),  # not in the history
    ]
    history = [Transaction(f"t{i}", "u", 10.0, 1.7e9 + i, label=None) for i in range(1, 4)]
    labelled, matched = label_transactions(history, newest_labels(labels))
    assert [tx.label for tx in labelled] == [0, 1, None]
    assert matched == 2


def test_a_labels_file_gives_its_valid_labels_and_says_what_it_skipped(tmp_path):
    from app.commands.label_sources import labels_from_file

    path = tmp_path / "labels.jsonl"
    path.write_text(
        '{"transaction_id": "t1", "user_id": "u", "label": 1, "known_at": 1767225600}\n'
        '{"transaction_id": "t2", "user_id": "u", "label": "maybe", "known_at": 1767225600}\n'
        "not json\n"
    )
    said: list[str] = []
    labels = labels_from_file(path, said.append)
    assert [label.transaction_id for label in labels] == ["t1"]
    assert said[-1] == f"skipped 2 invalid labels of {path}"
    with pytest.raises(FileNotFoundError):
        labels_from_file(tmp_path / "missing.jsonl", said.append)
