"""The JSON schemas shipped inside the package, and reading YAML files validated by them.

One place for every schema: the rule files (``common.smk``), the registries, the network and
hazard loaders all read them from here (``importlib.resources``), so an installed wheel
validates exactly as a checkout does.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_PACKAGE = "disease_risk.schemas"


class ConfigFileError(ValueError):
    """A config, registry, assay, layout, network or hazard file is missing, unreadable or
    breaks its schema."""


def schema_path(name: str) -> Path:
    """Filesystem path of a shipped schema (``config.schema.yaml`` ...), for Snakemake's
    ``validate``."""
    return Path(str(resources.files(SCHEMA_PACKAGE) / name))


@cache
def schema(name: str) -> dict[str, Any]:
    """A shipped schema, parsed."""
    text = (resources.files(SCHEMA_PACKAGE) / name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def schema_errors(data: Any, name: str) -> list[str]:
    """Every violation of schema ``name`` by ``data``, as ``at <path>: <message>`` lines."""
    validator = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [
        f"at {'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}"
        for e in errors
    ]


def read_yaml(
    path: str | Path, schema_name: str, error: type[Exception] = ConfigFileError
) -> dict[str, Any]:
    """Read a UTF-8 YAML file and validate it; ``error`` names the file and every violation."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found (check the config key pointing to it)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise error(f"{path}: not valid UTF-8 YAML: {err}") from err
    problems = schema_errors(data, schema_name)
    if problems:
        raise error(
            f"{path} does not follow disease_risk/schemas/{schema_name}:\n"
            + "\n".join(f"  {line}" for line in problems)
        )
    return data
