"""The service: :mod:`service.http` (the FastAPI app) and :mod:`service.cli` (the command line)
over :mod:`service.engine` (decisions, quotes, books, the ledger) over :mod:`service.store`
(settings, database, tables, migrations). Dependencies point that way only
(``tests/service/test_layout.py``)."""
