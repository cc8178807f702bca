"""The facilitators' tools as the /km-admin handlers need them: each call is one transaction,
every change is audited here, and answers are view objects."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.kernel.clock import uk_time
from bot.reports import stats as statistics
from bot.reports.chart import activity_png, outputs_png
from bot.reports.export import export_bytes, outputs_csv
from bot.reports.files import ReportFile
from bot.reports.outputs import Quarter, collect_outputs
from bot.reports.outputs import render as render_outputs
from bot.services import audit, why
from bot.services import communities as cop
from bot.services.admin import communities as cop_admin
from bot.services.admin import councils, facilitators, moderation
from bot.services.context import ServiceContext
from bot.services.views import audit_view, community_view, member_view, prompt_view
from bot.slack.views import AuditView, CommunityView, MemberView, PromptView
from storage.models import Member

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputsAnswer:
    """A quarter's outputs for a facilitator: the text, and the chart and CSV if asked for."""

    text: str
    files: list[ReportFile]


@dataclass(frozen=True)
class Facilitator:
    """Whether someone asking for /km-admin may use it, and whom to ask if they may not."""

    member_id: int | None  # None: not a facilitator
    facilitator_ids: tuple[str, ...]


@dataclass(frozen=True)
class CouncilAnswer:
    """A council after a change."""

    id: int
    name: str
    region: str | None


@dataclass(frozen=True)
class MergeAnswer:
    """Where a duplicate council went, and what moved with it."""

    kept: str
    members_moved: int
    posts_moved: int


@dataclass(frozen=True)
class PostAnswer:
    """A post after moderation, and whether its author was told."""

    label: str
    status: str
    author_told: bool


@dataclass(frozen=True)
class Report:
    """The activity chart and the one-line summary that goes with it."""

    file: ReportFile
    summary: str
    week_from: str


