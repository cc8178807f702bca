"""/km-admin communities and prompts: the communities of practice and their nudge prompts."""

from __future__ import annotations

from bot.kernel.errors import InvalidInput
from bot.kernel.vocabulary import KNOWLEDGE_AREAS
from bot.services.admin.communities import COMMUNITY_ACTIONS
from bot.slack import admin as admin_messages
from handlers.admin.request import Request, split
from handlers.common import kick, post_id_from


def communities(request: Request, rest: str) -> None:
    """communities list | add | pause | resume | remove | nudge | prompts ..."""
    word, arg = split(rest)
    admin = request.container.admin
    if word in ("list", ""):
        request.say(admin_messages.communities_list(admin.communities()))
        return
    if word in ("prompts", "prompt"):
        prompts(request, arg)
        return
    if word == "add":
        _add(request, arg)
        return
    if word not in COMMUNITY_ACTIONS:
        request.unknown("communities", word)
        return
    if not arg:
        raise InvalidInput(f"Which community? e.g. `/km-admin communities {word} #km-im-cop`")
    community = admin.change_community(request.user_id, arg, word)
    mention = f"<#{community.channel_id}>"
    kick(request.container)
    request.say(
        {
            "pause": f"Paused the weekly nudge in {mention}.",
            "resume": f"{mention} will be nudged weekly again.",
            "remove": f"{mention} is no longer a community of practice; its nudges have stopped.",
            "nudge": f"Sending the next nudge to {mention} now.",
        }[word]
    )


def _add(request: Request, arg: str) -> None:
    words = arg.split()
    if len(words) < 4:
        raise InvalidInput(
            "Give the channel, knowledge area, day and time, e.g. "
            "`/km-admin communities add #km-im-cop IM Tuesday 10:00`."
        )
    channel_id, name = request.channel(words[0])
    community = request.container.admin.add_community(
        request.user_id,
        channel_id=channel_id,
        name=name or channel_id,
        area=words[1],
        day=words[2],
        time=words[3],
        nation=" ".join(words[4:]) or "England",
    )
    request.say(
        "Added a community of practice:\n"
        + admin_messages.community_line(community)
        + "\nRemember to invite the bot to the channel (`/invite @kmbot`)."
    )


def prompts(request: Request, rest: str) -> None:
    """prompts list [area] | add [area] <text> | remove <number>"""
    word, arg = split(rest)
    admin = request.container.admin
    if word in ("list", ""):
        found, code = admin.prompts(arg.strip() or None)
        request.say(admin_messages.prompts_list(found, code))
        return
    if word == "add":
        first, text = split(arg)
        area: str | None = first.upper() if first.upper() in KNOWLEDGE_AREAS else None
        if area is None:
            text = arg
        prompt = admin.add_prompt(request.user_id, request.member_id, text, area)
        request.say(f"Added prompt #{prompt.id} ({prompt.area or 'any area'}) to the bank.")
    elif word == "remove":
        prompt_id = post_id_from(arg.split()[0]) if arg.split() else None
        if prompt_id is None:
            raise InvalidInput(
                "Which prompt? e.g. `/km-admin prompts remove 4` "
                "(numbers are in `/km-admin prompts list`)."
            )
        admin.remove_prompt(request.user_id, prompt_id)
        request.say(f"Prompt #{prompt_id} is out of the rotation.")
    else:
        request.unknown("prompts", word)
