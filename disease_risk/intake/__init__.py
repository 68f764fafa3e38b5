"""Intake: sample sheets from the drop folder, registries (species, assays, sheet layouts),
harmonisation into one samples table, and the seeded example sheets."""
