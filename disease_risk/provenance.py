"""Provenance of a run: input checksums, the config used, package versions, the code's commit.

One function, :func:`collect_provenance`, serves both the ``provenance`` rule (which writes
``results/provenance/``) and the report. Everything is deterministic for the same inputs and code,
except the run date, which lives only in :attr:`Provenance.run` and in ``run.yaml``.
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

PROVENANCE_FILES = (
    "input_checksums.tsv",
    "config_used.yaml",
    "packages.tsv",
    "code_version.yaml",
    "run.yaml",
)
KEY_PACKAGES = (
    "disease-risk", "snakemake", "pymc", "pytensor", "nutpie", "numba", "arviz", "biopython",
    "networkx", "scipy", "numpy", "pandas", "matplotlib",
)


@dataclass(frozen=True)
class Provenance:
    """Stable provenance (checksums, config, packages, code) plus the volatile run record."""

    checksums: pd.DataFrame
    config: Mapping[str, Any]
    packages: pd.DataFrame
    code: Mapping[str, str]
    run: Mapping[str, str]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def config_input_files(
    config: Mapping[str, Any], base_dir: str | Path = ".", exclude: tuple[str, ...] = ("results",)
) -> list[str]:
    """Every existing file named by a config value (files, and all files in named folders),
    relative to ``base_dir``, sorted and without duplicates; files named inside the YAML files
    it finds (e.g. a locations table in the network config) count too. Paths under ``exclude``
    (pipeline outputs such as the FOI posterior that a config may point to) are not inputs."""
    base = Path(base_dir)
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, Mapping):
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)
        elif isinstance(value, str) and value and "\n" not in value and len(value) < 4096:
            path = base / value
            if Path(value).parts[:1] and Path(value).parts[0] in exclude:
                return
            with contextlib.suppress(OSError):
                if path.is_file():
                    found.add(value)
                elif path.is_dir() and value not in (".", "./"):
                    for p in path.rglob("*"):
                        rel = p.relative_to(base)
                        if p.is_file() and not any(s.startswith(".") for s in rel.parts):
                            found.add(str(rel))

    visit(config)
    for name in sorted(found):
        if name.endswith((".yaml", ".yml")):
            with contextlib.suppress(OSError, yaml.YAMLError):
                visit(yaml.safe_load((base / name).read_text(encoding="utf-8")))
    return sorted(found)


def file_checksums(paths: Iterable[str | Path], base_dir: str | Path = ".") -> pd.DataFrame:
    """Table of ``path``, ``bytes`` and ``sha256`` for each file, sorted by path."""
    base = Path(base_dir)
    rows = []
    for p in sorted({str(p) for p in paths}):
        full = base / p
        rows.append({"path": p, "bytes": full.stat().st_size, "sha256": sha256_file(full)})
    return pd.DataFrame(rows, columns=["path", "bytes", "sha256"])


def package_versions() -> pd.DataFrame:
    """Python and every installed distribution with its version, sorted by name."""
    rows = {"python": platform.python_version()}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            rows[name.lower().replace("_", "-")] = dist.version
    table = pd.DataFrame(sorted(rows.items()), columns=["package", "version"])
    table["key"] = table["package"].isin(("python", *KEY_PACKAGES)).map({True: "yes", False: ""})
    return table


def code_version(code_dir: str | Path | None = None) -> dict[str, str]:
    """The git commit of the code (the installed ``disease_risk`` package's checkout) and whether
    it had uncommitted changes; ``unknown`` outside a git checkout."""
    if code_dir is None:
        code_dir = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=code_dir, capture_output=True, text=True,
            timeout=30, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=code_dir,
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown (not a git checkout)", "uncommitted_changes": "unknown"}
    return {"git_commit": commit, "uncommitted_changes": "yes" if status.strip() else "no"}


def collect_provenance(
    files: Iterable[str | Path],
    config: Mapping[str, Any],
    *,
    base_dir: str | Path = ".",
    code_dir: str | Path | None = None,
    now: datetime | None = None,
) -> Provenance:
    """Gather the provenance of a run: checksums of ``files``, ``config``, packages, code commit
    and (volatile) the run date in UTC."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return Provenance(
        checksums=file_checksums(files, base_dir),
        config=_plain(config),
        packages=package_versions(),
        code=code_version(code_dir),
        run={"run_date_utc": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "host": platform.node()},
    )


def _plain(value: Any) -> Any:
    """Snakemake's config wrappers as plain dicts and lists (for YAML)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def write_provenance(prov: Provenance, outdir: str | Path) -> list[Path]:
    """Write the provenance files; only ``run.yaml`` changes between identical reruns."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    prov.checksums.to_csv(out / "input_checksums.tsv", sep="\t", index=False, lineterminator="\n")
    prov.packages.to_csv(out / "packages.tsv", sep="\t", index=False, lineterminator="\n")
    (out / "config_used.yaml").write_text(
        yaml.safe_dump(dict(prov.config), sort_keys=True, allow_unicode=True), encoding="utf-8"
    )
    (out / "code_version.yaml").write_text(yaml.safe_dump(dict(prov.code)), encoding="utf-8")
    (out / "run.yaml").write_text(
        "# volatile: changes on every run; every other provenance file is deterministic\n"
        + yaml.safe_dump(dict(prov.run)),
        encoding="utf-8",
    )
    return [out / name for name in PROVENANCE_FILES]
