"""Storage: SQLAlchemy models, the Store (engine + transactions), Alembic migrations."""

from scheduler.store.session import Store

__all__ = ["Store"]
