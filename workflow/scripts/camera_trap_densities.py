"""Rule camera_trap_densities: network config (+ Camtrap DP package) -> wildlife densities."""

from disease_risk.logs import run_rule
from disease_risk.transmission.stage import camera_trap_densities

run_rule(camera_trap_densities, snakemake)
