# report rules: filled in by the report work.
