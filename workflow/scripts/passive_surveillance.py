"""Rule passive_surveillance: SMART patrol exports -> carcasses, sick animals, dog sightings."""

from disease_risk.intake.stage import passive_surveillance
from disease_risk.logs import run_rule

run_rule(passive_surveillance, snakemake)
