"""The on-disk compiled-model cache: same draws as nutpie's own compiler, hits across processes.

The reference is ``nutpie.compile_pymc_model(model, backend="numba")`` itself: with the same seed
the cached model must give bit-identical draws, fresh or loaded from disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import numpy as np
import nutpie
import pytest

from disease_risk.serology import compiled_model
from disease_risk.serology.compiled_model import compile_cached, model_graph_key

N = np.array([10, 20, 30])
K = np.array([3, 5, 9])

MODEL_SOURCE = """
import numpy as np
import pymc as pm


def small_model(n, k, prior_sd=1.5):
    with pm.Model(coords={"group": range(len(n))}) as model:
        n_data = pm.Data("n", np.asarray(n), dims="group")
        k_data = pm.Data("k", np.asarray(k), dims="group")
        mu = pm.Normal("mu", 0.0, prior_sd)
        sd = pm.HalfNormal("sd", 1.0)
        z = pm.Normal("z", 0.0, 1.0, dims="group")
        p = pm.Deterministic("p", pm.math.invlogit(mu + sd * z), dims="group")
        pm.Binomial("y", n=n_data, p=p, observed=k_data, dims="group")
    return model
"""
namespace: dict = {}
exec(MODEL_SOURCE, namespace)
small_model = namespace["small_model"]


def draws(compiled, seed: int = 7) -> np.ndarray:
    idata = nutpie.sample(compiled, draws=150, tune=150, chains=2, cores=1, seed=seed,
                          progress_bar=False)
    return np.concatenate([idata.posterior[v].values.ravel() for v in ("mu", "sd", "z", "p")])


def test_same_draws_as_nutpie_compiler():
    model = small_model(N, K)
    reference = draws(nutpie.compile_pymc_model(model, backend="numba"))
    np.testing.assert_array_equal(draws(compile_cached(model)), reference)


def test_new_data_same_draws_as_fresh_compile():
    compiled = compile_cached(small_model(N, K))
    updated = compiled.with_data(n=[12, 22, 32], k=[1, 2, 30])
    fresh = nutpie.compile_pymc_model(small_model([12, 22, 32], [1, 2, 30]), backend="numba")
    np.testing.assert_array_equal(draws(updated), draws(fresh))
    assert not np.array_equal(draws(updated), draws(compiled))
    with pytest.raises(ValueError, match="shape"):
        compiled.with_data(n=[1, 2])
    with pytest.raises(KeyError):
        compiled.with_data(m=[1, 2, 3])


def test_graph_key_tracks_structure_not_data_values():
    key = model_graph_key(small_model(N, K))
    assert key is not None
    assert model_graph_key(small_model(N, K)) == key
    assert model_graph_key(small_model(N + 1, K)) == key
    assert model_graph_key(small_model(N, K, prior_sd=2.0)) != key


def test_other_shapes_never_load_a_cached_model():
    compile_cached(small_model(N, K))
    bigger = small_model(np.append(N, 5), np.append(K, 1))
    compiled = compile_cached(bigger)
    assert compiled.n_dim == 6
    reference = nutpie.compile_pymc_model(bigger, backend="numba")
    np.testing.assert_array_equal(draws(compiled), draws(reference))


PREVALENCE_FIT = """
import hashlib, json, sys
from functools import partial
import numpy as np
import nutpie
import pandas as pd
from disease_risk.serology.accuracy import AssayAccuracy
from disease_risk.serology.compiled_model import compile_cached
from disease_risk.serology.prevalence import (
    PrevalenceData, PrevalencePriors, build_prevalence_model,
)
rng = np.random.default_rng(3)
rows = [
    {"species": f"s{s}", "site": f"t{t}", "year": 2016 + y, "assay": assay,
     "n_tested": n, "n_positive": int(rng.binomial(n, 0.1 + 0.05 * s))}
    for s in range(4) for t in range(6) for y in range(5) for assay in ("VNT", "ELISA")
    for n in [int(rng.integers(6, 15))]
]
accuracy = {
    "VNT": AssayAccuracy("VNT", 38, 4, 98, 2, 40, 37, 60, 59),
    "ELISA": AssayAccuracy("ELISA", 22, 3, 45, 2.5),
}
build = partial(build_prevalence_model, PrevalenceData.from_counts(pd.DataFrame(rows)),
                accuracy, PrevalencePriors())
compiled = compile_cached(build(), build if sys.argv[1] == "child" else None)
idata = nutpie.sample(compiled, draws=150, tune=150, chains=2, cores=1, seed=7,
                      progress_bar=False)
