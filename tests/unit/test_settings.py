import pytest

from app.errors import ConfigurationError
from app.settings import DEFAULT_DATABASE_URL, Settings


def test_settings_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.app_id == "txwatch"
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.topic("transactions") == "transactions"
    assert settings.consumer_on_loop is True
    assert settings.alert_budget is None


@pytest.mark.parametrize(("raw", "share"), [("0.01", 0.01), ("0.5%", 0.005), (" 2% ", 0.02)])
def test_alert_budget_reads_a_share_or_a_percentage(raw, share):
    assert Settings.from_env({"TXWATCH_ALERT_BUDGET": raw}).alert_budget == pytest.approx(share)


def test_settings_read_the_environment():
    settings = Settings.from_env(
        {
            "TXWATCH_APP_ID": "fraud-eu",
            "TXWATCH_TOPIC_PREFIX": "eu.",
            "DATABASE_URL": "postgresql://db.example/fraud",
            "TXWATCH_ROCKSDB_CACHE_MB": "32",
            "TXWATCH_GC_THRESHOLD": "0",
            "TXWATCH_FETCH_MIN_BYTES": "65536",
            "TXWATCH_FETCH_MAX_WAIT_MS": "20",
            "TXWATCH_CONSUMER_ON_LOOP": "false",
            "TXWATCH_RECOVERY_STALL_SECONDS": "120",
        }
    )
    assert settings.app_id == "fraud-eu"
    assert settings.topic("alerts") == "eu.alerts"
    assert settings.database_url == "postgresql://db.example/fraud"
    assert settings.rocksdb_cache_mb == 32
    assert settings.gc_threshold == 0
    assert (settings.fetch_min_bytes, settings.fetch_max_wait_ms) == (65536, 20)
    assert settings.consumer_on_loop is False
    assert settings.recovery_stall_seconds == 120


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TXWATCH_ROCKSDB_CACHE_MB": "lots"}, "TXWATCH_ROCKSDB_CACHE_MB='lots' is not an integer"),
        ({"TXWATCH_ROCKSDB_CACHE_MB": "0"}, "TXWATCH_ROCKSDB_CACHE_MB=0 must be at least 1"),
        ({"TXWATCH_APP_ID": "a b"}, "TXWATCH_APP_ID='a b'"),
        ({"TXWATCH_GC_THRESHOLD": "-1"}, "TXWATCH_GC_THRESHOLD=-1 must be at least 0"),
        ({"TXWATCH_FETCH_MAX_WAIT_MS": "0"}, "TXWATCH_FETCH_MAX_WAIT_MS=0 must be at least 1"),
        ({"TXWATCH_CONSUMER_ON_LOOP": "maybe"}, "TXWATCH_CONSUMER_ON_LOOP='maybe': use true"),
        # A bound shorter than two of the watchdog's looks would rejoin a busy recovery.
        ({"TXWATCH_RECOVERY_STALL_SECONDS": "2"}, "TXWATCH_RECOVERY_STALL_SECONDS=2 must be"),
        ({"TXWATCH_ALERT_BUDGET": "some"}, "TXWATCH_ALERT_BUDGET='some' is not a share"),
        ({"TXWATCH_ALERT_BUDGET": "60%"}, "the share must be from 0.01% to 50%"),
    ],
)
def test_settings_name_the_variable_at_fault(env, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(env)
