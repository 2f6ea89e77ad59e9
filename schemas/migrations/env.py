"""Alembic environment of fleetwatch: always online, on the connection the
caller put in `config.attributes["connection"]` (schemas.migrations.upgrade),
so no URL or password is ever read from a file."""

from alembic import context

from schemas.relational import Base

if context.is_offline_mode():
    raise RuntimeError("fleetwatch migrations run on a connection; offline (--sql) mode is not set up")

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it into a new one; Alembic's batch mode does that.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
