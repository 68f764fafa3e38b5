"""Sharing results in the field's standards: every accepted sample as Wildlife Disease Data
Standard (WDDS) ``disease_data.csv`` and ``project_metadata.json``."""
