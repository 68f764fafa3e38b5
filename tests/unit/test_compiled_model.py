"""The on-disk compiled-model cache: same draws as nutpie's own compiler, hits across processes.

The reference is ``nutpie.compile_pymc_model(model, backend="numba")`` itself: with the same seed
the cached model must give bit-identical draws, fresh or loaded from disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import nutpie
import pytest

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


def test_second_process_loads_from_disk(tmp_path: Path):
    """Two fresh processes with one cache directory: the second loads, and draws agree."""
    script = tmp_path / "fit.py"
    script.write_text(MODEL_SOURCE + textwrap.dedent("""
        import hashlib, json
        import nutpie
        from disease_risk.serology.compiled_model import compile_cached
        compiled = compile_cached(small_model([10, 20, 30], [3, 5, 9]))
        idata = nutpie.sample(compiled, draws=150, tune=150, chains=2, cores=1, seed=7,
                              progress_bar=False)
        digest = hashlib.sha256(idata.posterior["p"].values.tobytes()).hexdigest()
        print(json.dumps({"cached": compiled.loaded_from_cache, "digest": digest}))
    """))
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'cache'}"}
    runs = []
    for _ in range(2):
        child = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                               timeout=600, env=env, check=True)
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    assert [r["cached"] for r in runs] == [False, True]
    assert runs[0]["digest"] == runs[1]["digest"]
    assert list((tmp_path / "cache" / "numba").glob("disease_risk-*.json"))


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
