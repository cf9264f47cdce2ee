"""Alerts acknowledged on the dashboard (告警确认).

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_acks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert", sa.String(120), nullable=False),
        sa.Column("since", sa.String(40), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_alert_acks_alert", "alert_acks", ["alert", "since"])


def downgrade() -> None:
    op.drop_index("ix_alert_acks_alert", "alert_acks")
    op.drop_table("alert_acks")
