"""Alembic environment for cartnudge's own tables; run through cartnudge.migrate."""

from alembic import context

from cartnudge.state.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table="cartnudge_alembic_version",  # never clash with the shop's own Alembic
    include_name=lambda name, type_, parent: type_ != "table" or name.startswith("cartnudge_"),
)
with context.begin_transaction():
    context.run_migrations()
