"""What serves HTTP: the app, its API routes and pages, sign-in, keys' credentials, headers and
limits. Imports :mod:`service.engine` and :mod:`service.store`; never :mod:`service.cli`."""
