"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 01:43:16.558776
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("area", sa.String(length=4), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("time_of_day", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("nation", sa.String(length=20), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("prompt_cursor", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_communities_channel_id")),
    )
    op.create_table(
        "councils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=120), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=True),
        sa.Column("gss_code", sa.String(length=12), nullable=True),
        sa.Column("nation", sa.String(length=40), nullable=True),
        sa.Column("region", sa.String(length=60), nullable=True),
        sa.Column("type", sa.String(length=80), nullable=True),
        sa.Column("web_domain", sa.String(length=120), nullable=True),
        sa.Column("other_names", sa.JSON(), nullable=False),
        sa.Column("is_reference", sa.Boolean(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["councils.id"], name=op.f("fk_councils_merged_into_id_councils")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_councils")),
        sa.UniqueConstraint("code", name=op.f("uq_councils_code")),
        sa.UniqueConstraint("gss_code", name=op.f("uq_councils_gss_code")),
        sa.UniqueConstraint("name", name=op.f("uq_councils_name")),
    )
    with op.batch_alter_table("councils", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_councils_web_domain"), ["web_domain"], unique=False)

    op.create_table(
        "pending_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("want", "offer", name="post_kind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=4), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_posts")),
    )
    with op.batch_alter_table("pending_posts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_posts_slack_user_id"), ["slack_user_id"], unique=False
        )

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=True),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("council_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "sponsor",
                "change_agent",
                "practitioner",
                "facilitator",
                name="role",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["council_id"], ["councils.id"], name=op.f("fk_members_council_id_councils")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint(
            "slack_team_id", "slack_user_id", name=op.f("uq_members_slack_team_id_slack_user_id")
        ),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_council_id"), ["council_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_members_email"), ["email"], unique=False)

    op.create_table(
        "nudge_prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=4), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["members.id"], name=op.f("fk_nudge_prompts_created_by_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudge_prompts")),
    )
    with op.batch_alter_table("nudge_prompts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nudge_prompts_area"), ["area"], unique=False)

    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("want", "offer", name="post_kind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=4), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "fulfilled",
                "withdrawn",
                "expired",
                "removed",
                name="post_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_reason", sa.Text(), nullable=True),
        sa.Column("status_before_removal", sa.String(length=20), nullable=True),
        sa.Column("card_channel", sa.String(length=32), nullable=True),
        sa.Column("card_ts", sa.String(length=32), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["council_id"], ["councils.id"], name=op.f("fk_posts_council_id_councils")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_posts_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_posts_fingerprint")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_changed_at"), ["changed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_council_id"), ["council_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_posts_kind_status", ["kind", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_posts_member_kind_status", ["member_id", "kind", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_posts_status"), ["status"], unique=False)

    op.create_table(
        "introductions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("want_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "confirmed",
                "declined",
                name="introduction_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("made_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["members.id"], name=op.f("fk_introductions_answered_by_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["made_by_id"], ["members.id"], name=op.f("fk_introductions_made_by_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["posts.id"], name=op.f("fk_introductions_offer_id_posts")
        ),
        sa.ForeignKeyConstraint(
            ["want_id"], ["posts.id"], name=op.f("fk_introductions_want_id_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_introductions")),
        sa.UniqueConstraint("want_id", "offer_id", name=op.f("uq_introductions_want_id_offer_id")),
    )
    with op.batch_alter_table("introductions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_introductions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_introductions_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_introductions_want_id"), ["want_id"], unique=False)

    op.create_table(
        "nudge_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prompt_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_nudge_runs_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["nudge_prompts.id"], name=op.f("fk_nudge_runs_prompt_id_nudge_prompts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudge_runs")),
        sa.UniqueConstraint("community_id", "slot", name=op.f("uq_nudge_runs_community_id_slot")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("introduction_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "sent", "dead", name="outbox_status", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_channel", sa.String(length=64), nullable=True),
        sa.Column("sent_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["introduction_id"],
            ["introductions.id"],
            name=op.f("fk_outbox_introduction_id_introductions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["outbox.id"], name=op.f("fk_outbox_parent_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_outbox_post_id_posts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("introduction_id", sa.Integer(), nullable=True),
        sa.Column("days_saved", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["introduction_id"],
            ["introductions.id"],
            name=op.f("fk_outcomes_introduction_id_introductions"),
        ),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_outcomes_post_id_posts")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["members.id"], name=op.f("fk_outcomes_recorded_by_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("post_id", name=op.f("uq_outcomes_post_id")),
    )


def downgrade() -> None:

    op.drop_table("outcomes")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_due")

    op.drop_table("outbox")
    op.drop_table("nudge_runs")
    with op.batch_alter_table("introductions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_introductions_want_id"))
        batch_op.drop_index(batch_op.f("ix_introductions_offer_id"))
        batch_op.drop_index(batch_op.f("ix_introductions_created_at"))

    op.drop_table("introductions")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_status"))
        batch_op.drop_index("ix_posts_member_kind_status")
        batch_op.drop_index(batch_op.f("ix_posts_member_id"))
        batch_op.drop_index("ix_posts_kind_status")
        batch_op.drop_index(batch_op.f("ix_posts_expires_at"))
        batch_op.drop_index(batch_op.f("ix_posts_council_id"))
        batch_op.drop_index(batch_op.f("ix_posts_changed_at"))

    op.drop_table("posts")
    with op.batch_alter_table("nudge_prompts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nudge_prompts_area"))

    op.drop_table("nudge_prompts")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_email"))
        batch_op.drop_index(batch_op.f("ix_members_council_id"))

    op.drop_table("members")
    with op.batch_alter_table("pending_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_posts_slack_user_id"))

    op.drop_table("pending_posts")
    with op.batch_alter_table("councils", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_councils_web_domain"))

    op.drop_table("councils")
    op.drop_table("communities")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
