"""Reading cell values by column kind: numbers, yes/no, ordinals, categories, dates, text.

Each distinct cell value is parsed once (so a column costs one parse per distinct value)
into ``(value, kind, detail, censor)``; ``kind`` is None for a literal read, else one of
``parsed`` (text read with a rule, e.g. ``1.2 H``, ``1,234``, an Excel serial date),
``censored``, ``not done`` or ``unparsed`` (the cell becomes missing; a problem).

Decisions (documented here and in the load report):

- Not done -> missing (a blank text cell too): ``ND``, ``N/A``, ``NA``, ``pending``, ``-``,
  ``--``, ``not done``, ``unknown``, ``未做``, ``未查``, ``不详``, ``未知`` (any case)
  and blank cells.
  ``-`` is "not done" everywhere, also for yes/no and urine protein (never "negative").
- Yes/no: Y/N, Yes/No, True/False, T/F, 1/0, ``1.0``/``0.0`` (what pandas writes for a
  yes/no column with blanks), 是/否, 有/无, and for findings positive/negative, pos/neg,
  阳性/阴性 (any case); Excel TRUE/FALSE and 1/0 cells. ``+`` and anything else is
  unparsed, never a silent False.
- HER2 IHC: the score (0, 1+, 2+, 3+) in its usual wrappings (``IHC 3+``, ``3+ (IHC)``,
  ``HER2 2+``, ``+++``), and an overall status: positive / ``HER2+`` / 阳性 -> 3+,
  negative / ``HER2-`` / 阴性 -> 0 (see ``COLUMNS["her2_ihc"].doc``).
- Ordinal grades written as numbers (``0.0``, ``2``): their scale position (urine
  protein 0 = ``neg``); a number off the scale is unparsed.
- Steroid dose and days: ``none`` / ``no`` / 无 / 否 -> 0; steroid agent ``none`` / ``no``
  / ``0`` / 无 -> ``none`` (no steroid, factor 0).
- Numbers: ``1,234`` (comma thousands groups) -> 1234; ``1,5`` and ``0,512`` (decimal
  comma) are unparsed because they are ambiguous; infinite values (``inf`` cells, 400
  digits) are unparsed; a trailing flag ``H``/``L``/``*``/``↑``/``↓`` is dropped;
  ``<x``, ``<=x``, ``≤x`` keep x censored ``<``, and ``>``, ``>=``, ``≥`` likewise ``>``.
- Dates: date/datetime cells; Excel serial numbers (origin 1899-12-30; serials 1-59 one
  day later, as Excel counts a 1900-02-29, and serial 60, that day, unparsed); dates
  outside 1900-01-01 to 2262-04-11 (serial 2958465, YYMMDD text ``250812`` read as a
  serial) are unparsed as implausible;
  ISO ``YYYY-MM-DD`` (optionally with a time), ``YYYY/MM/DD``, ``YYYY.MM.DD``,
  ``YYYY年M月D日``, ``DD-Mon-YYYY`` / ``DD Mon YYYY``; ``a/b/YYYY`` (also ``-`` or ``.``)
  is day first (DD/MM/YYYY) unless some value of the same column is only valid as
  month first (b > 12) and none only as day first; every value where both readings are
  possible (and differ) is listed as ``parsed`` with the reading chosen.
- Excel error cells (``#N/A``, ``#DIV/0!`` ...) and formulas without a cached value
  are unparsed in every column (see :class:`CellError`); no formula is evaluated.
- Sex: M/F, Male/Female, 1/2 (1 = male, 2 = female), 男/女; ``U`` / unknown -> missing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, NamedTuple

import pandas as pd

from .columns import Column

__all__ = ["NOT_DONE", "Parsed", "parse_cell"]  # parse_series: see __getattr__

NOT_DONE = frozenset(
    {"nd", "n/a", "na", "n.a.", "pending", "-", "--", "—", "not done", "unknown", "unk"}
    | {"未做", "未查", "不详", "未知", "待定", "待查"}
)
_TRUE = frozenset({"y", "yes", "true", "t", "1", "是", "有", "positive", "pos", "阳性"})
_FALSE = frozenset({"n", "no", "false", "f", "0", "否", "无", "negative", "neg", "阴性"})
_YES_NO = "Y/N, Yes/No, True/False, 1/0, 是/否, 有/无, pos/neg, positive/negative, 阳性/阴性"
_SEX = {"m": "M", "male": "M", "1": "M", "男": "M", "f": "F", "female": "F", "2": "F", "女": "F"}
_SEX_MISSING = frozenset({"u", "unk"})
_STEROIDS = {
    "泼尼松": "prednisone",
    "强的松": "prednisone",
    "泼尼松龙": "prednisolone",
    "甲泼尼龙": "methylprednisolone",
    "甲强龙": "methylprednisolone",
    "medrol": "methylprednisolone",
    "solu-medrol": "methylprednisolone",
    "氢化可的松": "hydrocortisone",
    "cortisol": "hydrocortisone",
    "地塞米松": "dexamethasone",
    "decadron": "dexamethasone",
    "倍他米松": "betamethasone",
}
_NO_STEROID = frozenset({"none", "no", "无", "否", "0", "nil", "no steroid", "n"})
_ZERO_WORDS = frozenset({"none", "no", "无", "否", "nil"})
_HER2_POSITIVE = frozenset({"positive", "pos", "her2+", "her2positive", "阳性", "her2阳性", "+ve"})
_HER2_NEGATIVE = frozenset({"negative", "neg", "her2-", "her2negative", "阴性", "her2阴性", "-ve"})
_HER2_WRAPPING = re.compile(r"her-?2|ihc|score|[():：,/]")
_HER2_ISH = re.compile(
    r"^2\+?(?:fish|ish|sish|cish|ddish)(?P<ish>\+|-|pos|neg|positive|negative|阳性|阴性)$"
)
_ORDINAL_WORDS = {
    "negative": "neg",
    "阴性": "neg",
    "tr": "trace",
    "±": "trace",
    "+-": "trace",
    "+/-": "trace",
    "微量": "trace",
    "+": "1+",
    "++": "2+",
    "+++": "3+",
    "++++": "4+",
}
_NUMBER = re.compile(
    r"^(?P<op><=|>=|<|>|≤|≥|=)?\s*(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+)"
    r"\s*(?P<flag>[HL*↑↓]|high|low)?$",
    re.IGNORECASE,
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ISO = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_CJK_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_MON = re.compile(r"^(\d{1,2})[-\s]([A-Za-z]{3})[A-Za-z]*\.?[-\s,]*(\d{4})$")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


class CellError:
    """A workbook cell with no usable value: an Excel error (``#N/A``, ``#DIV/0!``) or a
    formula never calculated (no cached value). ``str(cell)`` is what the cell shows; every
    column kind reads it as unparsed (missing, in the load report), never as blank.

    Not a ``str``: it never equals the same text typed into a cell, so a column holding
    both reads each by its own rule (hash tables keep them apart).

    >>> CellError("#N/A", "Excel error cell") == "#N/A", str(CellError("#N/A", ""))
    (False, '#N/A')
    """

    __slots__ = ("detail", "text")

    def __init__(self, text: str, detail: str) -> None:
        self.text = str(text)
        self.detail = detail

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"CellError({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellError) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("CellError", self.text))

    def __len__(self) -> int:
        return len(self.text)


class Parsed(NamedTuple):
    value: Any
    kind: str | None = None
    detail: str = ""
    censor: str | None = None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _not_done(value: Any) -> Parsed | None:
    if isinstance(value, str) and value.strip().casefold() in NOT_DONE:
        return Parsed(None, "not done", "not done / not available: read as missing")
    return None


def parse_number(value: Any, zero_words: bool = False) -> Parsed:
    """``1.2 H`` -> 1.2; ``<0.5`` -> 0.5 censored ``<``; ``1,234`` -> 1234.

    ``zero_words``: ``none`` / ``no`` / 无 read as 0 (a steroid dose).

    >>> parse_number("<0.5")
    Parsed(value=0.5, kind='censored', detail='censored: kept the bound 0.5 (<)', censor='<')
    >>> parse_number("none", zero_words=True).value
    0.0
    """
    if zero_words and isinstance(value, str) and value.strip().casefold() in _ZERO_WORDS:
        return Parsed(0.0, "parsed", f"{value.strip()!r}: none, read as 0")
    if isinstance(value, bool):
        return Parsed(None, "unparsed", "a TRUE/FALSE cell is not a number")
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e308 else math.inf
        if not math.isfinite(number):
            return Parsed(None, "unparsed", "not a finite number (infinite or NaN cell)")
        return Parsed(number)
    if not isinstance(value, str):
        return Parsed(None, "unparsed", f"a {type(value).__name__} cell is not a number")
    text = value.strip().replace("＜", "<").replace("＞", ">").replace("，", ",")
    match = _NUMBER.match(text)
    if not match:
        hint = "decimal comma? write 1.5" if re.fullmatch(r"\d+,\d{1,2}", text) else "a number"
        return Parsed(None, "unparsed", f"not a number (expected {hint})")
    if re.fullmatch(r"[+-]?0,\d{3}(?:\.\d*)?", match["num"]):
        # 0,512 is a decimal comma (0.512), never 512 thousands-grouped: ambiguous, unread
        return Parsed(None, "unparsed", "decimal comma? 0,512 is ambiguous: write 0.512")
    number = float(match["num"].replace(",", ""))
    if not math.isfinite(number):
        return Parsed(None, "unparsed", "not a finite number (too many digits)")
    op = {"<=": "<", "≤": "<", ">=": ">", "≥": ">"}.get(match["op"] or "", match["op"])
    if op in ("<", ">"):
        return Parsed(number, "censored", f"censored: kept the bound {number:g} ({op})", op)
    if text != match["num"] or "," in text:
        return Parsed(number, "parsed", f"read as {number:g}")
    return Parsed(number)


def parse_bool(value: Any) -> Parsed:
    """Yes/no; anything not listed is unparsed.

    >>> parse_bool("是").value, parse_bool("maybe").kind
    (True, 'unparsed')
    """
    if isinstance(value, bool):
        return Parsed(value)
    if isinstance(value, int | float) and value in (0, 1):
        return Parsed(bool(value))
    key = _text(value).casefold()
    if re.fullmatch(r"[01](?:\.0+)?", key):
        return Parsed(
            key.startswith("1"), None if key in {"0", "1"} else "parsed", f"{key} = yes/no"
        )
    if key in _TRUE:
        return Parsed(True, None if key in {"y", "yes", "true", "1", "是"} else "parsed", "yes")
    if key in _FALSE:
        return Parsed(False, None if key in {"n", "no", "false", "0", "否"} else "parsed", "no")
    return Parsed(None, "unparsed", f"not yes/no (accepted: {_YES_NO})")


def parse_ordinal(value: Any, column: Column) -> Parsed:
    """A position on ``column.scale``: urine protein ``trace`` -> 0.5, HER2 ``2`` -> 2.0."""
    scale = column.scale
    if isinstance(value, int | float) and not isinstance(value, bool):
        key = _text(value)
    else:
        key = _text(value).casefold().replace("＋", "+").replace("－", "-").replace(" ", "")
    if column.name == "her2_ihc" and not isinstance(value, int | float):
        her2 = _her2(key, scale)
        if her2 is not None:
            return Parsed(her2[0], "parsed" if her2[0] is not None else "unparsed", her2[1])
    key = _ORDINAL_WORDS.get(key, key)
    if key not in scale and re.fullmatch(r"\d+(?:\.0+)?", key):
        # a grade written as a number (``0.0`` from a float column): its scale position
        by_value = {v: k for k, v in scale.items()}
        if float(key) in by_value:
            label = by_value[float(key)]
            return Parsed(float(key), "parsed", f"read as {label}")
    if key in scale:
        return Parsed(float(scale[key]), None if key == _text(value) else "parsed", f"= {key}")
    if f"{key}+" in scale:
        return Parsed(float(scale[f"{key}+"]), "parsed", f"read as {key}+")
    return Parsed(None, "unparsed", f"not on the scale ({', '.join(scale)})")


_READ_POSITIVE = (3.0, "HER2 positive: read as 3+ (IHC 3+, or 2+ with ISH+)")
_READ_NEGATIVE = (0.0, "HER2 negative: read as 0 (not positive)")


def _her2(key: str, scale) -> tuple[float | None, str] | None:
    """HER2 spellings beyond the bare score: ``(position on the IHC scale, detail)``."""
    if key in _HER2_POSITIVE:
        return _READ_POSITIVE
    if key in _HER2_NEGATIVE:
        return _READ_NEGATIVE
    bare = _HER2_WRAPPING.sub("", key)
    if m := _HER2_ISH.match(bare):
        positive = m["ish"] in ("+", "pos", "positive", "阳性")
        if positive:
            return 3.0, "IHC 2+ with ISH+: HER2 positive, read as 3+"
        return 0.0, "IHC 2+ with ISH-: HER2 negative, read as 0"
    if bare == "+":
        return (
            None,
            "ambiguous: '+' is 1+ in some reports and positive in others (write 1+ or positive)",
        )
    if bare in ("-", "negative", "neg", "阴性"):
        return _READ_NEGATIVE
    if bare in ("positive", "pos", "阳性"):
        return _READ_POSITIVE
    bare = _ORDINAL_WORDS.get(bare, bare)
    if bare != key and bare in scale:
        return float(scale[bare]), f"read as {bare}"
    if bare != key and f"{bare}+" in scale:
        return float(scale[f"{bare}+"]), f"read as {bare}+"
    return None


def parse_category(value: Any, column: Column) -> Parsed:
    """Sex (M / F) and steroid agents (lower-case canonical names)."""
    key = _text(value).casefold()
    if column.name == "sex":
        if key in _SEX:
            literal = _SEX[key] == _text(value)
            return Parsed(_SEX[key], None if literal else "parsed", f"read as {_SEX[key]}")
        if key in _SEX_MISSING:
            return Parsed(None, "not done", "sex unknown: read as missing")
        return Parsed(None, "unparsed", "not a sex (accepted: M/F, Male/Female, 1/2, 男/女)")
    if column.name == "steroid_agent" and key in _NO_STEROID:
        return Parsed("none", None if key == "none" else "parsed", "no steroid: read as none")
    key = _STEROIDS.get(key, key)
    if not column.categories or key in column.categories:
        return Parsed(key, None if key == _text(value) else "parsed", f"read as {key}")
    return Parsed(None, "unparsed", f"not one of {', '.join(column.categories)}")


#: Dates screenkit can hold (pandas' nanosecond timestamps end on 2262-04-11); a date
#: outside is unparsed ("implausible date"), never a crash.
DATE_MIN, DATE_MAX = pd.Timestamp("1900-01-01"), pd.Timestamp("2262-04-11")
_OUT_OF_RANGE = Parsed(
    None,
    "unparsed",
    "implausible date: outside 1900-01-01 to 2262-04-11 (YYMMDD? write YYYY-MM-DD)",
)


def _date(year: int, month: int, day: int) -> pd.Timestamp | None:
    try:
        stamp = dt.date(year, month, day)
    except ValueError:
        return None
    if not DATE_MIN.date() <= stamp <= DATE_MAX.date():
        return None
    return pd.Timestamp(stamp)


def parse_date(value: Any, day_first: bool = True) -> Parsed:
    """One date cell. ``day_first`` decides ``a/b/YYYY`` when both readings are valid.

    >>> parse_date(45292).value, parse_date("05-Mar-2024").value
    (Timestamp('2024-01-01 00:00:00'), Timestamp('2024-03-05 00:00:00'))
    """
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        day = value.date() if isinstance(value, dt.datetime) else value
        if not DATE_MIN.date() <= day <= DATE_MAX.date():
            return _OUT_OF_RANGE
        return Parsed(pd.Timestamp(value))
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(value, str) and re.fullmatch(r"\d{1,7}(\.\d+)?", value.strip()):
        number = float(value)
    if number is not None:
        if number == number and 1 <= number < 60:
            # Excel counts the fictional 1900-02-29 (serial 60): serials 1-59 start a day later
            stamp = (_EXCEL_EPOCH + pd.Timedelta(days=float(number) + 1)).floor("D")
            return Parsed(stamp, "parsed", f"Excel serial {number:g} = {stamp:%Y-%m-%d}")
        if number == number and 60 <= number < 61:
            return Parsed(None, "unparsed", "Excel serial 60 is 1900-02-29, a day that never was")
        if number == number and 61 <= number <= 2958465:
            if number > (DATE_MAX - _EXCEL_EPOCH).days:
                return _OUT_OF_RANGE
            stamp = (_EXCEL_EPOCH + pd.Timedelta(days=float(number))).floor("D")
            return Parsed(stamp, "parsed", f"Excel serial {number:g} = {stamp:%Y-%m-%d}")
        return Parsed(None, "unparsed", "number out of the Excel date range")
    text = _text(value)
    for pattern in (_ISO, _CJK_DATE):
        if m := pattern.match(text):
            stamp = _date(int(m[1]), int(m[2]), int(m[3]))
            if stamp is not None:
                literal = pattern is _ISO and "-" in text[:8]
                return Parsed(stamp, None if literal else "parsed", f"= {stamp:%Y-%m-%d}")
    if (m := _MON.match(text)) and m[2].casefold() in _MONTHS:
        stamp = _date(int(m[3]), _MONTHS[m[2].casefold()], int(m[1]))
        if stamp is not None:
            return Parsed(stamp, "parsed", f"= {stamp:%Y-%m-%d}")
    if m := _DMY.match(text):
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        dmy, mdy = _date(year, b, a), _date(year, a, b)
        stamp = (dmy or mdy) if day_first else (mdy or dmy)
        if stamp is not None:
            how = "day first" if stamp == dmy else "month first"
            note = "ambiguous day/month, " if dmy and mdy and a != b else ""
            return Parsed(stamp, "parsed", f"{note}read {how} = {stamp:%Y-%m-%d}")
    return Parsed(
        None,
        "unparsed",
        "not a date (accepted: YYYY-MM-DD, DD/MM/YYYY, DD-Mon-YYYY, YYYY/MM/DD, Excel dates)",
    )


def _day_first(values: list[Any]) -> bool:
    only_dmy = only_mdy = False
    for v in values:
        if isinstance(v, str) and (m := _DMY.match(v.strip())):
            a, b = int(m[1]), int(m[2])
            only_dmy |= a > 12 and b <= 12
            only_mdy |= b > 12 and a <= 12
    return not (only_mdy and not only_dmy)


def parse_text(value: Any) -> Parsed:
    if isinstance(value, dt.datetime | dt.date):
        return Parsed(value.isoformat(), "parsed", "date cell read as text")
    text = _text(value)
    return Parsed(text, "parsed" if isinstance(value, float) else None, f"read as {text!r}")


def parse_cell(value: Any, column: Column, day_first: bool = True) -> Parsed:
    """Parse one cell for ``column`` (blank and not-done cells become missing)."""
    if isinstance(value, CellError):
        return Parsed(None, "unparsed", value.detail)
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return Parsed(None)
    if column.kind not in ("id", "text") and (done := _not_done(value)) is not None:
        return done
    if column.kind == "number":
        return parse_number(value, column.zero_words)
    if column.kind == "bool":
        return parse_bool(value)
    if column.kind == "ordinal":
        return parse_ordinal(value, column)
    if column.kind == "category":
        return parse_category(value, column)
    if column.kind == "date":
        return parse_date(value, day_first)
    return parse_text(value)


def __getattr__(name: str) -> Any:
    """Whole columns (one parse per distinct cell) live in :mod:`screenkit.columnparse`,
    which builds on the cell parsers above; found here too, where callers always have
    (resolved on first use, so neither module imports the other at load time)."""
    if name in ("distinct_cells", "parse_series"):
        from . import columnparse

        return getattr(columnparse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
