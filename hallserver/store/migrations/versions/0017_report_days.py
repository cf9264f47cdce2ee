"""Report rollups: each finished hall day's tallies, counted once (运行报表 over months and years).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("tallies", sa.Text, nullable=False),
        sa.Column("built_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_days")
