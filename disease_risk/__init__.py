"""disease_risk: canine distemper virus (CDV) risk to Far Eastern leopards and Amur tigers.

Modules, one per concern:
- ``intake``: sample sheets in, harmonised surveillance table and rejected rows out.
- ``seroprevalence``: Bayesian true prevalence and force of infection (PyMC, ArviZ).
- ``sequences``: CDV H-gene typing (Biopython).
- ``contact_network`` and ``transmission``: multi-species network and stochastic SEIR scenarios.
- ``risk``: Disease Risk Assessment tables; ``report``: the HTML report.
"""

__version__ = "0.1.0"
