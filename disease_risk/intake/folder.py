"""The drop folder (config key ``samples_dir``): which files are sample sheets, and why the rest
are not read.

Every file below the folder is either a sheet to read or a :class:`NotRead` entry with its
reason. Entries that may hold samples (a ``.txt`` export, a file in a sub-folder, a hidden file,
a lock file, any other type) are *listed*: they appear in ``rejected_rows.tsv`` and
``intake_summary.tsv`` and stop a ``strict`` run. Documentation (``README*``, ``*.md``) is only
noted in the log and by ``disease-risk check``. Nothing in the folder is ever written to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from disease_risk.intake.formats import SHEET_SUFFIXES, UNSUPPORTED_SUFFIXES, SheetError

_KEEP_OUT = "otherwise move it out of the samples folder"
_MAX_COUNTED_BYTES = 50_000_000


@dataclass(frozen=True)
class NotRead:
    """A file or worksheet the intake did not read, and why.

    ``where``: the path (``file.xlsx#Sheet`` for a worksheet); ``rows``: its non-empty rows or
    lines (0 when unknown, e.g. a binary file); ``listed``: it may hold samples, so it goes into
    the QC tables and fails a strict run (False: a note only, e.g. an empty worksheet);
    ``kind``: file, worksheet or folder.
    """

    where: str
    reason: str
    rows: int = 0
    listed: bool = True
    kind: str = "file"

    def as_param(self) -> list:
        """Plain data for a Snakemake ``params`` entry (a change there reruns the intake)."""
        return [self.where, self.reason, self.rows, self.listed, self.kind]

    @classmethod
    def from_param(cls, value: list | tuple | NotRead) -> NotRead:
        return value if isinstance(value, NotRead) else cls(*value)


@dataclass
class DropFolder:
    """Sheets to read (sorted) and every other file with its reason."""

    sheets: list[Path] = field(default_factory=list)
    not_read: list[NotRead] = field(default_factory=list)

    def params(self) -> dict[str, object]:
        """What the intake rule needs beyond its tracked inputs, as plain data.

        ``untracked_sheets``: sheets whose names Snakemake cannot take as inputs (braces), with
        size and modification time so that editing one reruns the intake; ``not_read``: the
        :class:`NotRead` entries.
        """
        untracked = {str(p): _stamp(p) for p in self.sheets if not snakemake_can_name(p)}
        return {"untracked_sheets": untracked,
                "not_read": [n.as_param() for n in self.not_read]}


def snakemake_can_name(path: str | Path) -> bool:
    """False for a path with ``{`` or ``}``: Snakemake reads those as wildcards in an input."""
    return not {"{", "}"} & set(str(path))


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size} bytes, mtime {stat.st_mtime_ns}"


def is_documentation(name: str) -> bool:
    """README files and Markdown: notes for people, never samples."""
    return name.casefold().startswith("readme") or name.casefold().endswith(".md")


def count_rows(path: Path) -> int:
    """Non-empty lines of a text file (0 for binary or very large files): the rows it may hold."""
    try:
        if path.stat().st_size > _MAX_COUNTED_BYTES:
            return 0
        data = path.read_bytes()
    except OSError:
        return 0
    if b"\0" in data[:8192]:
        return 0
    return sum(1 for line in data.decode("utf-8", "replace").splitlines() if line.strip())


def _file_reason(path: Path) -> tuple[str, bool]:
    """Why a file directly in the folder is not a sheet, and whether it is listed."""
    name, suffix = path.name, path.suffix.lower()
    if is_documentation(name):
        return "documentation (README or Markdown), not a sample sheet; not read", False
    if name.startswith(("~$", ".~lock.")):
        return ("not read: lock file: a workbook in this folder is open in Excel or LibreOffice, "
                "and changes not yet saved there are not read; save and close the workbook (the "
                "lock file then goes away)"), True
    if name.startswith("."):
        return ("not read: hidden file (its name starts with '.'); if it holds samples, save it "
                f"as a .csv, .tsv or .xlsx whose name does not start with '.', {_KEEP_OUT}"), True
    if suffix == ".txt":
        return ("not read: .txt is not a sample-sheet type; if it is a tab-separated export, "
                f"rename it to .tsv (comma-separated: .csv), {_KEEP_OUT}"), True
    kind = f"{suffix!r} files are" if suffix else "files without an extension are"
    return (f"not read: {kind} not sample sheets (only .csv, .tsv and .xlsx are read); if it "
            f"holds samples, save it as one of those, {_KEEP_OUT}"), True


def _sub_folder(folder: Path, sub: Path) -> list[NotRead]:
    """Every file below a sub-folder (a hidden sub-folder as one entry)."""
    files = sorted(p for p in sub.rglob("*") if p.is_file())
    if sub.name.startswith("."):
        if not files:
            return []
        return [NotRead(str(sub), f"not read: hidden folder ({len(files)} file(s)); {_KEEP_OUT}",
                        kind="folder")]
    relative = sub.relative_to(folder)
    return [
        NotRead(str(p), f"not read: it is in the sub-folder '{relative}', and only files directly "
                        "in the samples folder are read; move it up into the samples folder if "
                        f"it holds samples, {_KEEP_OUT}", count_rows(p))
        for p in files if not is_documentation(p.name)
    ] + [
        NotRead(str(p), "documentation (README or Markdown) in a sub-folder; not read", 0, False)
        for p in files if is_documentation(p.name)
    ]


def scan_drop_folder(folder: str | Path) -> DropFolder:
    """Split the drop folder into sheets (sorted) and :class:`NotRead` entries (sorted).

    Spreadsheets the intake cannot read (.xls, .ods ...) count as sheets, so that the intake
    fails naming them instead of ignoring them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SheetError(
            f"samples_dir {str(folder)!r} is not a folder; create it or point the config key "
            "samples_dir at the folder holding the sample sheets"
        )
    found = DropFolder()
    for path in sorted(folder.iterdir()):
        if path.is_dir() and path.is_symlink():
            found.not_read.append(NotRead(str(path), "not read: a link to a folder; only files "
                                          f"directly in the samples folder are read; {_KEEP_OUT}",
                                          kind="folder"))
        elif path.is_dir():
            found.not_read += _sub_folder(folder, path)
        elif path.suffix.lower() in SHEET_SUFFIXES + UNSUPPORTED_SUFFIXES and not \
                path.name.startswith(("~$", ".")) and path.is_file():
            found.sheets.append(path)
        elif path.is_file() or os.path.islink(path):
            reason, listed = _file_reason(path)
            found.not_read.append(NotRead(str(path), reason, count_rows(path) if listed else 0,
                                          listed))
    found.not_read.sort(key=lambda n: n.where)
    return found
