"""The Matrix adapter (matrix-nio): see ``bot/matrix/adapter.py`` and ``docs/matrix.md``."""
