"""FastAPI app, CLI, settings, database sessions and the decision ledger."""

# every registry action becomes a notification event in its own transaction: the listener is
# registered wherever the service's database is used
import service.notify.outbox  # noqa: F401