digest = hashlib.sha256(idata.posterior["true_prevalence"].values.tobytes()).hexdigest()
print(json.dumps({"cached": compiled.loaded_from_cache, "digest": digest}))
"""


def test_first_process_samples_as_the_processes_that_load_from_disk(tmp_path: Path):
    """Fresh processes with one empty cache directory: the first compiles (in a child) and
    every one draws the same; the prevalence model, whose code numba optimises differently
    when just compiled than when loaded (on AMD Zen 3 the draws differed without the child)."""
    script = tmp_path / "fit.py"
    script.write_text(PREVALENCE_FIT)
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'cache'}"}
    runs = []
    for _ in range(2):
        child = subprocess.run([sys.executable, str(script), "child"], capture_output=True,
                               text=True, timeout=900, env=env, check=True)
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    assert runs[0]["digest"] == runs[1]["digest"]
    assert [r["cached"] for r in runs] == [True, True]
    assert list((tmp_path / "cache" / "numba").glob("disease_risk-*.json"))


def test_failing_child_compiles_in_process(tmp_path: Path, monkeypatch, caplog):
    """A child that cannot build the model, or a builder that cannot be pickled, is a warning
    and a compile here, not a failure."""

    def broken() -> None:
        raise RuntimeError("cannot build")

    def model_beside(lock: threading.Lock) -> object:  # a lock cannot be pickled
        return small_model(N, K)

    model = small_model(N, K)
    # a cache without this model's manifest: a miss, whatever earlier runs stored
    monkeypatch.setattr(compiled_model, "_manifest_path", lambda key: tmp_path / f"{key}.json")
    with caplog.at_level("WARNING", logger="disease_risk.serology.compiled_model"):
        compiled = compile_cached(model, broken)
    assert "the child process failed" in caplog.text and "cannot build" in caplog.text
    assert not compiled.loaded_from_cache
    reference = nutpie.compile_pymc_model(model, backend="numba")
    np.testing.assert_array_equal(draws(compiled), draws(reference))
    caplog.clear()
    elsewhere = tmp_path / "second"  # the first compile stored the model: another empty cache
    monkeypatch.setattr(compiled_model, "_manifest_path", lambda key: elsewhere / f"{key}.json")
    elsewhere.mkdir()
    with caplog.at_level("WARNING", logger="disease_risk.serology.compiled_model"):
        unpicklable = compile_cached(model, partial(model_beside, threading.Lock()))
    assert "cannot be pickled" in caplog.text
    np.testing.assert_array_equal(draws(unpicklable), draws(reference))


def test_changed_nutpie_api_falls_back_to_nutpie_compiler(monkeypatch, caplog):
    """If a private nutpie function the cache uses disappears, fitting still works (warning)."""
    import types

    from disease_risk.serology import compiled_model, sampling

    model = small_model(N, K, prior_sd=1.25)
    reference = draws(nutpie.compile_pymc_model(model, backend="numba"))
    # nutpie as the cache sees it, without the private helpers it relies on
    monkeypatch.setattr(compiled_model, "nutpie_pymc", types.SimpleNamespace())
    monkeypatch.setattr(sampling, "_COMPILED", {})
    with caplog.at_level("WARNING", logger=sampling.__name__):
        compiled = sampling.compiled_nutpie_model(model)
    assert "compiling with nutpie.compile_pymc_model" in caplog.text
    assert not hasattr(compiled, "loaded_from_cache")
    monkeypatch.undo()
    np.testing.assert_array_equal(draws(compiled), reference)


def test_stale_cache_entry_is_a_miss(tmp_path: Path, monkeypatch):
    """A manifest whose machine code cannot be loaded is recompiled, not an error."""
    from disease_risk.serology import compiled_model

    model = small_model(N, K, prior_sd=1.75)
    compile_cached(model)

    def broken(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'disease_risk.compiled_model'")

    monkeypatch.setattr(compiled_model, "_wrappers", broken)
    assert compiled_model._from_cache(
        model, compiled_model._shared_data(model),
        compiled_model._cache_key(model, compiled_model._shared_data(model)),
    ) is None


# --- Progress lines while sampling ----------------------------------------------------------


def test_progress_log_lines_at_each_tenth_and_after_quiet_minutes():
    from disease_risk.serology.sampling import ProgressLog

    lines: list[str] = []
    now = [0.0]
    progress = ProgressLog("fit", chains=2, draws_per_chain=100, emit=lines.append,
                           clock=lambda: now[0])
    progress.report([5, 4], [0, 0], [True, True])  # 4.5%: nothing yet
    assert lines == []
    progress.report([12, 9], [0, 0], [True, True])  # 10.5%
    now[0] = 30.0
    progress.report([13, 9], [0, 0], [True, True])  # quiet: under a minute since the last line
    now[0] = 95.0
    progress.report([14, 9], [0, 0], [True, True])  # a minute without a line
    progress.report([30, 30], [0, 0], [True, True])  # exactly 30%
    progress.report([75, 60], [2, 1], [False, True])  # 67.5%: one line, not one per tenth
    progress.report([100, 100], [3, 1], [False, False])
    progress.report([100, 100], [3, 1], [False, False])  # nothing after the last line
    assert len(lines) == 5
    assert lines[0].startswith("fit sampling: 10% (21/200 draws, warm-up included), 2 chains "
                               "(2 warming up, 0 finished), divergences after warm-up so far: 0")
    assert "(23/200" in lines[1] and lines[1].endswith(", 95 s elapsed")
    assert "30% (60/200" in lines[2]
    assert "(135/200" in lines[3] and "1 warming up" in lines[3] and "so far: 3," in lines[3]
    assert "100% (200/200" in lines[4] and "(2 finished)" in lines[4]


@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_sampling_logs_progress(sampler, caplog, monkeypatch):
    """Both samplers log progress lines while sampling; nutpie's draws are still exactly those
    of ``nutpie.sample`` with the same seed."""
    from disease_risk.serology import sampling
    from disease_risk.serology.sampling import SamplerSettings, sample_posterior

    monkeypatch.setattr(sampling, "NUTPIE_PROGRESS_MS", 2)  # a report every 2 ms, not 1 s

    model = small_model(N, K)
    settings = SamplerSettings(sampler=sampler, draws=150, tune=150, chains=2, cores=1)
    with caplog.at_level("INFO", logger="disease_risk.serology.sampling"):
        fit = sample_posterior(model, settings, seed=7, label="tiny")
    lines = [r.getMessage() for r in caplog.records if "tiny sampling:" in r.getMessage()]
    assert len(lines) >= 2, lines
    assert lines[-1].startswith("tiny sampling: 100% (600/600 draws, warm-up included), 2 chains")
    assert "divergences after warm-up so far: " in lines[-1]
    if sampler == "nutpie":
        reference = nutpie.sample(compile_cached(model), draws=150, tune=150, chains=2, cores=1,
                                  seed=7, target_accept=settings.target_accept,
                                  save_warmup=False, progress_bar=False)
        for name in ("mu", "sd", "z", "p"):
            np.testing.assert_array_equal(fit.idata.posterior[name], reference.posterior[name])
        np.testing.assert_array_equal(fit.idata.sample_stats["diverging"],
                                      reference.sample_stats["diverging"])


def test_changed_nutpie_progress_api_samples_without_progress(monkeypatch, caplog):
    """Without the private progress hook the fit still runs (warning), with the same draws."""
    import types

    from nutpie import _lib

    from disease_risk.serology.sampling import SamplerSettings, sample_posterior

    model = small_model(N, K)
    settings = SamplerSettings(draws=100, tune=100, chains=2, cores=1)
    reference = sample_posterior(model, settings, seed=3)
    # nutpie as if its progress callback were gone (its plain progress types still there)
    monkeypatch.setattr(_lib, "ProgressType", types.SimpleNamespace(none=_lib.ProgressType.none))
    with caplog.at_level("WARNING", logger="disease_risk.serology.sampling"):
        fit = sample_posterior(model, settings, seed=3)
    assert "sampling without progress lines" in caplog.text
    np.testing.assert_array_equal(fit.idata.posterior["p"], reference.idata.posterior["p"])


def test_unreliable_fit_is_sampled_again_at_the_retry_target(caplog):
    """A fit failing the diagnostics is sampled once more at ``retry_target_accept``: the fit
    returned is exactly a fit at that target, and the first attempt's failing blocks stay in the
    diagnostics (section ``retry``); a fit passing them is not sampled again."""
    from dataclasses import replace

    from disease_risk.serology.sampling import (
        SamplerSettings,
        convergence_table,
        sample_posterior,
    )

    model = small_model(N, K)
    strict = SamplerSettings(
        draws=100, tune=100, chains=2, cores=1, target_accept=0.8, retry_target_accept=0.95,
        ess_bulk_min=1e9,  # no fit of 200 draws passes: the retry must happen
    )  # fmt: skip
    with caplog.at_level("WARNING", logger="disease_risk.serology.sampling"):
        fit = sample_posterior(model, strict, seed=3, label="tiny")
    assert "tiny: unreliable at target_accept 0.8" in caplog.text
    direct = sample_posterior(
        model, replace(strict, target_accept=0.95, retry_target_accept=None), seed=3
    )
    assert fit.target_accept == 0.95
    np.testing.assert_array_equal(fit.idata.posterior["p"], direct.idata.posterior["p"])
    table = convergence_table(fit, strict, "tiny")
    sampled, retried = table[table["section"] == "sampling"], table[table["section"] == "retry"]
    assert set(sampled["target_accept"]) == {0.95}
    assert set(retried["target_accept"]) == {0.8} and set(retried["reliable"]) == {"no"}
    assert set(retried["item"]) == set(sampled["item"])  # every block failed the ESS floor

    lenient = replace(strict, ess_bulk_min=0.0, rhat_max=2.0)
    once = sample_posterior(model, lenient, seed=3)
    assert once.target_accept == 0.8 and once.retried is None
    assert set(convergence_table(once, lenient, "tiny")["section"]) == {"sampling"}
