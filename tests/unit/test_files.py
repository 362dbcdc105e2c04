import orjson
import pytest

from app.files import detect_format, parse_mapping, read_messages


def test_jsonl_records_become_keyed_messages(tmp_path):
    path = tmp_path / "tx.jsonl"
    path.write_bytes(
        b'{"transaction_id":"a","user_id":7,"amount":1.5,"timestamp":1772368200}\n'
        b"\n"
        b"not json\n"
        b"[1,2]\n"
    )
    messages = list(read_messages(path, "jsonl"))
    assert messages[0][0] == b"7"
    assert orjson.loads(messages[0][1])["amount"] == 1.5
    # Malformed lines are passed on as they are, for the worker to dead-letter.
    assert messages[1:] == [(None, b"not json"), (None, b"[1,2]")]


def test_csv_with_column_mapping(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(
        "id,customer,amount,timestamp,merchant_type,is_fraud\n"
        "t1,c9,12.50,2026-01-14T15:00:00Z,electronics,1\n"
        "t2,c9,oops,1772368200,,0\n"
    )
    mapping = parse_mapping(
        [
            "transaction_id=id",
            "user_id=customer",
            "merchant_category=merchant_type",
            "label=is_fraud",
        ]
    )
    (key1, value1), (key2, value2) = read_messages(path, "csv", mapping)
    first, second = orjson.loads(value1), orjson.loads(value2)
    assert key1 == key2 == b"c9"
    assert first == {
        "transaction_id": "t1",
        "user_id": "c9",
        "amount": 12.5,
        "timestamp": "2026-01-14T15:00:00Z",
        "merchant_category": "electronics",
        "label": 1,
    }
    assert second["amount"] == "oops"  # left for the worker to reject with a reason
    assert second["timestamp"] == 1772368200.0
    assert second["merchant_category"] is None


@pytest.mark.parametrize("bad", ["user_id", "=x", "user_id="])
def test_parse_mapping_rejects_malformed_pairs(bad):
    with pytest.raises(ValueError, match="FIELD=COLUMN"):
        parse_mapping([bad])


def test_detect_format_by_extension(tmp_path):
    assert detect_format(tmp_path / "a.CSV") == "csv"
    assert detect_format(tmp_path / "a.jsonl") == "jsonl"
