"""Provenance of a run: input checksums, the config used, package versions, the code's commit.

The ``provenance`` rule gathers the record with :func:`collect_provenance` and writes
``results/provenance/`` (:func:`write_provenance`); the report reads those files back
(:func:`read_provenance`) rather than recomputing them. Everything is deterministic for the same
inputs and code, except the run date, which lives only in :attr:`Provenance.run` and in
``run.yaml``. Config paths may be relative (to the working directory) or absolute (a cluster's
data folder): an input below the working directory is named relative to it, any other by its
absolute path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

import pandas as pd
import yaml

from disease_risk.intake.folder import scan_drop_folder
from disease_risk.intake.formats import SheetError
from disease_risk.tables import read_table, write_table

PROVENANCE_FILES = {  # key (the provenance rule's output name) -> file in results/provenance/
    "checksums": "input_checksums.tsv",
    "config": "config_used.yaml",
    "packages": "packages.tsv",
    "code": "code_version.yaml",
    "run": "run.yaml",
}
RUN_HEADER = "# volatile: changes on every run; every other provenance file is deterministic\n"
SIMULATED_MARK = "SIMULATED_"  # file or folder names starting so hold made-up data (any case)
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
    sorted and without duplicates; files named inside the YAML files it finds (e.g. a locations
    table in the network config) count too. Relative values are relative to ``base_dir``; files
    below ``base_dir`` are listed relative to it, others (an absolute data folder elsewhere) by
    absolute path. Paths under ``exclude`` (pipeline outputs such as the FOI posterior that a
    config may point to) are not inputs."""
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
            with contextlib.suppress(OSError):
                found.update(_named_files(input_name(value, base), base, exclude))

    visit(config)
    for name in sorted(found):
        if name.endswith((".yaml", ".yml")):
            with contextlib.suppress(OSError, yaml.YAMLError):
                visit(yaml.safe_load((base / name).read_text(encoding="utf-8")))
    return sorted(found)


def input_name(value: str | Path, base_dir: str | Path = ".") -> str:
    """How an input path is listed: as given when relative, relative to ``base_dir`` when it is
    an absolute path below it, else absolute."""
    path = Path(value)
    if not path.is_absolute():
        return str(value)
    with contextlib.suppress(ValueError):
        return str(Path(os.path.abspath(path)).relative_to(os.path.abspath(base_dir)))
    return str(path)


def _named_files(name: str, base: Path, exclude: tuple[str, ...]) -> list[str]:
    """The file ``name`` (from :func:`input_name`), or every non-hidden file below the folder
    ``name``; nothing for other strings, the working directory itself, the filesystem root or
    paths under ``exclude``."""
    as_path = Path(name)
    if as_path.parts[:1] and as_path.parts[0] in exclude:
        return []
    path = base / as_path  # an absolute name stays itself
    if path.is_file():
        return [name]
    if not path.is_dir() or name in (".", "./") or as_path == Path(as_path.anchor):
        return []
    # Hidden files and folders are skipped: below the working directory wherever they are,
    # elsewhere below the named folder.
    root = path if as_path.is_absolute() else base
    return [
        str(p if as_path.is_absolute() else p.relative_to(base))
        for p in path.rglob("*")
        if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)
    ]


def provenance_inputs(
    config: Mapping[str, Any], config_files: Iterable[str | Path], base_dir: str | Path = "."
) -> list[str]:
    """The provenance rule's inputs: the config file(s) and every input file the config names
    (:func:`config_input_files`), sorted. Of the sample drop folder only the sheets the intake
    reads count: files it lists as not read (a .txt export, a README) are not inputs."""
    names = {input_name(c, base_dir) for c in config_files}
    files = set(config_input_files(config, base_dir))
    if config.get("samples_dir"):
        folder = Path(base_dir) / config["samples_dir"]
        with contextlib.suppress(SheetError):
            below = input_name(folder, base_dir) if folder.is_absolute() else config["samples_dir"]
            files = {f for f in files if Path(below) not in Path(f).parents}
            files |= {input_name(p, base_dir) for p in scan_drop_folder(folder).sheets}
    return sorted(names | files)


def file_checksums(paths: Iterable[str | Path], base_dir: str | Path = ".") -> pd.DataFrame:
    """Table of ``path``, ``bytes`` and ``sha256`` for each file, sorted by path."""
    base = Path(base_dir)
    rows = []
    for p in sorted({str(p) for p in paths}):
        full = base / p
        rows.append({"path": p, "bytes": full.stat().st_size, "sha256": sha256_file(full)})
    return pd.DataFrame(rows, columns=["path", "bytes", "sha256"])


def simulated_inputs(paths: Iterable[str | Path]) -> list[str]:
    """The inputs marked simulated (a file or folder name starting with :data:`SIMULATED_MARK`,
    e.g. the example data), sorted: the report warns that their numbers are not for decisions."""
    return sorted({
        str(p) for p in paths
        if any(part.upper().startswith(SIMULATED_MARK) for part in PurePath(p).parts)
    })


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


def provenance_paths(folder: str | Path) -> dict[str, str]:
    """The record's files in ``folder``, by key (the provenance rule's named outputs)."""
    return {key: str(Path(folder) / name) for key, name in PROVENANCE_FILES.items()}


def write_provenance(prov: Provenance, paths: Mapping[str, str | Path]) -> list[Path]:
    """Write the record to ``paths`` (keys of :data:`PROVENANCE_FILES`); only the run file
    changes between identical reruns. Returns the paths in the order of the keys."""
    out = {key: Path(paths[key]) for key in PROVENANCE_FILES}
    for path in out.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_table(prov.checksums, out["checksums"])
    write_table(prov.packages, out["packages"])
    out["config"].write_text(
        yaml.safe_dump(dict(prov.config), sort_keys=True, allow_unicode=True), encoding="utf-8"
    )
    out["code"].write_text(yaml.safe_dump(dict(prov.code)), encoding="utf-8")
    out["run"].write_text(RUN_HEADER + yaml.safe_dump(dict(prov.run)), encoding="utf-8")
    return list(out.values())


def read_provenance(paths: Iterable[str | Path]) -> Provenance:
    """The record written by :func:`write_provenance`, from its files (found by file name)."""
    by_name = {Path(p).name: Path(p) for p in paths}
    missing = [name for name in PROVENANCE_FILES.values() if name not in by_name]
    if missing:
        raise FileNotFoundError(f"provenance record incomplete: no {', '.join(missing)}")
    files = {key: by_name[name] for key, name in PROVENANCE_FILES.items()}

    def mapping(key: str) -> dict[str, Any]:
        return yaml.safe_load(files[key].read_text(encoding="utf-8")) or {}

    return Provenance(
        checksums=read_table(files["checksums"], text_columns=("path", "sha256")),
        config=mapping("config"),
        packages=read_table(files["packages"], text_columns=("package", "version", "key")),
        code=mapping("code"),
        run=mapping("run"),
    )
