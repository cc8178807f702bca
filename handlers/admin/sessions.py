"""/km-admin session: a live marketplace session."""

from __future__ import annotations

from bot.kernel.errors import InvalidInput
from handlers.admin.request import Request, is_channel_word, split


def session(request: Request, rest: str) -> None:
    """session [start [minutes] [#channel] | end]"""
    word, args = split(rest)
    sessions = request.container.sessions
    if word in ("", "status", "show"):
        request.say(sessions.current())
        return
    if word == "start":
        minutes, channel = _start_arguments(request, args)
        request.say(sessions.start(request.team_id, request.user_id, minutes, channel))
        return
    if word in ("end", "stop", "finish"):
        request.say(sessions.end(request.user_id))
        return
    request.unknown("session", word)


def _start_arguments(request: Request, args: str) -> tuple[str | None, str | None]:
    """The minutes ("15", "15 minutes") and the channel, in either order."""
    channels = [word for word in args.split() if is_channel_word(word)]
    if len(channels) > 1:
        raise InvalidInput("Please name one channel for the session.")
    minutes = " ".join(word for word in args.split() if not is_channel_word(word))
    return minutes or None, request.channel(channels[0])[0] if channels else None
