# risk rules: filled in by the risk work.
