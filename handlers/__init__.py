"""Slack listeners, one module per feature; ``register_all`` wires them into a Bolt app.

Each module has ``register(app, container)``: the only place where command names, action ids and
callback ids meet the functions that answer them. Listeners ack, parse, call a service from the
container and render a reply with a builder from ``bot.slack``.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from handlers import admin, home, interactions, km, posting, privacy, reminders


def register_all(app: App, container: Container) -> None:
    """Register every listener; ``/km`` gets ``join`` from posting and its personal-data
    subcommands from privacy, passed in explicitly."""
    post = posting.register(app, container)
    km.register(app, container, {"join": post.join_command, **privacy.subcommands(container)})
    interactions.register(app, container)
    reminders.register(app, container)
    home.register(app, container)
    admin.register(app, container)
