"""Assay sensitivity and specificity: Beta priors plus validation-panel counts (both models).

Following Gelman and Carpenter (2020, "Bayesian analysis of tests with unknown specificity and
sensitivity"), the validation panel is not collapsed into a plug-in value: its counts enter the
same posterior as the survey data (known positives detected ~ Binomial(positives tested, Se),
known negatives testing negative ~ Binomial(negatives tested, Sp)), so Se, Sp and prevalence are
estimated jointly and the test's uncertainty flows into the prevalence intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt


@dataclass(frozen=True)
class AssayAccuracy:
    """Prior and validation panel of one assay's sensitivity (Se) and specificity (Sp)."""

    name: str
    se_alpha: float
    se_beta: float
    sp_alpha: float
    sp_beta: float
    positives_tested: int = 0
    positives_detected: int = 0
    negatives_tested: int = 0
    negatives_negative: int = 0

    def __post_init__(self) -> None:
        for field in ("se_alpha", "se_beta", "sp_alpha", "sp_beta"):
            value = getattr(self, field)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"assay {self.name!r}: {field} must be > 0, got {value!r}")
        if not 0 <= self.positives_detected <= self.positives_tested:
            raise ValueError(
                f"assay {self.name!r}: validation positives_detected "
                f"({self.positives_detected}) must lie in 0..positives_tested "
                f"({self.positives_tested})"
            )
        if not 0 <= self.negatives_negative <= self.negatives_tested:
            raise ValueError(
                f"assay {self.name!r}: validation negatives_negative "
                f"({self.negatives_negative}) must lie in 0..negatives_tested "
                f"({self.negatives_tested})"
            )

    def posterior_beta(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Beta parameters of Se and Sp given the prior and the validation panel alone."""
        se = (
            self.se_alpha + self.positives_detected,
            self.se_beta + self.positives_tested - self.positives_detected,
        )
        sp = (
            self.sp_alpha + self.negatives_negative,
            self.sp_beta + self.negatives_tested - self.negatives_negative,
        )
        return se, sp


def _get(entry: Any, key: str, default: Any = None) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(key, default)
    return getattr(entry, key, default)


def assay_accuracy(assays: Any) -> dict[str, AssayAccuracy]:
    """Read Se/Sp priors and validation counts from the assay registry, keyed by assay name.

    Accepts what ``disease_risk.intake.registry.load_assays`` returns (a mapping of name to
    assay, or a list of assays, as mappings or objects with the ``config/assays.yaml`` field
    names) or the parsed YAML document itself.
    """
    if isinstance(assays, Mapping) and "assays" in assays:
        assays = assays["assays"]
    entries: Iterable[Any] = assays.values() if isinstance(assays, Mapping) else assays
    out: dict[str, AssayAccuracy] = {}
    for entry in entries:
        name = str(_get(entry, "name"))
        se, sp = _get(entry, "sensitivity"), _get(entry, "specificity")
        if se is None or sp is None:
            raise ValueError(
                f"assay {name!r} in the assay registry has no sensitivity/specificity prior; "
                "add `sensitivity: {alpha, beta, source}` and `specificity: {...}`"
            )
        validation = _get(entry, "validation") or {}
        out[name] = AssayAccuracy(
            name=name,
            se_alpha=float(_get(se, "alpha")),
            se_beta=float(_get(se, "beta")),
            sp_alpha=float(_get(sp, "alpha")),
            sp_beta=float(_get(sp, "beta")),
            positives_tested=int(_get(validation, "positives_tested", 0) or 0),
            positives_detected=int(_get(validation, "positives_detected", 0) or 0),
            negatives_tested=int(_get(validation, "negatives_tested", 0) or 0),
            negatives_negative=int(_get(validation, "negatives_negative", 0) or 0),
        )
    return out


def accuracy_for(
    assays: Sequence[str], accuracy: Mapping[str, AssayAccuracy]
) -> list[AssayAccuracy]:
    """The registry entries of ``assays`` in order; a clear error names any missing assay."""
    missing = [a for a in assays if a not in accuracy]
    if missing:
        raise ValueError(
            f"assays {missing} appear in samples.tsv but not in the assay registry "
            "(config/assays.yaml); add them with sensitivity/specificity priors"
        )
    return [accuracy[a] for a in assays]


def add_test_accuracy(
    accuracy: Sequence[AssayAccuracy],
    derived: Mapping[int, tuple[pt.TensorVariable, pt.TensorVariable]] | None = None,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Inside a model context, add ``sensitivity`` and ``specificity`` per assay (dim ``assay``).

    Beta priors from the registry; validation panels enter as Binomial likelihoods (an assay
    without a panel has zero trials, which adds nothing). Every number is a ``pm.Data`` so a
    compiled model can be reused with other assays' values.

    ``derived`` maps an assay's position to (Se, Sp) the caller built from its own parameters
    (the prevalence model's reference assay, :func:`~disease_risk.serology.prevalence.
    reference_anchor`): their Beta priors are added to the density at those values, and only
    the other assays get Beta variables (``sensitivity_other``, ``specificity_other``).
    """

    def data(name: str, values: list[float], dtype: str) -> pt.TensorVariable:
        return pm.Data(name, np.asarray(values, dtype=dtype), dims="assay")

    fixed = sorted(derived or {})
    others = [i for i in range(len(accuracy)) if i not in fixed]
    prior = 0.0
    values = []
    for part, (name, short) in enumerate((("sensitivity", "se"), ("specificity", "sp"))):
        alpha = data(f"{short}_alpha", [getattr(a, f"{short}_alpha") for a in accuracy], "float64")
        beta = data(f"{short}_beta", [getattr(a, f"{short}_beta") for a in accuracy], "float64")
        if not fixed:
            values.append(pm.Beta(name, alpha=alpha, beta=beta, dims="assay"))
            continue
        value = pt.zeros(len(accuracy))
        if others:
            free = pm.Beta(f"{name}_other", alpha=alpha[others], beta=beta[others],
                           shape=len(others))
            value = pt.set_subtensor(value[others], free)
        given = pt.stack([derived[i][part] for i in fixed])
        value = pt.set_subtensor(value[fixed], given)
        prior = prior + pm.logp(pm.Beta.dist(alpha[fixed], beta[fixed]), given).sum()
        values.append(pm.Deterministic(name, value, dims="assay"))
    if fixed:
        pm.Potential("derived_accuracy_prior", prior)
    se, sp = values
    pm.Binomial(
        "validation_positives_detected",
        n=data("validation_positives_tested", [a.positives_tested for a in accuracy], "int64"),
        p=se,
        observed=data("validation_positives", [a.positives_detected for a in accuracy], "int64"),
        dims="assay",
    )
    pm.Binomial(
        "validation_negatives_negative",
        n=data("validation_negatives_tested", [a.negatives_tested for a in accuracy], "int64"),
        p=sp,
        observed=data("validation_negatives", [a.negatives_negative for a in accuracy], "int64"),
        dims="assay",
    )
    return se, sp


def apparent_outcomes(
    seropositive: pt.TensorVariable,
    seronegative: pt.TensorVariable,
    se: pt.TensorVariable,
    sp: pt.TensorVariable,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Chances a test reads positive and negative: Se p + (1 - Sp) q and (1 - Se) p + Sp q.

    The true prevalence p and q = 1 - p come apart so that each model gives both in its cheapest
    accurate form, and the likelihood takes two logarithms instead of log and log1p: in
    PyTensor's numba code the gradient of log1p (and of expm1 in the hazard) costs about three
    times as much per cell (bench/README.md, issue 17). Tensors or numpy arrays alike (the
    posterior predictive checks use it on draws).
    """
    positive = apparent_positive(seropositive, seronegative, se, sp)
    return positive, (1.0 - se) * seropositive + sp * seronegative


def apparent_positive(seropositive: Any, seronegative: Any, se: Any, sp: Any) -> Any:
    """The first of :func:`apparent_outcomes` alone, for the posterior predictive checks, which
    draw only positives (at 100x the example, each outcome is 83 M numbers)."""
    return se * seropositive + (1.0 - sp) * seronegative
