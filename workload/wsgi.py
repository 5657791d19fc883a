"""The workload as a module-level WSGI callable, for servers that import one (uWSGI, mod_wsgi)."""

from workload import create_app

application = create_app()
