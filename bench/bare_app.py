"""The baseline for bench_requests.py: a bare Bolt app whose one /want listener only acks.

Built with the same settings, the same Bolt options and the same WSGI wrapper (``KmbotWeb``) as
the real app, and served by the same gunicorn command: the difference in ack latency between the
two is what kmbot itself adds.

Gunicorn target: ``bench.bare_app:wsgi()``.
"""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.app import KmbotWeb
from bot.container import build_container
from bot.kernel.settings import Settings
from bot.outbox.delivery import make_client


def create_bare_app(settings: Settings) -> App:
    """A Bolt app as ``bot.app.create_app`` builds it, with one listener that only acks."""
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret,
        client=make_client(settings.slack_bot_token, settings.slack_api_url),
        token_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    @app.command("/want")
    def want(ack: Ack) -> None:
        ack()

    return app


def wsgi() -> KmbotWeb:
    """Gunicorn's entry point: settings from the environment, as ``bot.app.wsgi_from_env``."""
    settings = Settings.from_env()
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    return KmbotWeb(create_bare_app(settings), build_container(settings))
