"""disease_risk: canine distemper virus (CDV) risk to Far Eastern leopards and Amur tigers.

One subpackage per pipeline stage, each matching a ``workflow/rules/<stage>.smk`` file and each
with a ``stage`` module whose functions are the rules' entry points:

- ``intake``: sample sheets and registries in, one harmonised samples table out;
- ``serology``: Bayesian true prevalence and force of infection (PyMC, nutpie, ArviZ);
- ``sequences``: CDV H-gene lineage typing, markers and tree (Biopython);
- ``transmission``: contact network and stochastic SEIR scenarios;
- ``risk``: the Disease Risk Assessment tables;
- ``report``: provenance record and the HTML report.

Shared contracts: ``tables`` (columns, writer and readers of every table between stages),
``seeds`` (named random streams), ``config`` (the JSON schemas shipped in ``schemas/``),
``logs`` (how a rule runs its entry point).
"""

__version__ = "0.1.0"
