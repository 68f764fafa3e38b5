"""Named random streams: every stochastic step draws its seed from here, by name.

The config's master ``seed`` and a stream name give a 32-bit seed (NumPy ``SeedSequence`` with the
name's CRC-32 as spawn key), so steps never share random numbers, adding a step never shifts
another's, and the same master seed reproduces every result. A name not in :data:`STREAMS` is an
error, so this table lists every source of randomness in the pipeline.
"""

from __future__ import annotations

import zlib

import numpy as np

DEFAULT_SEED = 20261121  # the master seed of the shipped config and the example-data generators

STREAMS: dict[str, str] = {
    "seroprevalence/prevalence": "NUTS chains of the true-prevalence model",
    "seroprevalence/ppc": "replicated positives of the prevalence posterior predictive check",
    "seroprevalence/force_of_infection": "NUTS chains of the force-of-infection model",
    "seroprevalence/foi_ppc": "replicated positives of the force-of-infection check",
    "hazards/prevalence": "NUTS chains of a hazard's true-prevalence model (split by pathogen "
    "with pathogen_seed)",
    "hazards/ppc": "replicated positives of a hazard's prevalence check (split by pathogen)",
    "hazards/force_of_infection": "NUTS chains of a hazard's force-of-infection model (split by "
    "pathogen)",
    "hazards/foi_ppc": "replicated positives of a hazard's force-of-infection check (split by "
    "pathogen)",
    "network/individuals": "home-range centres of simulated animals in the contact network",
    "transmission/scenario_setup": "where a scenario's released animals are placed",
    "transmission/parameters": "per-parameter-set calibration draw, assumptions drawn from "
    "their ranges and starting immune shares (the same in every scenario)",
    "transmission/replicates": "per-replicate luck: immune animals, index cases, day-0 "
    "vaccination and simulator seeds (the same in every scenario: common random numbers)",
    "transmission/demography": "per-parameter-set annual survival draws (the same in every "
    "scenario; its own stream, so demography on or off leaves the other draws as they are)",
    "transmission/calibration": "ABC-SMC proposals and the seed of every pyabc task",
    "transmission/calibration_fit": "posterior draws and simulations of the calibration's "
    "fit table (simulated against serology force of infection)",
    "transmission/sensitivity": "Morris design, model runs at its points and bootstrap of the "
    "sensitivity indices",
    "network/camera_trap_densities": "cameras resampled for the bootstrap interval of the "
    "camera-trap (random encounter model) densities",
    "examples/camera_traps": "unidentified visitors of the SIMULATED example camera traps",
    "examples/smart_patrols": "what rangers record on the SIMULATED example SMART patrols",
    "sequences/placement_bootstrap": "sites resampled for the bootstrap support of a tree "
    "placement (lineage typing benchmark, issue 16)",
}


def derive_seed(master: int, *names: str) -> int:
    """A 32-bit seed for the step named by ``names`` (stable across runs and machines)."""
    key = tuple(zlib.crc32(name.encode()) for name in names)
    return int(np.random.SeedSequence(int(master), spawn_key=key).generate_state(1)[0])


def stream_seed(master: int, stream: str) -> int:
    """The seed of a registered stream (``"seroprevalence/prevalence"`` ...)."""
    if stream not in STREAMS:
        raise KeyError(f"unknown random stream {stream!r}; register it in disease_risk.seeds")
    return derive_seed(master, *stream.split("/"))


def pathogen_seed(stream: int, pathogen: str) -> int:
    """One pathogen's seed on a per-pathogen stream: ``stream`` is that stream's seed
    (``stream_seed(master, "hazards/prevalence")``) split by the pathogen's name, so each
    pathogen draws its own numbers and adding a pathogen shifts no other's."""
    return derive_seed(stream, pathogen)


def stream_rng(master: int, stream: str, *spawn: int) -> np.random.Generator:
    """A NumPy generator on a registered stream, optionally split further (e.g. by replicate)."""
    return np.random.default_rng(np.random.SeedSequence([stream_seed(master, stream), *spawn]))
