"""The bundled reference backend: the platform's workflows behind a real HTTP API.

Run it with ``esep-tui serve``; build it in-process with :func:`reference_backend.app.create_app`.
"""
