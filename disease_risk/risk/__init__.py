"""Risk: the Disease Risk Assessment tables (OIE/IUCN 2014) from the serology, network and
scenario results.

- :mod:`~disease_risk.risk.scales`: likelihood, consequence and uncertainty words, the risk
  matrix, the validated ``risk:`` config section;
- :mod:`~disease_risk.risk.hazards`: the hazard list and the hazard identification table;
- :mod:`~disease_risk.risk.evidence`: the pipeline's tables as per-species evidence;
- :mod:`~disease_risk.risk.attribution`: each target's chance of infection split between
  pathways by the simulated infection chains (who infected whom);
- :mod:`~disease_risk.risk.estimation`: risk estimation (hazard x target x pathway);
- :mod:`~disease_risk.risk.management`: each scenario against the baseline;
- :mod:`~disease_risk.risk.conclusions`: per target, the overall risk, fit reliability and best
  option the report states;
- :mod:`~disease_risk.risk.stage`: the entry point ``risk_tables`` (the only file I/O).
"""
