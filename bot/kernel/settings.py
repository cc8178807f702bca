"""Settings: read once from the environment into a frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.kernel.logs import LEVELS

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


def normalise_database_url(url: str) -> str:
    """Rewrite platform-style ``postgres://`` URLs to the psycopg 3 driver SQLAlchemy needs."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def default_database_url(cwd: Path | None = None) -> str:
    """A SQLite file in the working directory: the embedded default."""
    return f"sqlite:///{(cwd or Path.cwd()) / 'kmbot.sqlite3'}"


def _int(
    env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {value}.")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything kmbot is configured with."""

    database_url: str = field(default_factory=default_database_url)
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_team_id: str = ""
    slack_enterprise_id: str = ""
    port: int = 3000
    marketplace_channel: str = "km-marketplace"
    facilitators: tuple[str, ...] = ()
    max_open_posts: int = 5
    expiry_days: int = 90
    reminder_days_before: int = 7
    retention_days: int = 365
    intro_threshold: int | None = None
    candidate_threshold: int | None = None
    max_intros: int = 3
    max_post_length: int = 1000
    nudge_grace_minutes: int = 120
    follow_up_days: int = 10  # KMBOT_FOLLOW_UP_DAYS: ask about an unanswered introduction
    glossary_file: str = ""
    timezone: str = "Europe/London"
    log_level: str = ""  # KMBOT_LOG_LEVEL; empty: each command's own default

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default)."""
        env = os.environ if env is None else env
        facilitators = tuple(
            u.strip()
            for u in env.get("KMBOT_FACILITATORS", "").replace(";", ",").split(",")
            if u.strip()
        )
        threshold = env.get("KMBOT_MATCH_THRESHOLD", "").strip()
        candidates = env.get("KMBOT_CANDIDATE_THRESHOLD", "").strip()
        return cls(
            database_url=normalise_database_url(
                env.get("DATABASE_URL", "").strip() or default_database_url()
            ),
            slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            slack_api_url=_api_url(env.get("SLACK_API_URL", "").strip()),
            slack_team_id=env.get("KMBOT_TEAM_ID", "").strip(),
            slack_enterprise_id=env.get("KMBOT_ENTERPRISE_ID", "").strip(),
            port=_int(env, "PORT", 3000, minimum=1),
            marketplace_channel=env.get("KMBOT_MARKETPLACE_CHANNEL", "").strip().lstrip("#")
            or "km-marketplace",
            facilitators=facilitators,
            max_open_posts=_int(env, "KMBOT_MAX_OPEN_POSTS", 5, minimum=1),
            expiry_days=_int(env, "KMBOT_EXPIRY_DAYS", 90, minimum=1),
            reminder_days_before=_int(env, "KMBOT_REMINDER_DAYS", 7, minimum=1),
            retention_days=_int(env, "KMBOT_RETENTION_DAYS", 365, minimum=1),
            intro_threshold=_int(env, "KMBOT_MATCH_THRESHOLD", 0) if threshold else None,
            candidate_threshold=_int(env, "KMBOT_CANDIDATE_THRESHOLD", 0) if candidates else None,
            max_intros=_int(env, "KMBOT_MAX_INTROS", 3, minimum=1),
            nudge_grace_minutes=_int(env, "KMBOT_NUDGE_GRACE_MINUTES", 120, minimum=1),
            # A year at most: after that nobody remembers the introduction.
            follow_up_days=_int(env, "KMBOT_FOLLOW_UP_DAYS", 10, minimum=1, maximum=365),
            glossary_file=env.get("KMBOT_GLOSSARY", "").strip(),
            timezone=env.get("KMBOT_TIMEZONE", "").strip() or "Europe/London",
            log_level=_log_level(env.get("KMBOT_LOG_LEVEL", "")),
        )

    def require(self, *names: str) -> None:
        """Fail with a message naming every missing environment variable among ``names``."""
        attrs = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
        }
        missing = [n for n in names if not attrs.get(n)]
        if missing:
            raise ConfigError(
                "Missing required setting"
                + ("s" if len(missing) > 1 else "")
                + ": "
                + ", ".join(missing)
                + ". Set "
                + ("them" if len(missing) > 1 else "it")
                + " in the environment (see the README's Slack set-up section)."
            )

    def with_(self, **changes: Any) -> Settings:
        """A copy with some values changed (for tests and the sandbox)."""
        return replace(self, **changes)


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level and level not in LEVELS:
        raise ConfigError(
            f"KMBOT_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {raw.strip()!r}."
        )
    return level


def _api_url(raw: str) -> str:
    if not raw:
        return DEFAULT_SLACK_API_URL
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"SLACK_API_URL must be an http(s) URL, not {raw!r}.")
    return raw if raw.endswith("/") else raw + "/"
