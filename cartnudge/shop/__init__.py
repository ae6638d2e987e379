"""The shop contract: the shop's database, read only through the SQL files in ``sql/``.

``reader`` runs those files and turns the shop's rows into the frozen data the rules take.
"""
