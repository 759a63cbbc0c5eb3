"""The decisions: scores, quotes, books, checks, filings, the pandas and Spark batch engines, the
decision ledger and its chain, API keys and the change notices. Imports :mod:`service.store`;
never :mod:`service.http` or :mod:`service.cli`."""
