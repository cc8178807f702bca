"""/km-admin: the facilitators' tools. Everyone else is politely refused, and the attempt logged."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.kernel.errors import InvalidInput, KmbotError
from bot.kernel.settings import KNOWLEDGE_AREAS
from bot.kernel.text import escape, truncate
from bot.reports import stats as statistics
from bot.services import admin, audit
from bot.slack import admin as admin_blocks
from bot.slack import ids
from handlers.common import actor, kick, post_id_from
from storage.models import CommunityOfPractice, Member

logger = logging.getLogger(__name__)

HELP_WORDS = {"help", "?", "-h", "--help"}
_CHANNEL = re.compile(r"^(?:<#([CG][A-Z0-9]+)(?:\|([^>]*))?>|([CG][A-Z0-9]{2,}))$")


@dataclass
class Request:
    """Who is asking, and how to answer them."""

    team_id: str
    user_id: str
    member_id: int
    respond: Respond
    client: WebClient

    def say(self, text: str) -> None:
        """An ephemeral reply (mrkdwn we wrote, user text already escaped)."""
        self.respond(admin_blocks.long_notice(text), response_type="ephemeral")


Subcommand = Callable[[Request, str], None]


def _split(text: str) -> tuple[str, str]:
    word, _, rest = text.strip().partition(" ")
    return word.lower(), rest.strip()


class AdminCommand:
    """The /km-admin command and its subcommands."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.subcommands: dict[str, tuple[str, Subcommand]] = {
            "facilitators": ("facilitators", self.facilitators),
            "facilitator": ("facilitators", self.facilitators),
            "councils": ("councils", self.councils),
            "council": ("councils", self.councils),
            "remove": ("moderation", self.remove),
            "restore": ("moderation", self.restore),
            "moderation": ("moderation", self.moderation),
            "introduce": ("introduce", self.introduce),
            "communities": ("communities", self.communities),
            "community": ("communities", self.communities),
            "cop": ("communities", self.communities),
            "prompts": ("prompts", self.prompts),
            "stats": ("stats", self.stats),
            "statistics": ("stats", self.stats),
            "export": ("export", self.export),
            "report": ("report", self.report),
            "audit": ("audit", self.audit),
        }

    # ------------------------------------------------------------ dispatch
    def handle(
        self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """Dispatch /km-admin <subcommand> [arguments], for facilitators only."""
        ack()
        text = (command.get("text") or "").strip()
        team_id, user_id = actor(command)
        with self.services.session_factory.begin() as session:
            member = admin.facilitator_member(session, team_id, user_id)
            if member is None:
                admin.record_refusal(session, user_id, f"/km-admin {text}".strip())
                names = [
                    m.slack_user_id for m in admin.list_facilitators(session) if m.slack_user_id
                ]
            member_id = member.id if member is not None else 0
        if member is None:
            respond(
                admin_blocks.long_notice(admin_blocks.refusal(names)), response_type="ephemeral"
            )
            return
        request = Request(team_id, user_id, member_id, respond, client)
        word, rest = _split(text)
        if word in HELP_WORDS or not word:
            asked = self.subcommands.get(_split(rest)[0])
            request.say(admin_blocks.HELP[asked[0]] if asked else admin_blocks.overview_help())
            return
        found = self.subcommands.get(word)
        if found is None:
            request.say(
                f"I don't know `/km-admin {escape(truncate(word, 40))}`.\n"
                + admin_blocks.overview_help()
            )
            return
        topic, sub = found
        if rest.lower() in HELP_WORDS:
            request.say(admin_blocks.HELP[topic])
            return
        try:
            sub(request, rest)
        except KmbotError as exc:
            # Our services word their messages for Slack, escaping what people typed.
            request.say(str(exc))
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "unknown"
            logger.warning("Slack refused part of /km-admin %s: %s", word, error)
            request.say(
                f"Slack would not take that just now ({escape(str(error))}). "
                "Please try again in a minute."
            )

    def _unknown(self, request: Request, topic: str, word: str) -> None:
        lead = f"I don't know `/km-admin {topic} {escape(truncate(word, 40))}`.\n" if word else ""
        request.say(lead + admin_blocks.HELP[topic])

    # ------------------------------------------------------------ facilitators
    def facilitators(self, request: Request, rest: str) -> None:
        """facilitators list | add @user | remove @user"""
        word, arg = _split(rest)
        services = self.services
        if word in ("list", ""):
            with services.session_factory() as session:
                request.say(admin_blocks.facilitators_list(admin.list_facilitators(session)))
            return
        if word not in ("add", "remove"):
            self._unknown(request, "facilitators", word)
            return
        if not arg:
            raise InvalidInput(f"Who? e.g. `/km-admin facilitators {word} @Jo Bloggs`")
        user_id = admin.parse_user(arg)
        with services.session_factory.begin() as session:
            if word == "add":
                admin.add_facilitator(
                    session, user_id, actor=request.user_id, team_id=request.team_id
                )
            else:
                admin.remove_facilitator(
                    session,
                    user_id,
                    actor=request.user_id,
                    configured=services.settings.facilitators,
                )
        if word == "add":
            request.say(f"<@{user_id}> is now a facilitator and can use `/km-admin`.")
        else:
            request.say(f"<@{user_id}> is no longer a facilitator.")

    # ------------------------------------------------------------ councils
    def councils(self, request: Request, rest: str) -> None:
        """councils add <name> [in <region>] | rename <council> to <name> | merge <a> into <b>"""
        word, arg = _split(rest)
        services = self.services
        if word == "add":
            name, region = _name_and_region(arg)
            with services.session_factory.begin() as session:
                council = admin.add_council(
                    session,
                    name,
                    actor=request.user_id,
                    directory=services.directory,
                    region=region,
                )
                where = f" in {escape(council.region)}" if council.region else ""
                said = (
                    f"Added *{escape(council.name)}* (council #{council.id}){where}. "
                    "Members can now choose it when they join."
                )
            request.say(said)
        elif word == "rename":
            old, sep, new = _partition_word(arg, "to")
            if not sep:
                raise InvalidInput(
                    "Rename to what? e.g. `/km-admin councils rename 12 to Newtown Council`"
                )
            with services.session_factory.begin() as session:
                council = admin.rename_council(
                    session, old, new, actor=request.user_id, directory=services.directory
                )
                said = f"Council #{council.id} is now called *{escape(council.name)}*."
            request.say(said)
        elif word == "merge":
            duplicate, sep, keep = _partition_word(arg, "into")
            if not sep:
                raise InvalidInput(
                    "Merge into which council? e.g. "
                    "`/km-admin councils merge Devon CC into Devon County Council`"
                )
            with services.session_factory.begin() as session:
                merged = admin.merge_councils(
                    session,
                    duplicate,
                    keep,
                    actor=request.user_id,
                    directory=services.directory,
                    now=services.clock(),
                )
                said = (
                    f"Merged into *{escape(merged.kept.name)}*: {merged.members_moved} "
                    f"member(s) and {merged.posts_moved} post(s) moved across."
                )
            request.say(said)
        else:
            self._unknown(request, "councils", word)

    # ------------------------------------------------------------ moderation
    def moderation(self, request: Request, rest: str) -> None:
        """moderation remove|restore ... (the same as the top-level words)."""
        word, arg = _split(rest)
        if word == "remove":
            self.remove(request, arg)
        elif word == "restore":
            self.restore(request, arg)
        else:
            self._unknown(request, "moderation", word)

    def remove(self, request: Request, rest: str) -> None:
        """remove <post number> <reason>"""
        number, reason = _split(rest)
        post_id = post_id_from(number) if number else None
        if post_id is None:
            raise InvalidInput(
                "Which post? e.g. `/km-admin remove 12 contains a phone number` "
                "(the number is on its card)."
            )
        services = self.services
        with services.session_factory.begin() as session:
            post = admin.remove_post(
                session,
                post_id,
                reason,
                actor=request.user_id,
                matcher=services.matcher,
                now=services.clock(),
            )
            label = f"{post.kind.capitalize()} #{post.id}"
            told = post.member is not None and bool(post.member.slack_user_id)
        kick(services)
        request.say(
            f"Removed *{label}* from the marketplace."
            + (
                " Its author has been told why."
                if told
                else " Its author is not on Slack, so nobody was told."
            )
        )

    def restore(self, request: Request, rest: str) -> None:
        """restore <post number>"""
        post_id = post_id_from(rest.split()[0]) if rest.split() else None
        if post_id is None:
            raise InvalidInput("Which post? e.g. `/km-admin restore 12`")
        services = self.services
        with services.session_factory.begin() as session:
            post = admin.restore_post(
                session,
                post_id,
                actor=request.user_id,
                matcher=services.matcher,
                now=services.clock(),
            )
            label, status = f"{post.kind.capitalize()} #{post.id}", str(post.status)
        kick(services)
        request.say(f"Restored *{label}*; it is {status} again.")

    def introduce(self, request: Request, rest: str) -> None:
        """introduce <want number> <offer number>"""
        words = rest.replace(",", " ").split()
        numbers = [post_id_from(w) for w in words if w.lower() not in ("and", "with", "to")]
        if len(numbers) != 2 or None in numbers:
            raise InvalidInput(
                "Give a want's number and an offer's, e.g. `/km-admin introduce 12 7`."
            )
        services = self.services
        with services.session_factory.begin() as session:
            made_by = session.get(Member, request.member_id)
            services.matcher.refresh(session)
            intro = admin.introduce(
                session,
                numbers[0] or 0,
                numbers[1] or 0,
                actor=request.user_id,
                made_by=made_by,
                settings=services.settings,
                matcher=services.matcher,
            )
            said = (
                f"Introduced want #{intro.want_id} and offer #{intro.offer_id} in the want's "
                "thread in the marketplace."
            )
        kick(services)
        request.say(said)

    # ------------------------------------------------------------ communities of practice
    def communities(self, request: Request, rest: str) -> None:
        """communities list | add | pause | resume | remove | nudge | prompts ..."""
        from bot.services import communities as cop

        word, arg = _split(rest)
        services = self.services
        if word in ("list", ""):
            with services.session_factory() as session:
                request.say(admin_blocks.communities_list(cop.list_communities(session)))
            return
        if word in ("prompts", "prompt"):
            self.prompts(request, arg)
            return
        if word == "add":
            self._add_community(request, arg)
            return
        if word not in ("pause", "resume", "remove", "nudge"):
            self._unknown(request, "communities", word)
            return
        if not arg:
            raise InvalidInput(f"Which community? e.g. `/km-admin communities {word} #km-im-cop`")
        with services.session_factory.begin() as session:
            community = cop.find_community(session, arg)
            before = _community_snapshot(community)
            target, mention = f"community #{community.id}", f"<#{community.channel_id}>"
            if word in ("pause", "resume"):
                cop.set_paused(session, community, word == "pause")
                audit.record(
                    session,
                    request.user_id,
                    f"community.{word}",
                    target,
                    before=before,
                    after=_community_snapshot(community),
                )
                said = (
                    f"Paused the weekly nudge in {mention}."
                    if word == "pause"
                    else f"{mention} will be nudged weekly again."
                )
            elif word == "remove":
                cop.remove_community(session, community)
                audit.record(
                    session, request.user_id, "community.remove", target, before=before, after=None
                )
                said = f"{mention} is no longer a community of practice; its nudges have stopped."
            else:
                try:
                    from bot.services import nudges
                except ModuleNotFoundError:
                    raise InvalidInput("Sending a nudge now is not available yet.") from None
                message = nudges.send_nudge_now(
                    session, community, settings=services.settings, now=services.clock()
                )
                audit.record(
                    session,
                    request.user_id,
                    "community.nudge",
                    target,
                    before=None,
                    after={"outbox_id": message.id},
                )
                said = f"Sending the next nudge to {mention} now."
        kick(services)
        request.say(said)

    def _add_community(self, request: Request, arg: str) -> None:
        from bot.services import communities as cop

        words = arg.split()
        if len(words) < 4:
            raise InvalidInput(
                "Give the channel, knowledge area, day and time, e.g. "
                "`/km-admin communities add #km-im-cop IM Tuesday 10:00`."
            )
        channel_id, name = self._channel(request.client, words[0])
        area, day, time = words[1], words[2], words[3]
        nation = " ".join(words[4:]) or "England"
        if not name:
            name = self._channel_name(request.client, channel_id)
        services = self.services
        with services.session_factory.begin() as session:
            community = cop.add_community(
                session,
                channel_id=channel_id,
                name=name,
                area=area,
                weekday=cop.parse_weekday(day),
                time_of_day=cop.parse_time_of_day(time),
                nation=nation,
            )
            audit.record(
                session,
                request.user_id,
                "community.add",
                f"community #{community.id}",
                before=None,
                after=_community_snapshot(community),
            )
            said = "Added a community of practice:\n" + admin_blocks.community_line(community)
        request.say(said + "\nRemember to invite the bot to the channel (`/invite @kmbot`).")

    @staticmethod
    def _channel(client: WebClient, text: str) -> tuple[str, str]:
        """(channel id, name) from ``<#C123|name>``, ``C123`` or ``#name``."""
        found = _CHANNEL.match(text.strip())
        if found:
            return (found.group(1) or found.group(3)), (found.group(2) or "")
        # Without "escape channels" in the command's settings Slack sends "#name" as typed.
        wanted = text.strip().lstrip("#").lower()
        if text.strip().startswith("#") and wanted:
            cursor = None
            for _page in range(50):
                listed = client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=200,
                    cursor=cursor,
                )
                for channel in listed.get("channels") or []:
                    if str(channel.get("name", "")).lower() == wanted:
                        return str(channel["id"]), str(channel["name"])
                cursor = (listed.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        raise InvalidInput(
            f"I can't find the channel “{escape(truncate(text, 60))}”. Pick it from the list "
            "Slack shows as you type #, or give its id (it starts with C). For a private channel, "
            "invite the bot first."
        )

    @staticmethod
    def _channel_name(client: WebClient, channel_id: str) -> str:
        try:
            info = client.conversations_info(channel=channel_id)
        except SlackApiError:
            return channel_id
        return str((info.get("channel") or {}).get("name") or channel_id)

    def prompts(self, request: Request, rest: str) -> None:
        """prompts list [area] | add [area] <text> | remove <number>"""
        from bot.services import communities as cop

        word, arg = _split(rest)
        services = self.services
        if word in ("list", ""):
            wanted = arg.strip() or None
            with services.session_factory() as session:
                found = cop.list_prompts(session, wanted)
                code = cop.parse_area(wanted) if wanted else None
                request.say(admin_blocks.prompts_list(found, code))
            return
        if word == "add":
            first, text = _split(arg)
            area: str | None = first.upper() if first.upper() in KNOWLEDGE_AREAS else None
            if area is None:
                text = arg
            with services.session_factory.begin() as session:
                prompt = cop.add_prompt(session, text, area, created_by_id=request.member_id)
                audit.record(
                    session,
                    request.user_id,
                    "prompt.add",
                    f"prompt #{prompt.id}",
                    before=None,
                    after={"area": prompt.area, "text": prompt.text},
                )
                said = f"Added prompt #{prompt.id} ({prompt.area or 'any area'}) to the bank."
            request.say(said)
        elif word == "remove":
            prompt_id = post_id_from(arg.split()[0]) if arg.split() else None
            if prompt_id is None:
                raise InvalidInput(
                    "Which prompt? e.g. `/km-admin prompts remove 4` "
                    "(numbers are in `/km-admin prompts list`)."
                )
            with services.session_factory.begin() as session:
                prompt = cop.remove_prompt(session, prompt_id)
                audit.record(
                    session,
                    request.user_id,
                    "prompt.remove",
                    f"prompt #{prompt.id}",
                    before={"area": prompt.area, "text": prompt.text, "active": True},
                    after={"active": prompt.active},
                )
            request.say(f"Prompt #{prompt_id} is out of the rotation.")
        else:
            self._unknown(request, "prompts", word)

    # ------------------------------------------------------------ reporting
    def stats(self, request: Request, rest: str) -> None:
        """stats: the marketplace in numbers."""
        with self.services.session_factory() as session:
            found = statistics.collect(session, now=self.services.clock())
        request.say(statistics.render(found))

    def export(self, request: Request, rest: str) -> None:
        """export: the CSV files, uploaded to the facilitator's DM."""
        from bot.reports.export import export_bytes

        with self.services.session_factory() as session:
            files = export_bytes(session)
        today = self.services.clock().date().isoformat()
        uploads = [
            (f"kmbot-{today}-{name}", data, f"kmbot {name} ({today})")
            for name, data in files.items()
        ]
        self._upload(
            request,
            uploads,
            "Your marketplace export: posts, introductions, outcomes and councils.",
        )
        with self.services.session_factory.begin() as session:
            audit.record(
                session,
                request.user_id,
                "export",
                "csv",
                before=None,
                after={name: len(data) for name, data, _ in uploads},
            )
        request.say("I've sent you the CSV files in a direct message.")

    def report(self, request: Request, rest: str) -> None:
        """report: the activity chart, uploaded to the facilitator's DM."""
        from bot.reports.chart import activity_png

        now = self.services.clock()
        with self.services.session_factory() as session:
            found = statistics.collect(session, now=now)
        png = activity_png(
            found.weekly, found.regions, title=f"Wants & Offers Marketplace · {now:%-d %B %Y}"
        )
        name = f"kmbot-activity-{now.date().isoformat()}.png"
        weeks = sum(w.posts for w in found.weekly), sum(w.introductions for w in found.weekly)
        self._upload(
            request,
            [(name, png, "Marketplace activity")],
            f"Marketplace activity: {weeks[0]} posts and {weeks[1]} introductions in the "
            f"last {len(found.weekly)} weeks; {found.councils_taking_part} councils "
            f"taking part, {found.regions_at_target} regions at the target.",
        )
        with self.services.session_factory.begin() as session:
            audit.record(
                session,
                request.user_id,
                "report",
                "chart",
                before=None,
                after={"bytes": len(png), "week_from": _iso(found.weekly[0].week_start)},
            )
        request.say("I've sent you the chart in a direct message.")

    def _upload(self, request: Request, files: list[tuple[str, bytes, str]], comment: str) -> None:
        opened = request.client.conversations_open(users=request.user_id)
        channel = opened["channel"]["id"]
        request.client.files_upload_v2(
            channel=channel,
            file_uploads=[
                {"content": data, "filename": name, "title": title} for name, data, title in files
            ],
            initial_comment=comment,
        )

    def audit(self, request: Request, rest: str) -> None:
        """audit [how many] [@someone | action]"""
        words = rest.split()
        limit = 20
        if words and words[0].isascii() and words[0].isdigit():
            limit = max(1, min(int(words[0]), 100))
            words = words[1:]
        who: str | None = None
        action: str | None = None
        if words:
            try:
                who = admin.parse_user(words[0])
            except InvalidInput:
                action = words[0].lower()
        with self.services.session_factory() as session:
            entries = audit.list_entries(session, limit=limit, actor=who, action=action)
            request.say(admin_blocks.audit_list(entries))


def _iso(day: date) -> str:
    return day.isoformat()


def _community_snapshot(c: CommunityOfPractice) -> dict[str, Any]:
    return {
        "channel_id": c.channel_id,
        "name": c.name,
        "area": c.area,
        "weekday": c.weekday,
        "time_of_day": c.time_of_day,
        "timezone": c.timezone,
        "nation": c.nation,
        "paused": c.paused,
    }


def _partition_word(text: str, word: str) -> tuple[str, str, str]:
    """Split ``text`` at the last standalone ``word`` (e.g. "to", "into")."""
    parts = re.split(rf"\s+{word}\s+", f" {text} ", flags=re.IGNORECASE)
    if len(parts) < 2:
        return text.strip(), "", ""
    return f" {word} ".join(parts[:-1]).strip(), word, parts[-1].strip()


def _name_and_region(text: str) -> tuple[str, str | None]:
    """A council's name, and a region when the text ends "in <a known region>"."""
    name, sep, tail = _partition_word(text, "in")
    if sep:
        region = admin.parse_region(tail)
        if region is not None:
            return name, region
    return text.strip(), None


def register(app: App, services: Services) -> None:
    """Wire /km-admin into the app, and make the configured users facilitators."""
    with services.session_factory.begin() as session:
        made = admin.bootstrap_facilitators(
            session, services.settings.facilitators, team_id=services.settings.slack_team_id
        )
    if made:
        logger.info("Made facilitators from KMBOT_FACILITATORS: %s", ", ".join(made))
    command = AdminCommand(services)
    app.command(ids.CMD_ADMIN)(command.handle)
    services.extras["admin"] = command
