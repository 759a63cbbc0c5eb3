"""FastAPI app, CLI, settings, database sessions and the decision ledger."""
