"""万众评股室: evaluation campaigns, their score sheets (with 征求意见 and its 整改), the leading group's adjustments.

Revision ID: 0028
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_campaigns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("starts", sa.Date, nullable=False),
        sa.Column("ends", sa.Date, nullable=False),
        sa.Column("units", sa.Text, nullable=False),
        sa.Column("indicators", sa.Text, nullable=False),
        sa.Column("groups", sa.Text, nullable=False),
        sa.Column("tokens", sa.Text, nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=False),
        sa.Column("closed_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "evaluation_sheets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("campaign", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("rater_group", sa.String(32), nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("opinion", sa.Text, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("opinion_status", sa.String(8), nullable=False),
        sa.Column("rectified_note", sa.Text, nullable=False),
        sa.Column("rectified_by", sa.String(64), nullable=False),
        sa.Column("rectified_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_evaluation_sheets_campaign", "evaluation_sheets", ["campaign"])
    op.create_table(
        "evaluation_adjustments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("campaign", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("points", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("evaluation_adjustments")
    op.drop_index("ix_evaluation_sheets_campaign", "evaluation_sheets")
    op.drop_table("evaluation_sheets")
    op.drop_table("evaluation_campaigns")
