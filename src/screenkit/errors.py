"""Errors screenkit raises for bad input, and the one way they are worded.

Every error a user can cause is a :class:`ScreenkitError`. The command line turns
these into exit status 2 and a plain message (no traceback); anything else is an
internal error (exit status 1).

Messages put the rule first, then the evidence, then the fix, as in::

    >>> err = InputError(
    ...     "Value not understood as yes/no",
    ...     file="log.xlsx", sheet="Screening", row=7, column="HIV Ab", value="maybe",
    ...     expected="Y/N, Yes/No, True/False, 1/0, 是/否",
    ... )
    >>> print(err)
    Value not understood as yes/no
      - file: log.xlsx
      - sheet: Screening
      - row: 7
      - column: HIV Ab
      - value: 'maybe'
      - accepted: Y/N, Yes/No, True/False, 1/0, 是/否
"""

from __future__ import annotations

from typing import Any

__all__ = ["InputError", "ProtocolError", "ScreenkitError"]


class ScreenkitError(Exception):
    """Base class of every error caused by the user's input (files, options, protocols)."""

    def __init__(self, message: str, *, hint: str | None = None, **evidence: Any) -> None:
        self.message = message
        self.hint = hint
        self.evidence = {k: v for k, v in evidence.items() if v is not None}
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [self.message]
        for key, value in self.evidence.items():
            label = "accepted" if key == "expected" else key.replace("_", " ")
            shown = repr(value) if key == "value" else value
            lines.append(f"  - {label}: {shown}")
        if self.hint:
            lines.append(f"  Fix: {self.hint}")
        return "\n".join(lines)


class InputError(ScreenkitError):
    """A screening file, sheet, row, column or cell that cannot be used as given.

    Keyword evidence (all optional, shown in this order when given): ``file``, ``sheet``,
    ``row`` (the row number as the spreadsheet shows it), ``column`` (the header as the
    file spells it), ``value``, ``expected`` (what would be accepted).
    """

    def __init__(
        self,
        message: str,
        *,
        file: Any = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        expected: str | None = None,
        hint: str | None = None,
        **more: Any,
    ) -> None:
        super().__init__(
            message,
            hint=hint,
            file=None if file is None else str(file),
            sheet=sheet,
            row=row,
            column=column,
            value=value,
            expected=expected,
            **more,
        )
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        self.value, self.expected = value, expected


class ProtocolError(ScreenkitError):
    """A protocol file or rule expression that screenkit cannot use.

    Evidence usually names the ``protocol`` (file or registry id), the ``criterion`` and
    the ``rule`` text.
    """
