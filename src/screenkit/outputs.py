"""Writing a command's outputs: all of them or none, never over an input, the same bytes
on every rerun.

* :func:`plan_outputs` checks every output (through :func:`screenkit.files.check_target`,
  the one home of the output rules) against every input (the log, ``--columns``,
  ``--protocol``, ``--sites``), against each other (two options naming one file), the folder
  (missing or read-only) and, without ``--force``, existing files, before anything is read
  or written.
* :func:`write_all` writes every output to a temporary file beside its target and renames
  them into place only when all of them were written: a failing ``-o`` leaves no ``--json``
  behind (and the old files untouched).
* :func:`json_text` never writes ``NaN`` / ``Infinity`` (not JSON): such values become
  ``null``.
* :func:`fix_xlsx` makes a workbook byte-identical across reruns: openpyxl stamps the
  time of writing into ``docProps/core.xml`` and into every zip entry; both are set to
  ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) or, without it, to
  1980-01-01 00:00 UTC (the earliest time a zip entry can hold); :func:`fix_html` does
  the same for the HTML report (Plotly's random chart ids).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from screenkit.errors import InputError
from screenkit.files import check_target

__all__ = ["fix_html", "fix_xlsx", "json_text", "plan_outputs", "write_all"]


def plan_outputs(
    outputs: Mapping[str, Path | None], inputs: Iterable[Path | None], *, force: bool
) -> dict[str, Path]:
    """``{option: path}`` of the outputs given, each checked; an :class:`InputError`
    naming the option and file otherwise (also with ``force``: ``--force`` replaces an
    old output, never an input)."""
    given = {opt: Path(p) for opt, p in outputs.items() if p is not None}
    ins = [Path(p) for p in inputs if p is not None]
    seen: dict[Path, str] = {}
    for option, out in given.items():
        check_target(out, overwrite=force, inputs=ins, option=option)
        key = _resolve(out)
        if key in seen:
            raise InputError(
                "Two outputs have the same path",
                option=f"{seen[key]} and {option}",
                file=out,
                hint="give each output its own file name",
            )
        seen[key] = option
        if not out.parent.is_dir():
            raise InputError("Output folder is not a folder", option=option, file=out.parent)
        if not os.access(out.parent, os.W_OK | os.X_OK):
            raise InputError("Output folder is not writable", option=option, file=out.parent)
    return given


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # pragma: no cover - an unresolvable path is compared as given
        return path.absolute()


def write_all(writers: Iterable[tuple[Path, Callable[[Path], None]]]) -> list[Path]:
    """Call each ``write(tmp)`` on a temporary file beside its target (same suffix), and
    rename all into place only when every one succeeded; on any failure every temporary
    file is removed and no target is touched. An operating-system failure (disk full,
    folder not writable) is an :class:`InputError` naming the file."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in writers:
            target = Path(target)
            try:
                fd, name = tempfile.mkstemp(
                    prefix=f".{target.stem}.", suffix=f".partial{target.suffix}", dir=target.parent
                )
                os.close(fd)
                staged.append((Path(name), target))
                write(Path(name))
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(name, 0o666 & ~umask)  # mkstemp makes it private
            except OSError as err:
                raise InputError(
                    "Cannot write the output file", file=target, value=err.strerror or str(err)
                ) from err
        _replace_all(staged)
    finally:
        for tmp, _target in staged:
            tmp.unlink(missing_ok=True)
    return [target for _tmp, target in staged]


def _replace_all(staged: list[tuple[Path, Path]]) -> None:
    """Rename every staged file onto its target, or none: each existing target is first kept
    as a hard link beside it, so a rename failing midway (the disk, a permission, a file
    locked by Excel) puts back the targets already replaced and removes the ones that did not
    exist before."""
    backups: dict[Path, Path | None] = {}
    done: list[Path] = []
    try:
        for tmp, target in staged:
            backups[target] = None
            if target.exists():
                keep = target.with_name(f".{target.name}.{os.getpid()}.previous")
                keep.unlink(missing_ok=True)
                try:
                    os.link(target, keep)
                except OSError:  # a file system without hard links
                    shutil.copy2(target, keep)
                backups[target] = keep
            os.replace(tmp, target)
            done.append(target)
    except OSError as err:
        for written in done:
            keep = backups[written]
            if keep is None:
                written.unlink(missing_ok=True)
            else:
                os.replace(keep, written)
                backups[written] = None
        raise InputError(
            "Cannot write the output file (no output was changed"
            + (": the ones already replaced were put back)" if done else ")"),
            file=target,
            value=err.strerror or str(err),
        ) from err
    finally:
        for keep in backups.values():
            if keep is not None:
                keep.unlink(missing_ok=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_text(payload: Any) -> str:
    """``payload`` as indented JSON; NaN and infinities become ``null``.

    >>> print(json_text({"a": float("nan"), "b": [1.5, float("inf")]}))
    {
      "a": null,
      "b": [
        1.5,
        null
      ]
    }
    """
    return json.dumps(_finite(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def report_time() -> datetime:
    """The time a report states it was made: now (UTC), or ``SOURCE_DATE_EPOCH`` when set.

    The reproducible-builds convention lets a rerun (a test, a CI job, an archived
    deliverable) state the same time twice instead of depending on the clock's minute.

    >>> import os
    >>> os.environ["SOURCE_DATE_EPOCH"] = "1767225600"
    >>> report_time().isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    seconds = _source_date_epoch()
    return datetime.now(UTC) if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def _source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` in seconds, or None when it is unset or not a whole number."""
    stamp = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(stamp) if stamp.isdigit() else None


def _epoch() -> datetime:
    """The time stamped into a workbook's zip: ``SOURCE_DATE_EPOCH``, never before
    1980-01-01T00:00:00Z (the earliest a zip entry holds), and that date without it."""
    seconds = _source_date_epoch() or 315532800
    return datetime.fromtimestamp(max(seconds, 315532800), tz=UTC)


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def fix_xlsx(path: Path) -> None:
    """Rewrite the workbook at ``path`` with fixed timestamps (see the module docstring)."""
    when = _epoch()
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = _STAMP.sub(rb"\g<1>" + iso + rb"\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            zout.writestr(fixed, data)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def fix_html(path: Path) -> None:
    """Make an HTML report byte-identical across reruns: Plotly names each chart's
    ``<div>`` with a random UUID; each distinct one is replaced by a numbered id in order
    of appearance (``00000000-0000-4000-8000-000000000001``, ...)."""
    text = path.read_text(encoding="utf-8")
    names: dict[str, str] = {}

    def number(match: re.Match) -> str:
        return names.setdefault(match[0], f"00000000-0000-4000-8000-{len(names) + 1:012d}")

    path.write_text(_UUID.sub(number, text), encoding="utf-8")
