"""Slack listeners, one module per feature; ``register_all`` wires them into a Bolt app.

Each module has ``register(app, container)``: the only place where command names, action ids and
callback ids meet the functions that answer them. Listeners ack, parse, call a service from the
container and render a reply with a builder from ``bot.slack``.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from handlers import (
    admin,
    away,
    browse,
    editing,
    followups,
    home,
    interactions,
    km,
    posting,
    privacy,
    reminders,
    shortcuts,
    welcome,
)


def register_all(app: App, container: Container) -> None:
    """Register every listener; ``/km`` gets ``join`` from posting, its personal-data
    subcommands from privacy and ``away`` / ``back`` from away, passed in explicitly."""
    post = posting.register(app, container)
    away_subcommands = away.register(app, container)  # and App Home's away buttons
    km.register(
        app,
        container,
        {"join": post.join_command, **privacy.subcommands(container), **away_subcommands},
    )
    interactions.register(app, container)
    reminders.register(app, container)
    home.register(app, container)
    admin.register(app, container)
    followups.register(app, container)  # "We're still talking"
    welcome.register(app, container)  # member_joined_channel
    shortcuts.register(app, container)  # post from a message, report a card
    editing.register(app, container)  # edit one's own post
    browse.register(app, container)  # App Home's browse list
