"""The app's wiring: the config, the running bots (``runner``), scheduled posts and posting."""
