"""nutpie models whose machine code is cached on disk, so a new process skips compilation.

``nutpie.compile_pymc_model`` compiles the PyMC model's log density and gradient with PyTensor's
numba backend and wraps them in two ``numba.cfunc`` callbacks that numba cannot cache (they
close over process-local objects), so every process pays 10-60 s of compilation before
sampling. Here the same callbacks are generated as source code whose free names are globals and
cached by numba in PyTensor's cache directory, under a key that hashes the model's graph, the
shapes of its data and the package versions. A small manifest beside them records what the
sampler needs (dimensions, variable names and shapes), so a later process with a model of the
same structure skips PyTensor's graph rewriting as well and loads the machine code.

The sampler is unchanged: same initial points, same nuts-rs sampler, same draws for the same
seed as ``nutpie.compile_pymc_model(model, backend="numba")`` (a test checks it).

A model not yet in the cache is compiled in a child process and then loaded from the cache like
in any later run. Code that numba has just compiled in a process can differ in its last bits
from the same code loaded from its cache (numba optimises freshly compiled PyTensor functions
together but links cached ones as they are), and on some CPUs (AMD Zen 3 here) that changed a
first run's prevalence draws: the first run on a machine would not repeat.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cloudpickle
import numba
import numpy as np
import pymc as pm
from nutpie import compile_pymc as nutpie_pymc
from pymc.initial_point import make_initial_point_fn
from pytensor import config
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import ancestors, toposort
from pytensor.link.numba.cache import NUMBA_CACHE_PATH, compile_numba_function_src
from pytensor.link.numba.dispatch.basic import cache_key_for_constant, numba_funcify_and_cache_key

WRAPPER_VERSION = "1"

log = logging.getLogger(__name__)

LOGP_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
EXPAND_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


@dataclasses.dataclass(frozen=True)
class CachedPyMCModel(nutpie_pymc.CompiledPyMCModel):
    """A ``CompiledPyMCModel`` whose user data is the addresses of the shared data arrays."""

    shared_order: tuple[str, ...] = ()
    loaded_from_cache: bool = False

    def with_data(self, **updates: Any) -> CachedPyMCModel:
        """The same compiled model on new values of its ``pm.Data`` arrays (shapes unchanged)."""
        shared = dict(self.shared_data)
        for name, value in updates.items():
            if name not in shared:
                raise KeyError(f"unknown shared variable: {name}")
            new = np.array(value, dtype=shared[name].dtype, order="C", copy=True)
            if new.shape != shared[name].shape:
                raise ValueError(
                    f"shared variable {name} has shape {shared[name].shape}, got {new.shape}; "
                    "a new shape needs a new compiled model"
                )
            new.flags.writeable = False
            shared[name] = new
        return dataclasses.replace(
            self, shared_data=shared, user_data=_addresses(shared, self.shared_order)
        )


def _addresses(shared: dict[str, np.ndarray], order: tuple[str, ...]) -> np.ndarray:
    return np.array([shared[name].ctypes.data for name in order], dtype=np.uint64)


def model_graph_key(model: pm.Model) -> str | None:
    """A hash of the model's log density and traced variables as graphs, stable across processes.

    It is taken before PyTensor's rewrites, whose output varies between processes in the
    choice among equivalent shape checks. Nodes are hashed bottom-up (Merkle) from PyTensor's
    per-Op numba cache keys, so the order of traversal does not matter; value variables count
    by position, data by name and type, constants by value. None (no caching) when some Op has
    no cache key.
    """
    outputs = [model.logp(), *model.unobserved_value_vars]
    names: dict[Variable, str] = {}
    for i, var in enumerate(model.value_vars):
        names[var] = f"value {i} {var.type}"
    for node in toposort(outputs):
        inputs = []
        for var in node.inputs:
            if var not in names:
                if isinstance(var, Constant):
                    names[var] = f"constant {var.type} {cache_key_for_constant(var.data)}"
                elif isinstance(var, SharedVariable):
                    names[var] = f"data {var.name} {var.type}"
                else:
                    return None
            inputs.append(names[var])
        try:
            _, op_key = numba_funcify_and_cache_key(node.op, node=node)
        except Exception:  # an Op that cannot be converted alone: no caching
            return None
        if op_key is None:
            return None
        node_key = hashlib.sha256(" | ".join([op_key, *inputs]).encode()).hexdigest()
        for j, out in enumerate(node.outputs):
            names[out] = f"{node_key}:{j} {out.type}"
    keys = [names.get(v, f"root {v.name} {v.type}") for v in outputs]
    keys += [f"{v.name} {v.type}" for v in outputs[1:]]
    return hashlib.sha256(" | ".join([*keys, str(model.check_bounds)]).encode()).hexdigest()


def _unpack_lines(names: list[str], order: tuple[str, ...], shared: dict[str, np.ndarray]) -> str:
    lines = [f"        ptrs = numba.carray(user_data_, ({len(order)},), np.uint64)"]
    for name in names:
        i = order.index(name)
        shape = tuple(int(s) for s in shared[name].shape)
        lines.append(
            f"        s{i} = numba.carray(address_as_void_pointer(ptrs[{i}]), {shape!r}, DTYPE_{i})"
        )
    return "\n".join(lines)


def _wrapper_sources(
    n_dim: int,
    n_expanded: int,
    logp_names: list[str],
    expand_names: list[str],
    order: tuple[str, ...],
    shared: dict[str, np.ndarray],
) -> tuple[str, str]:
    logp_args = "".join(f", s{order.index(n)}" for n in logp_names)
    expand_args = "".join(f", s{order.index(n)}" for n in expand_names)
    logp_src = f"""
