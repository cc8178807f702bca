"""App Home: a member's posts and introductions, and the marketplace to browse."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.container import Container
from handlers.common import refresh_home


class Home:
    """The app_home_opened listener."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def opened(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        """Publish the Home tab when a member opens it."""
        if event.get("tab", "home") != "home":
            return
        refresh_home(self.container, client, event["user"], body.get("team_id", ""))


def register(app: App, container: Container) -> None:
    """Wire App Home into the app."""
    app.event("app_home_opened")(Home(container).opened)
