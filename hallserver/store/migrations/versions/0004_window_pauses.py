"""Pauses (暂停服务) of windows with reason and duration, for attendance (考勤).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "window_pauses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("window", sa.String(64), nullable=False),
        sa.Column("staff", sa.String(64)),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_window_pauses_started", "window_pauses", ["started_at"])


def downgrade() -> None:
    op.drop_table("window_pauses")
