"""The built-in scenarios, each a module loadable by its name (see `simcore.load_scenario`)."""
