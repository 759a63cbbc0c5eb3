"""The ``safecredit`` command line, one module per command group (:mod:`service.cli.main` is the
entry point). Imports :mod:`service.engine` and :mod:`service.store`, lazily inside each command
(``safecredit --help`` loads no heavy library); never :mod:`service.http`, except ``serve``, which
names the app's factory as a string for uvicorn."""
