"""JSON schemas of the config and every registry (package data, read with importlib.resources)."""