def logp_wrapper(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
{_unpack_lines(logp_names, order, shared)}
        logp_val, grad = logp_fn(x{logp_args})
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""
    expand_src = f"""
def expand_wrapper(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
{_unpack_lines(expand_names, order, shared)}
        (values,) = expand_fn(x{expand_args})
        out[...] = values
    except Exception:
        return -2
    return 0
"""
    return logp_src, expand_src


def _cfunc(src: str, name: str, env: dict[str, Any], key: str | None, signature: Any) -> Any:
    function = compile_numba_function_src(src, name, global_env=env, cache_key=key)
    return numba.cfunc(signature, cache=key is not None)(function)


def _shared_data(model: pm.Model) -> dict[str, np.ndarray]:
    """Values of the model's data (shared variables) by name, read-only C arrays."""
    outputs = [model.logp(), *model.unobserved_value_vars]
    shared = {}
    for var in ancestors(outputs):
        if isinstance(var, SharedVariable) and var.name not in shared:
            value = np.array(var.get_value(), order="C", copy=True)
            value.flags.writeable = False
            shared[var.name] = value
    return dict(sorted(shared.items()))


def _cache_key(model: pm.Model, shared: dict[str, np.ndarray]) -> str | None:
    graph = model_graph_key(model) if config.numba__cache else None
    if graph is None:
        return None
    parts = [WRAPPER_VERSION, __name__, graph, str(config.numba__fastmath)]
    parts += [f"{p} {version(p)}" for p in ("numba", "pytensor", "pymc", "nutpie")]
    parts += [f"{name} {v.dtype} {v.shape}" for name, v in shared.items()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What the sampler needs besides machine code: sizes, shared data and variable layout."""

    n_dim: int
    n_expanded: int
    logp_names: list[str]
    expand_names: list[str]
    names: list[str]
    slices: list[tuple[int, int]]
    shapes: list[tuple[int, ...]]

    @property
    def shape_info(self) -> tuple[list[str], list[slice], list[tuple[int, ...]]]:
        return self.names, [slice(a, b) for a, b in self.slices], self.shapes

    @classmethod
    def load(cls, path: Path) -> Manifest | None:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        raw["slices"] = [tuple(v) for v in raw["slices"]]
        raw["shapes"] = [tuple(v) for v in raw["shapes"]]
        return cls(**raw)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self)))
        tmp.replace(path)


def _manifest_path(key: str) -> Path:
    return NUMBA_CACHE_PATH / f"disease_risk-{key}.json"


def _pymc_initial_point(model: pm.Model) -> Any:
    """nutpie's initial points: support points, jittered (as ``nutpie.compile_pymc_model``)."""
    return nutpie_pymc._wrap_with_lock(
        make_initial_point_fn(
            model=model,
            default_strategy="support_point",
            jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )


def _initial_point(pymc_initial_point: Any, manifest: Manifest) -> Any:
    """The initial points flattened in the sampler's order."""
    free = sum(1 for a, b in manifest.slices if b <= manifest.n_dim)
    return nutpie_pymc._rv_dict_to_flat_array_wrapper(
        pymc_initial_point, names=manifest.names[:free], shapes=manifest.shapes[:free]
    )


def _wrappers(
    manifest: Manifest,
    shared: dict[str, np.ndarray],
    key: str | None,
    functions: dict[str, Any],
) -> tuple[Any, Any]:
    order = tuple(shared)
    logp_src, expand_src = _wrapper_sources(
        manifest.n_dim,
        manifest.n_expanded,
        manifest.logp_names,
        manifest.expand_names,
        order,
        shared,
    )
    env: dict[str, Any] = {
        "__name__": __name__,
        "numba": numba,
        "np": np,
        "address_as_void_pointer": nutpie_pymc.address_as_void_pointer,
        **functions,
        **{f"DTYPE_{i}": shared[name].dtype for i, name in enumerate(order)},
    }
    logp = _cfunc(logp_src, "logp_wrapper", env, key and f"{key}_logp", LOGP_SIGNATURE)
    expand = _cfunc(expand_src, "expand_wrapper", env, key and f"{key}_expand", EXPAND_SIGNATURE)
    return logp, expand


def _from_cache(model: pm.Model, shared: dict[str, np.ndarray], key: str) -> CachedPyMCModel | None:
    """The model from the on-disk cache, or None on a miss (nothing is compiled here)."""
    manifest = Manifest.load(_manifest_path(key))
    if manifest is None:
        return None
    try:
        logp, expand = _wrappers(manifest, shared, key, {})
    except Exception as err:  # a stale or foreign cache entry is a miss, never a failure
        log.warning("compiled-model cache entry %s unusable (%s: %s); recompiling",
                    key[:12], type(err).__name__, err)
        return None
    initial_point = _initial_point(_pymc_initial_point(model), manifest)
    compiled = _assemble(model, manifest, shared, logp, expand, initial_point)
    return dataclasses.replace(compiled, loaded_from_cache=True)


def _compile(model: pm.Model, shared: dict[str, np.ndarray], key: str | None) -> CachedPyMCModel:
    """Compile with PyTensor (rewrites, numba) and numba, storing the result under ``key``."""
    pymc_initial_point = _pymc_initial_point(model)
    n_dim, n_expanded, logp_pt, expand_pt, _, shape_info = nutpie_pymc._make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=pymc_initial_point,
    )
    names, slices, shapes = shape_info
    manifest = Manifest(
        n_dim=int(n_dim),
        n_expanded=int(n_expanded),
        logp_names=[v.name for v in logp_pt.get_shared()],
        expand_names=[v.name for v in expand_pt.get_shared()],
        names=list(names),
        slices=[(int(s.start), int(s.stop)) for s in slices],
        shapes=[tuple(int(d) for d in shape) for shape in shapes],
    )
    functions = {"logp_fn": logp_pt.vm.jit_fn, "expand_fn": expand_pt.vm.jit_fn}
    logp, expand = _wrappers(manifest, shared, key, functions)
    if key is not None:
        manifest.save(_manifest_path(key))
    initial_point = _initial_point(pymc_initial_point, manifest)
    return _assemble(model, manifest, shared, logp, expand, initial_point)


def _assemble(
    model: pm.Model,
    manifest: Manifest,
    shared: dict[str, np.ndarray],
    logp: Any,
    expand: Any,
    initial_point: Any,
) -> CachedPyMCModel:
    dims, coords = nutpie_pymc._prepare_dims_and_coords(model, manifest.shape_info)
    order = tuple(shared)
    return CachedPyMCModel(
        _n_dim=manifest.n_dim,
        dims=dims,
        _coords=coords,
        _shapes=dict(zip(manifest.names, manifest.shapes, strict=True)),
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=initial_point,
        shared_data=shared,
        user_data=_addresses(shared, order),
        n_expanded=manifest.n_expanded,
        shape_info=manifest.shape_info,
        logp_func=None,
        expand_func=None,
        shared_order=order,
    )


def _compile_in_child(build: Callable[[], pm.Model], key: str) -> bool:
    """Compile the model ``build`` makes into the cache in a new Python process; whether it
    succeeded."""
    try:
        builder = cloudpickle.dumps(build)
    except Exception as err:  # any pickling failure means: compile here
        reason = f"its builder cannot be pickled ({type(err).__name__}: {err})"
    else:
        child = subprocess.run(
            [sys.executable, "-c", f"import sys; from {__name__} import _compile_from_stdin; "
             "_compile_from_stdin(sys.argv[1])", key],
            input=builder,
            capture_output=True,
            check=False,
        )
        if child.returncode == 0:
            return True
        reason = (f"the child process failed (exit {child.returncode}): "
                  f"{child.stderr.decode(errors='replace')[-2000:]}")
    log.warning("model %s not compiled in a child process, so compiled here and this first run "
                "may differ in its last bits from later runs: %s", key[:12], reason)
    return False


def compile_cached(
    model: pm.Model, build: Callable[[], pm.Model] | None = None
) -> CachedPyMCModel:
    """Compile ``model`` for nutpie (numba backend), or load it from the on-disk cache.

    ``build``, a picklable function that builds ``model`` again (a module-level function and
    its arguments), lets a model missing from the cache be compiled in a child process and
    loaded from the cache here, as every later run loads it (see the module's docstring);
    without it the model is compiled here.
    """
    shared = _shared_data(model)
    key = _cache_key(model, shared)
    if key is None:
        return _compile(model, shared, None)
    cached = _from_cache(model, shared, key)
    if cached is None and build is not None and _compile_in_child(build, key):
        cached = _from_cache(model, shared, key)
    return cached if cached is not None else _compile(model, shared, key)


def _compile_from_stdin(key: str) -> None:
    """The child of :func:`_compile_in_child`: a pickled model builder on stdin; its model,
    which must hash to ``key``, compiled into the cache."""
    model = cloudpickle.loads(sys.stdin.buffer.read())()
    shared = _shared_data(model)
    if _cache_key(model, shared) != key:
        raise SystemExit(f"the model built in the child does not hash to {key[:12]}")
    _compile(model, shared, key)


__all__ = ["CachedPyMCModel", "Manifest", "compile_cached", "model_graph_key"]
