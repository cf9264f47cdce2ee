"""The first tables: tickets, windows, ratings, and the command log for idempotency.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("called_at", UtcDateTime),
        sa.Column("window", sa.String(64)),
        sa.Column("staff", sa.String(64)),
        sa.Column("recalls", sa.Integer, nullable=False),
        sa.Column("finished_at", UtcDateTime),
        sa.UniqueConstraint("day", "category", "seq", name="uq_tickets_day_category_seq"),
    )
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_table(
        "windows",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", UtcDateTime),
        sa.Column("staff", sa.String(64)),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", name="fk_windows_ticket")),
        sa.Column("pause_reason", sa.String(16)),
        sa.Column("last_served_id", sa.Integer,
                  sa.ForeignKey("tickets.id", name="fk_windows_last_served")),
        sa.Column("last_served_rated", sa.Boolean, nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", name="fk_ratings_ticket"),
                  nullable=False),
        sa.Column("window", sa.String(64), nullable=False),
        sa.Column("staff", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("channel", sa.SmallInteger, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("ticket_id", name="uq_ratings_ticket"),
    )
    op.create_table(
        "commands",
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("device", "id", name="pk_commands"),
    )


def downgrade() -> None:
    op.drop_table("commands")
    op.drop_table("ratings")
    op.drop_table("windows")
    op.drop_index("ix_tickets_status", "tickets")
    op.drop_table("tickets")
