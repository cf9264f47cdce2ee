"""The call order: ticket class (绿色通道, 预约), call-backs (transfer, re-queue), first call time,
and the unguessable token of the ticket's phone page.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("service_category", sa.String(64)))
        batch.add_column(sa.Column("priority", sa.String(16), nullable=False, server_default="normal"))
        batch.add_column(sa.Column("green_reason", sa.String(16)))
        batch.add_column(sa.Column("callback_seq", sa.Integer))
        batch.add_column(sa.Column("requeue_after_id", sa.Integer))
        batch.add_column(sa.Column("transfer_to_window", sa.String(64)))
        batch.add_column(sa.Column("transferred_from", sa.String(64)))
        batch.add_column(sa.Column("transfer_reason", sa.String(200)))
        batch.add_column(sa.Column("requeued", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("first_called_at", UtcDateTime))
        batch.add_column(sa.Column("token", sa.String(32)))
        batch.create_index("ix_tickets_token", ["token"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_token")
        for name in ("token", "first_called_at", "requeued", "transfer_reason", "transferred_from",
                     "transfer_to_window", "requeue_after_id", "callback_seq", "green_reason", "priority",
                     "service_category"):
            batch.drop_column(name)
