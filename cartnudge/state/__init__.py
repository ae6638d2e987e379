"""cartnudge's own state (tables ``cartnudge_*``), split by what callers need.

- ``schema``: the tables; ``migrations``: Alembic revisions; ``migrate``: init-db.
- ``deliveries``: claims, leases and delivery outcomes (the sweep's idempotency), skips.
- ``suppressions``: opt-outs and hard bounces.
- ``runs``: one row per sweep.
- ``recoveries``: recovered orders and what attributed them.
- ``reporting``: the report's read queries.
"""
