"""Alembic environment: the engine comes from :func:`service.store.db.upgrade` or the URL
setting."""

from __future__ import annotations

from alembic import context

import features.tables  # noqa: F401  (registers the history tables)
import registry.tables  # noqa: F401
import service.store.notify_tables
import service.store.tables  # noqa: F401
from features.tables import metadata
from registry import seal

config = context.config
if seal.configured() is None:  # revision 0005 seals the existing chains with the key
    from service.store.db import signing_key

    signing_key()
engine = config.attributes.get("engine")
if engine is None:
    from service.store.db import make_engine
    from service.store.settings import get_settings

    engine = make_engine(get_settings().database.url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
