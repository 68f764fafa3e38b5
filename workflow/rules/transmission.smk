# transmission rules: filled in by the transmission work.
