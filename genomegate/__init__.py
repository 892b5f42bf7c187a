"""Composition root: the app factory, the CLI, settings wiring and migrations."""
