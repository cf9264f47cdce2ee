"""追评: the one follow-up rating of a 差评 after its 整改, in a table of its own (the first
rating's id unique), append-only like the ratings (triggers) and hash-chained in its own chain.
The ratings table, its unique service and its triggers stay as they were.

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rating_follow_ups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("rating_id", sa.Integer, sa.ForeignKey("ratings.id", name="fk_rating_follow_ups_rating"),
                  nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("channel", sa.SmallInteger, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("rating_id", name="uq_rating_follow_ups_rating"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION rating_follow_ups_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'rating follow-ups are append-only (追评记录不可修改或删除)'; END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER rating_follow_ups_no_update BEFORE UPDATE OR DELETE ON rating_follow_ups "
                   "FOR EACH ROW EXECUTE FUNCTION rating_follow_ups_append_only()")
    else:
        op.execute("CREATE TRIGGER rating_follow_ups_no_update BEFORE UPDATE ON rating_follow_ups "
                   "BEGIN SELECT RAISE(ABORT, 'rating follow-ups are append-only'); END")
        op.execute("CREATE TRIGGER rating_follow_ups_no_delete BEFORE DELETE ON rating_follow_ups "
                   "BEGIN SELECT RAISE(ABORT, 'rating follow-ups are append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER rating_follow_ups_no_update ON rating_follow_ups")
        op.execute("DROP FUNCTION rating_follow_ups_append_only()")
    op.drop_table("rating_follow_ups")     # SQLite drops its triggers with the table
