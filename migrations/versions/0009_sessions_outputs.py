"""live marketplace sessions and the marketplace's outputs: sessions, service areas, shared notes

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("board_outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["members.id"],
            name=op.f("fk_market_sessions_started_by_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["board_outbox_id"],
            ["outbox.id"],
            name=op.f("fk_market_sessions_board_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_sessions")),
    )
    op.create_index(
        op.f("ix_market_sessions_ends_at"), "market_sessions", ["ends_at"], unique=False
    )
    op.create_index(
        op.f("ix_market_sessions_ended_at"), "market_sessions", ["ended_at"], unique=False
    )
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("service_area", sa.String(length=80), nullable=True))
        batch.create_foreign_key(
            op.f("fk_posts_session_id_market_sessions"), "market_sessions", ["session_id"], ["id"]
        )
        batch.create_index(op.f("ix_posts_session_id"), ["session_id"], unique=False)
        batch.create_index(op.f("ix_posts_service_area"), ["service_area"], unique=False)
    # Notes recorded before members were asked stay private.
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(
            sa.Column("share_note", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("outcomes") as batch:
        batch.alter_column("share_note", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("share_note")
    with op.batch_alter_table("posts") as batch:
        batch.drop_index(op.f("ix_posts_service_area"))
        batch.drop_index(op.f("ix_posts_session_id"))
        batch.drop_constraint(op.f("fk_posts_session_id_market_sessions"), type_="foreignkey")
        batch.drop_column("service_area")
        batch.drop_column("session_id")
    op.drop_index(op.f("ix_market_sessions_ended_at"), table_name="market_sessions")
    op.drop_index(op.f("ix_market_sessions_ends_at"), table_name="market_sessions")
    op.drop_table("market_sessions")
