"""Headers as a screening log spells them -> canonical columns (part of
:mod:`screenkit.normalize`).

A header maps by its exact canonical name, an alias (compared case-, space- and
punctuation-insensitively, full-width forms folded), a unit written beside it
(``Hb (g/L)``, ``PLT [/uL]``, ``Weight lbs``) or a user's column map (a mapping or a
.csv / .json / .yaml file); ``<column> unit`` columns hold per-row units.

>>> match_header("Hb (g/L)")
('hb', 'g/L', 'alias')
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import units
from .columns import COLUMNS
from .errors import InputError
from .load import RawTable, read_table

__all__ = ["header_key", "header_keys", "map_headers", "match_header", "read_user_map"]

_UNIT_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_\-]*(units?|单位)$", re.IGNORECASE)


def header_key(text: str) -> str:
    """Headers compare case-, space- and punctuation-insensitively.

    Full-width forms (``ｈｂ``, ``ＡＬＴ``) are folded first (NFKC), so ``hb`` beside
    ``ｈｂ`` is a duplicate column.

    >>> header_key("Patient_ID"), header_key(" patient id "), header_key("HGB.")
    ('patientid', 'patientid', 'hgb')
    >>> header_key("ＡＬＴ")
    'alt'

    """
    text = str(text)
    if text.isascii():  # NFKC leaves ASCII alone, casefold is lower: one C-level pass
        return text.lower().translate(_ASCII_NOT_WORD)
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def header_keys(texts: list[str]) -> list[str]:
    """:func:`header_key` of many texts at once (a column of patient IDs): ASCII texts in
    one C-level pass over their concatenation, others one by one.

    >>> header_keys(["Patient_ID", "S01-0001", "ＡＬＴ"])
    ['patientid', 's010001', 'alt']
    """
    ascii_at = [i for i, t in enumerate(texts) if t.isascii()]
    keys: list[str | None] = [None] * len(texts)
    joined = _KEY_SEP.join(texts[i] for i in ascii_at)
    if joined.count(_KEY_SEP) == len(ascii_at) - 1:  # no text holds the separator
        split = joined.lower().translate(_ASCII_KEEP_SEP).split(_KEY_SEP)
        for i, key in zip(ascii_at, split, strict=True):
            keys[i] = key
    return [header_key(t) if k is None else k for t, k in zip(texts, keys, strict=True)]


_KEY_SEP = "\x1f"  # unit separator: split point of header_keys' concatenation
# ASCII characters that are not letters or digits: what [\W_]+ removes from ASCII text
_ASCII_NOT_WORD = str.maketrans("", "", "".join(c for c in map(chr, range(128)) if not c.isalnum()))
_ASCII_KEEP_SEP = str.maketrans(
    "", "", "".join(c for c in map(chr, range(128)) if not c.isalnum() and c != _KEY_SEP)
)


def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for col in COLUMNS.values():
        for name in (col.name, *col.aliases):
            index.setdefault(header_key(name), col.name)
    return index


_ALIASES = _alias_index()


def match_header(header: str) -> tuple[str | None, str | None, str]:
    """``(canonical, unit, how)`` for a header, ``how`` in {exact, alias, unmapped}.

    >>> match_header("Hb (g/L)"), match_header("PLT [/uL]"), match_header("Weight lbs")
    (('hb', 'g/L', 'alias'), ('plt', '/uL', 'alias'), ('weight_kg', 'lbs', 'alias'))
    """
    text = str(header).strip()

    def lookup(name: str) -> tuple[str | None, str]:
        if name in COLUMNS:
            return name, "exact"
        return _ALIASES.get(header_key(name)), "alias"

    found, how = lookup(text)
    if found:
        return found, None, how
    name, unit = units.split_header_unit(text)
    if unit is not None:
        found, how = lookup(name)
        if found:
            return found, unit or None, how
    parts = re.split(r"[\s,;]+", text)
    if len(parts) > 1 and not _UNIT_SUFFIX.match(parts[-1]):
        found, how = lookup(" ".join(parts[:-1]))
        if found and COLUMNS[found].unit and units.is_unit(parts[-1]):
            return found, parts[-1], how
    return None, None, "unmapped"


def read_user_map(columns: Any) -> dict[str, str | None]:
    if columns is None:
        return {}
    if isinstance(columns, Mapping):
        return {str(k): v for k, v in columns.items()}
    path = Path(columns)
    if not path.exists():
        raise InputError("Column map file not found", file=path)
    if path.is_dir():
        raise InputError("Column map is a folder, not a file", file=path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        loaded = _read_json_map(path)
    elif suffix in (".yaml", ".yml"):
        from screenkit.yamlsafe import read_yaml

        loaded = read_yaml(path, what="Column map")
    elif suffix == ".csv":
        raw = read_table(path, is_header=lambda cells: True)
        pairs = [tuple(raw.headers[:2])] + [tuple(r[:2]) for r in raw.frame.itertuples(False)]
        loaded = {
            str(k): v for k, v in pairs if [header_key(k), header_key(v)] != ["header", "canonical"]
        }
    else:
        raise InputError("Column map must be .csv, .json or .yaml", file=path, value=suffix)
    if not isinstance(loaded, Mapping):
        raise InputError("Column map must map headers to canonical names", file=path)
    return {str(k): v for k, v in loaded.items()}


def _read_json_map(path: Path) -> Any:
    """A JSON column map, or an :class:`InputError` naming the file and the place."""
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise InputError("Column map is not UTF-8 text", file=path, byte_offset=err.start) from None
    except json.JSONDecodeError as err:
        raise InputError(
            "Column map is not valid JSON",
            file=path,
            line=err.lineno,
            detail=f"{err.msg} at column {err.colno}",
        ) from None
    except (ValueError, RecursionError) as err:
        raise InputError(
            "Column map holds a value that cannot be read", file=path, detail=str(err)
        ) from None


def _user_target(header: str, target: Any, source: Any) -> tuple[str | None, str | None]:
    if target is None or (isinstance(target, str) and not target.strip()):
        return None, None
    name, unit = units.split_header_unit(str(target))
    if name not in COLUMNS:
        import difflib

        close = difflib.get_close_matches(name, list(COLUMNS), n=5)
        raise InputError(
            "Column map names an unknown canonical column",
            file=source,
            column=header,
            value=str(target),
            expected=", ".join(close) if close else "a name from screenkit.COLUMNS",
        )
    return name, unit


def map_headers(raw: RawTable, user: dict[str, Any], file: Any) -> pd.DataFrame:
    """One row per file column: header, canonical, unit, how, unit_of (for unit columns)."""
    by_key = {header_key(k): (k, v) for k, v in user.items()}
    rows = []
    for pos, header in enumerate(raw.headers):
        canonical, unit, how = None, None, "unmapped"
        if header in user or header_key(header) in by_key:
            target = user[header] if header in user else by_key[header_key(header)][1]
            canonical, unit = _user_target(header, target, file)
            how = "user map" if canonical else "unmapped"
            if canonical and unit is None:
                _, unit = units.split_header_unit(header)
                unit = unit if unit and COLUMNS[canonical].unit and units.is_unit(unit) else None
        else:
            canonical, unit, how = match_header(header)
        rows.append(
            {"pos": pos, "header": header, "canonical": canonical, "unit": unit, "how": how}
        )
    # unit columns: "<column> unit" or a bare "unit" right after a column with a unit
    for row in rows:
        if row["how"] != "unmapped":
            continue
        m = _UNIT_SUFFIX.match(row["header"])
        if not m:
            continue
        prefix = m["name"].strip()
        target = match_header(prefix)[0] if prefix else None
        if target is None and not prefix and row["pos"] > 0:
            target = rows[row["pos"] - 1]["canonical"]
        if target and COLUMNS[target].unit:
            owners = [r for r in rows if r["canonical"] == target and r["how"] != "unit column"]
            if owners:
                row.update(canonical=target, how="unit column")
    seen: dict[str, str] = {}
    for row in rows:
        if row["canonical"] is None or row["how"] == "unit column":
            continue
        if row["canonical"] in seen:
            raise InputError(
                f"Two headers map to the same column {row['canonical']!r}",
                file=file,
                sheet=raw.sheet,
                column=f"{seen[row['canonical']]!r} and {row['header']!r}",
                hint="map one of them elsewhere with columns={header: name or None}",
            )
        seen[row["canonical"]] = row["header"]
        if row["unit"] is not None:
            units.conversion_factor(row["canonical"], row["unit"], header=row["header"])
    return pd.DataFrame(rows, dtype=object)


def _header_score(cells) -> int:
    """How many cells of a row name distinct canonical columns (a header row scores high)."""
    return len({match_header(c)[0] for c in cells if isinstance(c, str)} - {None})


def _is_header(cells) -> bool:
    return _header_score(cells) >= 1 and sum(c is not None for c in cells) >= 2
