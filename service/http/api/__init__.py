"""HTTP routers under ``/v1``: scores, registry, decisions, keys (and quotes when present)."""
