"""The command log by time: the server reads the last days' command ids at start (repeats).

Revision ID: 0018
Revises: 0017
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_commands_at", "commands", ["at"])


def downgrade() -> None:
    op.drop_index("ix_commands_at", table_name="commands")
