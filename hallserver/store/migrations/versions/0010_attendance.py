"""Attendance (考勤) events, leave (请假), front-desk coverage alerts.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("staff", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("ix_attendance_events_at", "attendance_events", ["at"])
    op.create_table(
        "leaves",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("staff", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("start", UtcDateTime, nullable=False),
        sa.Column("end", UtcDateTime, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("cover", sa.String(64)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("ended_at", UtcDateTime),
    )
    op.create_table(
        "coverage_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime),
    )


def downgrade() -> None:
    op.drop_table("coverage_alerts")
    op.drop_table("leaves")
    op.drop_index("ix_attendance_events_at", "attendance_events")
    op.drop_table("attendance_events")
