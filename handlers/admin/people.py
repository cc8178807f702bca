"""/km-admin facilitators, councils, remove/restore and introduce."""

from __future__ import annotations

from bot.kernel.errors import InvalidInput
from bot.kernel.text import escape
from bot.slack import admin as admin_messages
from handlers.admin.request import Request, partition_word, split
from handlers.common import kick, post_id_from


def facilitators(request: Request, rest: str) -> None:
    """facilitators list | add @user | remove @user"""
    word, arg = split(rest)
    admin = request.container.admin
    if word in ("list", ""):
        request.say(admin_messages.facilitators_list(admin.facilitators()))
        return
    if word not in ("add", "remove"):
        request.unknown("facilitators", word)
        return
    if not arg:
        raise InvalidInput(f"Who? e.g. `/km-admin facilitators {word} @Jo Bloggs`")
    if word == "add":
        user_id = admin.add_facilitator(request.user_id, arg, team_id=request.team_id)
        request.say(f"<@{user_id}> is now a facilitator and can use `/km-admin`.")
    else:
        user_id = admin.remove_facilitator(request.user_id, arg)
        request.say(f"<@{user_id}> is no longer a facilitator.")


def councils(request: Request, rest: str) -> None:
    """councils add <name> [in <region>] | rename <council> to <name> | merge <a> into <b>"""
    word, arg = split(rest)
    admin = request.container.admin
    if word == "add":
        name, region = _name_and_region(request, arg)
        council = admin.add_council(request.user_id, name, region)
        where = f" in {escape(council.region)}" if council.region else ""
        request.say(
            f"Added *{escape(council.name)}* (council #{council.id}){where}. "
            "Members can now choose it when they join."
        )
    elif word == "rename":
        old, sep, new = partition_word(arg, "to")
        if not sep:
            raise InvalidInput(
                "Rename to what? e.g. `/km-admin councils rename 12 to Newtown Council`"
            )
        council = admin.rename_council(request.user_id, old, new)
        request.say(f"Council #{council.id} is now called *{escape(council.name)}*.")
    elif word == "merge":
        duplicate, sep, keep = partition_word(arg, "into")
        if not sep:
            raise InvalidInput(
                "Merge into which council? e.g. "
                "`/km-admin councils merge Devon CC into Devon County Council`"
            )
        merged = admin.merge_councils(request.user_id, duplicate, keep)
        request.say(
            f"Merged into *{escape(merged.kept)}*: {merged.members_moved} "
            f"member(s) and {merged.posts_moved} post(s) moved across."
        )
    else:
        request.unknown("councils", word)


def _name_and_region(request: Request, text: str) -> tuple[str, str | None]:
    """A council's name, and a region when the text ends "in <a known region>"."""
    name, sep, tail = partition_word(text, "in")
    if sep:
        region = request.container.admin.parse_region(tail)
        if region is not None:
            return name, region
    return text.strip(), None


def moderation(request: Request, rest: str) -> None:
    """moderation remove|restore ... (the same as the top-level words)."""
    word, arg = split(rest)
    if word == "remove":
        remove(request, arg)
    elif word == "restore":
        restore(request, arg)
    else:
        request.unknown("moderation", word)


def remove(request: Request, rest: str) -> None:
    """remove <post number> <reason>"""
    number, reason = split(rest)
    post_id = post_id_from(number) if number else None
    if post_id is None:
        raise InvalidInput(
            "Which post? e.g. `/km-admin remove 12 contains a phone number` "
            "(the number is on its card)."
        )
    post = request.container.admin.remove_post(request.user_id, post_id, reason)
    kick(request.container)
    request.say(
        f"Removed *{post.label}* from the marketplace."
        + (
            " Its author has been told why."
            if post.author_told
            else " Its author is not on Slack, so nobody was told."
        )
    )


def restore(request: Request, rest: str) -> None:
    """restore <post number>"""
    post_id = post_id_from(rest.split()[0]) if rest.split() else None
    if post_id is None:
        raise InvalidInput("Which post? e.g. `/km-admin restore 12`")
    post = request.container.admin.restore_post(request.user_id, post_id)
    kick(request.container)
    request.say(f"Restored *{post.label}*; it is {post.status} again.")


def introduce(request: Request, rest: str) -> None:
    """introduce <want number> <offer number>"""
    words = rest.replace(",", " ").split()
    numbers = [post_id_from(w) for w in words if w.lower() not in ("and", "with", "to")]
    if len(numbers) != 2 or None in numbers:
        raise InvalidInput("Give a want's number and an offer's, e.g. `/km-admin introduce 12 7`.")
    want_id, offer_id, held = request.container.admin.introduce(
        request.user_id, request.member_id, numbers[0] or 0, numbers[1] or 0
    )
    kick(request.container)
    if held:
        request.say(
            f"Noted: one of them is away, so I'll introduce want #{want_id} and offer "
            f"#{offer_id} in the want's thread as soon as they're back."
        )
        return
    request.say(
        f"Introduced want #{want_id} and offer #{offer_id} in the want's thread in the marketplace."
    )
