"""首问负责制: one row per inquiry (登记, 已答复, 已转交, 已办结) with its hand-off and outcome.

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inquiries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("asked_by", sa.String(64), nullable=False),
        sa.Column("window", sa.String(64), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("to_window", sa.String(64), nullable=False),
        sa.Column("to_staff", sa.String(64), nullable=False),
        sa.Column("handed_at", UtcDateTime, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=False),
        sa.Column("closed_window", sa.String(64), nullable=False),
        sa.Column("closed_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_inquiries_recorded_at", "inquiries", ["recorded_at"])
    op.create_index("ix_inquiries_status", "inquiries", ["status"])


def downgrade() -> None:
    op.drop_index("ix_inquiries_status", "inquiries")
    op.drop_index("ix_inquiries_recorded_at", "inquiries")
    op.drop_table("inquiries")
