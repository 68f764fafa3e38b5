# intake rules: filled in by the intake work.
