"""预约: appointments booked for a slot and checked in at the kiosk.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("slot_start", UtcDateTime, nullable=False),
        sa.Column("slot_end", UtcDateTime, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("booked_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", name="fk_appointments_ticket")),
        sa.Column("checked_in_at", UtcDateTime),
        sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_appointments_slot", "appointments", ["category", "slot_start"])
    op.create_index("ix_appointments_code", "appointments", ["code"])


def downgrade() -> None:
    op.drop_table("appointments")
