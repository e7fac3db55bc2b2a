"""Writing files safely: never over the input, never half-written, text never a formula.

Shared by the command line (CSV, JSON) and the exports (workbook, HTML, SDTM IE).

>>> safe_text("=HYPERLINK(\\"http://x\\",\\"y\\")")[:2]
"'="
>>> safe_text("S01"), safe_text(7)
('S01', 7)
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from screenkit.errors import InputError

__all__ = ["FORMULA_START", "atomic_write", "check_target", "clean_text", "safe_text"]

#: Text starting with one of these is a formula (or a formula-like DDE payload) in Excel,
#: LibreOffice or Google Sheets when typed, pasted or read from a CSV.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
MAX_CELL_TEXT = 32767  # Excel's limit


def clean_text(value: str) -> str:
    """Replace control characters an .xlsx cannot hold; cut at Excel's 32,767 characters.

    >>> clean_text("a\\x07b")
    'a\ufffdb'
    """
    text = _ILLEGAL.sub("\ufffd", value)
    return text[:MAX_CELL_TEXT]


def safe_text(value: Any) -> Any:
    """For CSV output: text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def input_paths(*sources: Any) -> list[Path]:
    """Files an export must never overwrite: the data file behind ``data`` / ``evaluation``."""
    paths = []
    for source in sources:
        for obj in (source, getattr(source, "source", None)):
            for attr in ("source", "file"):
                value = getattr(getattr(obj, "report", obj), attr, None)
                if isinstance(value, str | os.PathLike):
                    paths.append(Path(value))
    return paths


def check_target(
    path: str | os.PathLike,
    *,
    overwrite: bool,
    inputs: Iterable[Path] = (),
    option: str | None = None,
) -> Path:
    """The output path, or an :class:`InputError` naming it: equal to an input (also with
    ``overwrite``), missing folder, a folder, or (without ``overwrite``) an existing file.
    ``option`` (``"--json"``) names the command-line option in the error."""
    out = Path(path)
    for given in inputs:
        try:
            same = out.resolve() == Path(given).resolve()
        except OSError:  # pragma: no cover - unresolvable paths are not the same file
            same = False
        if same:
            raise InputError(
                "Output path is the input file: screenkit never overwrites its input "
                "(not even with --force)",
                option=option,
                file=out,
                hint="choose another output name",
            )
    if not out.parent.exists():
        raise InputError("Output folder does not exist", option=option, file=out.parent)
    if out.is_dir():
        raise InputError(
            "Output path is a folder", option=option, file=out, hint="give a file name"
        )
    if out.exists() and not overwrite:
        raise InputError(
            "Output file exists",
            option=option,
            file=out,
            hint="pass --force to replace it, or choose another name"
            if option
            else "pass overwrite=True (--force on the command line) or choose another name",
        )
    return out


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    If ``write`` raises (or the process dies), ``path`` is untouched: either the old file
    or nothing, never a half-written one; the temporary file is removed.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; use the usual mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
