"""The Matrix adapter (matrix-nio): see ``adapter.py`` here and ``docs/matrix.md``."""
