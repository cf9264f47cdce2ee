"""Ratings (好差评) append-only and hash-chained: phone for 回访, prev_hash and hash; the
database refuses UPDATE and DELETE on ratings.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("phone", sa.String(11), nullable=False, server_default=""))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION ratings_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'ratings are append-only (好差评记录不可修改或删除)'; END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER ratings_no_update BEFORE UPDATE OR DELETE ON ratings "
                   "FOR EACH ROW EXECUTE FUNCTION ratings_append_only()")
    else:
        op.execute("CREATE TRIGGER ratings_no_update BEFORE UPDATE ON ratings "
                   "BEGIN SELECT RAISE(ABORT, 'ratings are append-only'); END")
        op.execute("CREATE TRIGGER ratings_no_delete BEFORE DELETE ON ratings "
                   "BEGIN SELECT RAISE(ABORT, 'ratings are append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ratings_no_update ON ratings")
        op.execute("DROP FUNCTION ratings_append_only()")
    else:
        op.execute("DROP TRIGGER ratings_no_update")
        op.execute("DROP TRIGGER ratings_no_delete")
    with op.batch_alter_table("ratings") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("phone")
