"""The manager's adjustments of the window ranking (万众评股室), each with its reason.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_adjustments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("window", sa.String(64), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("score_adjustments")
