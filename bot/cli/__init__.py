"""The command line (``community-memory``): ``main`` holds the commands, ``doctor`` the checks."""
