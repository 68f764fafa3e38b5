"""Matplotlib as every figure of the pipeline uses it: the file-only Agg backend, labels drawn as
plain text, PNG bytes without a software stamp.

Labels carry text from sheets and config (site names, FASTA ids, species names); matplotlib would
read ``$...$`` in them as maths and fail on ``$\\foo$`` after the model fits. Here it never does.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend with maths parsing of text switched off."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | Path, dpi: int = 110, **savefig: Any) -> None:
    """Write ``fig`` as a PNG file (parents created) and close it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, metadata={"Software": None}, **savefig)
    pyplot().close(fig)


def png_bytes(fig: Any, dpi: int = 110, **savefig: Any) -> bytes:
    """``fig`` as PNG bytes (closed afterwards)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, **savefig)
    pyplot().close(fig)
    return buffer.getvalue()
