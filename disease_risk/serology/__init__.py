"""Serology: true prevalence and force of infection from imperfect tests (PyMC, nutpie),
test accuracy, sampling and diagnostics, the compiled-model cache, and figures."""
