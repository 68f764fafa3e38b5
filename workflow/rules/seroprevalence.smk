# seroprevalence rules: filled in by the seroprevalence work.
