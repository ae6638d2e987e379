"""The pure core: rules and the other policies, as plain functions over frozen data.

Nothing in this package does I/O: no database, no network, no files, no clock (``now`` is an
argument). ``tests/test_layout.py`` fails when a module here imports anything that could.
"""
