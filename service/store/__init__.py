"""Settings, database engines, the service's tables and the Alembic migrations. Imports neither
:mod:`service.engine`, :mod:`service.http` nor :mod:`service.cli`."""
