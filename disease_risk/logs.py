"""Send a workflow step's warnings and messages to its Snakemake log file."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def log_to(path: str | Path) -> Iterator[logging.Logger]:
    """Route logging, warnings and stderr to ``path`` for the duration of a rule script.

    A failing step writes its traceback there too, so the log says why a rule failed.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handler = logging.StreamHandler(handle)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        old_level, old_stderr = root.level, sys.stderr
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        sys.stderr = handle
        try:
            yield logging.getLogger("disease_risk")
        except BaseException:
            logging.getLogger("disease_risk").exception("step failed")
            raise
        finally:
            sys.stderr = old_stderr
            logging.captureWarnings(False)
            root.removeHandler(handler)
            root.setLevel(old_level)


def run_rule(step: Callable[..., Any], smk: Any) -> Any:
    """Call a stage entry point for a Snakemake rule, logged to the rule's log file.

    Every entry point takes the rule's named ``inputs``, ``outputs`` and ``params`` as mappings;
    ``params`` also holds ``threads`` and the job's wildcards.
    """
    with log_to(smk.log[0]):
        params = {**dict(smk.params.items()), **dict(smk.wildcards.items())}
        params["threads"] = smk.threads
        return step(
            inputs=dict(smk.input.items()), outputs=dict(smk.output.items()), params=params
        )
