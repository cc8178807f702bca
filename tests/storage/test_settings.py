"""Settings come from the environment, with clear messages for bad values."""

from __future__ import annotations

import pytest

from bot.kernel.settings import ConfigError, Settings


def test_defaults_use_a_sqlite_file_in_the_working_directory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({})
    assert s.database_url == f"sqlite:///{tmp_path / 'kmbot.sqlite3'}"
    assert s.port == 3000 and s.max_open_posts == 5 and s.expiry_days == 90
    assert s.slack_api_url == "https://slack.com/api/"


def test_platform_postgres_urls_are_rewritten_for_psycopg() -> None:
    s = Settings.from_env({"DATABASE_URL": "postgres://u:p@db.example:5432/km"})
    assert s.database_url == "postgresql+psycopg://u:p@db.example:5432/km"


def test_values_are_read_and_checked() -> None:
    s = Settings.from_env(
        {
            "PORT": "8080",
            "KMBOT_FACILITATORS": "U1, U2",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "KMBOT_MARKETPLACE_CHANNEL": "#km-market",
        }
    )
    assert s.port == 8080 and s.facilitators == ("U1", "U2")
    assert s.slack_api_url == "http://127.0.0.1:9/api/" and s.marketplace_channel == "km-market"
    with pytest.raises(ConfigError, match="PORT must be a whole number"):
        Settings.from_env({"PORT": "eighty"})
    with pytest.raises(ConfigError, match="SLACK_API_URL"):
        Settings.from_env({"SLACK_API_URL": "ftp://x"})


def test_missing_slack_settings_are_named() -> None:
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ConfigError) as err:
        s.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
    assert "SLACK_SIGNING_SECRET" in str(err.value) and "SLACK_APP_TOKEN" in str(err.value)
    assert "SLACK_BOT_TOKEN" not in str(err.value)
