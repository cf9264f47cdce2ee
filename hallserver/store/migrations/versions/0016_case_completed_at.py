"""Cases: when each was completed (办结), and indexes for reports over a year of cases.

Revision ID: 0016
Revises: 0015
"""
import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("completed_at", UtcDateTime))
    conn = op.get_bind()
    table = sa.table("cases", sa.column("id", sa.Integer), sa.column("steps", sa.Text),
                     sa.column("completed_at", UtcDateTime))
    for row in conn.execute(sa.select(table.c.id, table.c.steps)).all():
        done = next((x["at"] for x in json.loads(row.steps) if x["step"] == "办结"), None)
        if done is not None:
            conn.execute(table.update().where(table.c.id == row.id)
                         .values(completed_at=datetime.fromisoformat(done)))
    op.create_index("ix_cases_accepted_at", "cases", ["accepted_at"])
    op.create_index("ix_cases_completed_at", "cases", ["completed_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_completed_at", "cases")
    op.drop_index("ix_cases_accepted_at", "cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("completed_at")