class AdminService:
    """Facilitators, councils, moderation, communities, prompts, statistics and the audit log."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    # ------------------------------------------------------------ who may
    def bootstrap(self) -> list[str]:
        """Make the users in KMBOT_FACILITATORS facilitators; returns those newly made."""
        settings = self.context.settings
        with self.context.session_factory.begin() as session:
            return facilitators.bootstrap_facilitators(
                session, settings.facilitators, team_id=settings.slack_team_id
            )

    def facilitator(self, team_id: str, user_id: str, command: str) -> Facilitator:
        """Whether this user is a facilitator; a refusal is logged and audited by ``command``'s
        name (``/km-admin stats``), never with what was typed after it."""
        with self.context.session_factory.begin() as session:
            member = facilitators.facilitator_member(session, team_id, user_id)
            if member is not None:
                return Facilitator(member.id, ())
            facilitators.record_refusal(session, user_id, command)
            names = tuple(
                m.slack_user_id for m in facilitators.list_facilitators(session) if m.slack_user_id
            )
            return Facilitator(None, names)

    def facilitators(self) -> list[MemberView]:
        """Every facilitator."""
        with self.context.reading() as session:
            return [member_view(m) for m in facilitators.list_facilitators(session)]

    def add_facilitator(self, actor: str, typed_user: str, *, team_id: str) -> str:
        """Make a Slack user a facilitator; returns their user id."""
        user_id = facilitators.parse_user(typed_user)
        with self.context.session_factory.begin() as session:
            facilitators.add_facilitator(session, user_id, actor=actor, team_id=team_id)
        return user_id

    def remove_facilitator(self, actor: str, typed_user: str) -> str:
        """Make a facilitator an ordinary member again; returns their user id."""
        user_id = facilitators.parse_user(typed_user)
        with self.context.session_factory.begin() as session:
            facilitators.remove_facilitator(
                session, user_id, actor=actor, configured=self.context.settings.facilitators
            )
        return user_id

    # ------------------------------------------------------------ councils
    def add_council(self, actor: str, name: str, region: str | None) -> CouncilAnswer:
        """Add a council the reference list does not know."""
        with self.context.session_factory.begin() as session:
            council = councils.add_council(
                session, name, actor=actor, directory=self.context.directory, region=region
            )
            return CouncilAnswer(council.id, council.name, council.region)

    def rename_council(self, actor: str, ref: str, new_name: str) -> CouncilAnswer:
        """Give a council a new name."""
        with self.context.session_factory.begin() as session:
            council = councils.rename_council(
                session, ref, new_name, actor=actor, directory=self.context.directory
            )
            return CouncilAnswer(council.id, council.name, council.region)

    def merge_councils(self, actor: str, duplicate: str, keep: str) -> MergeAnswer:
        """Merge two records of one council."""
        with self.context.session_factory.begin() as session:
            merged = councils.merge_councils(
                session,
                duplicate,
                keep,
                actor=actor,
                directory=self.context.directory,
                now=self.context.clock(),
            )
            return MergeAnswer(merged.kept.name, merged.members_moved, merged.posts_moved)

    @staticmethod
    def parse_region(text: str) -> str | None:
        """One of the known regions, or None."""
        return councils.parse_region(text)

    # ------------------------------------------------------------ moderation
    def remove_post(self, actor: str, post_id: int, reason: str) -> PostAnswer:
        """Take a post off the marketplace with a reason; its author is told why."""
        with self.context.session_factory.begin() as session:
            post = moderation.remove_post(
                session,
                post_id,
                reason,
                actor=actor,
                matcher=self.context.live_index,
                now=self.context.clock(),
            )
            told = post.member is not None and bool(post.member.slack_user_id)
            return PostAnswer(f"{post.kind.capitalize()} #{post.id}", str(post.status), told)

    def restore_post(self, actor: str, post_id: int) -> PostAnswer:
        """Put a removed post back as it was."""
        with self.context.session_factory.begin() as session:
            post = moderation.restore_post(
                session,
                post_id,
                actor=actor,
                matcher=self.context.live_index,
                now=self.context.clock(),
            )
            told = post.member is not None and bool(post.member.slack_user_id)
            return PostAnswer(f"{post.kind.capitalize()} #{post.id}", str(post.status), told)

    def introduce(
        self, actor: str, member_id: int, first: int, second: int
    ) -> tuple[int, int, bool]:
        """Introduce a want and an offer a facilitator chose; returns (want id, offer id, held):
        held when one of them is away, so the introduction waits for their return."""
        with self.context.session_factory.begin() as session:
            made_by = session.get(Member, member_id)
            self.context.live_index.refresh(session)
            intro = moderation.introduce(
                session,
                first,
                second,
                actor=actor,
                made_by=made_by,
                settings=self.context.settings,
                matcher=self.context.live_index,
            )
            return intro.want_id, intro.offer_id, intro.held_at is not None

    # ------------------------------------------------------------ communities and prompts
    def communities(self) -> list[CommunityView]:
        """Every community of practice."""
        with self.context.reading() as session:
            return [community_view(c) for c in cop.list_communities(session)]

    def add_community(
        self, actor: str, *, channel_id: str, name: str, area: str, day: str, time: str, nation: str
    ) -> CommunityView:
        """Register a channel as a community of practice."""
        with self.context.session_factory.begin() as session:
            return cop_admin.add_community(
                session,
                actor=actor,
                channel_id=channel_id,
                name=name,
                area=area,
                day=day,
                time=time,
                nation=nation,
            )

    def change_community(self, actor: str, ref: str, action: str) -> CommunityView:
        """Pause, resume, remove or nudge now a community."""
        with self.context.session_factory.begin() as session:
            return cop_admin.change_community(
                session,
                ref,
                action,
                actor=actor,
                settings=self.context.settings,
                now=self.context.clock(),
            )

    def prompts(self, area: str | None) -> tuple[list[PromptView], str | None]:
        """The prompt bank (for one area, if given) and that area's code."""
        with self.context.reading() as session:
            found = [prompt_view(p) for p in cop.list_prompts(session, area)]
            return found, cop.parse_area(area) if area else None

    def add_prompt(self, actor: str, member_id: int, text: str, area: str | None) -> PromptView:
        """Add a prompt to the bank."""
        with self.context.session_factory.begin() as session:
            return cop_admin.add_prompt(session, text, area, actor=actor, created_by_id=member_id)

    def remove_prompt(self, actor: str, prompt_id: int) -> PromptView:
        """Take a prompt out of the rotation."""
        with self.context.session_factory.begin() as session:
            return cop_admin.remove_prompt(session, prompt_id, actor=actor)

    # ------------------------------------------------------------ reporting
    def statistics(self) -> str:
        """The marketplace in numbers, as Slack mrkdwn."""
        with self.context.reading() as session:
            return statistics.render(statistics.collect(session, now=self.context.clock()))

    def export_files(self) -> list[ReportFile]:
        """Posts, introductions, outcomes, councils, sessions and outputs as CSV files named for
        today."""
        now = self.context.clock()
        with self.context.reading() as session:
            files = export_bytes(session, now=now)
        today = uk_time(now).date().isoformat()  # the day it is in the UK
        return [
            ReportFile(f"kmbot-{today}-{name}", data, f"kmbot {name} ({today})")
            for name, data in files.items()
        ]

    def activity_report(self) -> Report:
        """The activity chart (PNG) and its summary."""
        now = self.context.clock()
        with self.context.reading() as session:
            found = statistics.collect(session, now=now)
        png = activity_png(
            found.weekly, found.regions, title=f"Wants & Offers Marketplace · {now:%-d %B %Y}"
        )
        posts = sum(w.posts for w in found.weekly)
        intros = sum(w.introductions for w in found.weekly)
        summary = (
            f"Marketplace activity: {posts} posts and {intros} introductions in the "
            f"last {len(found.weekly)} weeks; {found.councils_taking_part} councils "
            f"taking part, {found.regions_at_target} regions at the target."
        )
        file = ReportFile(
            f"kmbot-activity-{uk_time(now).date().isoformat()}.png", png, "Marketplace activity"
        )
        return Report(file, summary, found.weekly[0].week_start.isoformat())

    def record_export_sent(self, actor: str, files: list[ReportFile]) -> None:
        """Audit that the CSV export was sent to a facilitator."""
        after = {f.name: len(f.content) for f in files}
        with self.context.session_factory.begin() as session:
            audit.record(session, actor, "export", "csv", before=None, after=after)

    def record_report_sent(self, actor: str, report: Report) -> None:
        """Audit that the activity chart was sent to a facilitator."""
        after = {"bytes": len(report.file.content), "week_from": report.week_from}
        with self.context.session_factory.begin() as session:
            audit.record(session, actor, "report", "chart", before=None, after=after)

    def outputs(self, quarter_text: str | None, *, files: bool = False) -> OutputsAnswer:
        """The quarter's outputs (this quarter if none is named) as mrkdwn, and with ``files``
        as a chart (PNG) and a CSV file too."""
        now = self.context.clock()
        quarter = Quarter.parse(quarter_text, now=now)
        with self.context.reading() as session:
            found = collect_outputs(session, quarter, now=now)
        sent = []
        if files:
            sent = [
                ReportFile(
                    f"kmbot-outputs-{quarter.key}.png",
                    outputs_png(found),
                    f"Marketplace outputs {quarter.label}",
                ),
                ReportFile(
                    f"kmbot-outputs-{quarter.key}.csv",
                    outputs_csv(found),
                    f"Marketplace outputs {quarter.label} (CSV)",
                ),
            ]
        return OutputsAnswer(render_outputs(found), sent)

    def record_outputs_sent(self, actor: str, answer: OutputsAnswer) -> None:
        """Audit that the quarter's outputs (with any shared notes) were sent to a facilitator."""
        after = {f.name: len(f.content) for f in answer.files}
        with self.context.session_factory.begin() as session:
            audit.record(session, actor, "outputs", "chart and csv", before=None, after=after)

    def why(self, text: str, *, for_slack: bool = True) -> str:
        """Why two posts (numbers as typed, either order) were or were not introduced."""
        first, second = why.parse_pair(text)
        return why.explain_introduction(
            self.context.reading, self.context.live_index, first, second, for_slack=for_slack
        )

    def audit_entries(
        self, *, limit: int, actor: str | None, action: str | None
    ) -> list[AuditView]:
        """The newest audit entries, optionally one person's or one kind."""
        with self.context.reading() as session:
            return [
                audit_view(e)
                for e in audit.list_entries(session, limit=limit, actor=actor, action=action)
            ]

    @staticmethod
    def parse_user(text: str) -> str:
        """A Slack user id from a mention or an id; InvalidInput otherwise."""
        return facilitators.parse_user(text)
