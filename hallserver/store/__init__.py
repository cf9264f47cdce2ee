"""Persistence: SQLAlchemy 2 tables, Alembic migrations, and the repository the server uses."""
from hallserver.store.repository import Store, redact_url

__all__ = ["Store", "redact_url"]
