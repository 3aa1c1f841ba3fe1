"""HTTP routes, one module per area. Every module exposing ``router`` is mounted by the factory."""
