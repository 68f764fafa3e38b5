# sequences rules: filled in by the sequences work.
