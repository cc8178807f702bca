"""/km-admin session (a live marketplace session) and /km-admin outputs (the quarter's outputs)."""

from __future__ import annotations

import re

from slack_sdk.errors import SlackApiError

from bot.kernel.errors import InvalidInput
from bot.kernel.text import escape, truncate
from handlers.admin.request import Request, split

# A channel as Slack sends it in command text (<#C0123|name>), or an id, or #name / name.
_MENTION = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
_ID = re.compile(r"[CG][A-Z0-9]{6,}")
_NAME = re.compile(r"#?([a-z0-9][a-z0-9_-]{0,79})")


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
    """The minutes and the channel, in either order; InvalidInput for anything else."""
    minutes: str | None = None
    channel: str | None = None
    for word in args.split():
        found = _MENTION.fullmatch(word)
        if found is not None or word.startswith("#") or _ID.fullmatch(word):
            if channel is not None:
                raise InvalidInput("Please name one channel for the session.")
            channel = found.group(1) if found is not None else _channel_named(request, word)
        elif minutes is None:
            minutes = word
        else:
            raise InvalidInput(
                f"I don't understand “{escape(truncate(word, 30))}”. Try "
                "`/km-admin session start 15 #km-marketplace`."
            )
    return minutes, channel


def _channel_named(request: Request, word: str) -> str:
    """The id of a channel typed by name (or id), checked with Slack."""
    if _ID.fullmatch(word):
        wanted_id, wanted_name = word, None
    else:
        named = _NAME.fullmatch(word.lower())
        if named is None:
            raise InvalidInput(f"“{escape(truncate(word, 40))}” is not a channel name.")
        wanted_id, wanted_name = None, named.group(1)
    cursor: str | None = None
    try:
        for _page in range(20):
            resp = request.client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for c in resp.get("channels") or []:
                if c.get("id") == wanted_id or (wanted_name and c.get("name") == wanted_name):
                    return str(c["id"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except SlackApiError:
        pass
    raise InvalidInput(
        f"I can't find the channel {escape(truncate(word, 40))}. Pick it from Slack's list as "
        "you type `#`, and invite me to it (`/invite @kmbot`) if it's private."
    )


def outputs(request: Request, rest: str) -> None:
    """outputs [quarter]: the quarter's outputs, and the chart and CSV in a DM."""
    words = rest.split()
    send = bool(words) and words[-1].lower() in ("chart", "csv", "files")
    if send:
        words = words[:-1]
    answer = request.container.sessions.outputs(" ".join(words), files=send)
    if not answer.files:
        request.say(answer.text)
        return
    request.send_files(answer.files, "The marketplace's outputs: the chart and the CSV.")
    request.say(answer.text + "\n\nI've sent you the chart and the CSV in a direct message.")
