"""Draft a protocol from a registry record's eligibility text: :func:`draft_protocol`.

Regular expressions, the canonical column aliases and pint (for units) turn the text into
a protocol in the shipped format: every numeric threshold a criterion with a named
parameter, every other sentence a yes/no criterion, each quoting its ``source_text``
verbatim and carrying a ``confidence`` and what ``needs_review``. Nothing is invented:
a name with no canonical column gets a new column, marked for review.

>>> draft = draft_protocol("Inclusion Criteria: 1. Hemoglobin ≥ 90 g/L. "
...                        "Exclusion Criteria: 1. QTcF > 470 ms (female).")
>>> [(c["id"], c["column"], c["op"], c["value"], c["unit"]) for c in draft.to_json()["criteria"]]
[('I1', 'hb', '>=', 9, 'g/dL'), ('E1', 'qtcf_ms', '>', 470, 'ms')]
>>> draft.criteria[1].applies
'sex == "F"'
"""

from __future__ import annotations

from screenkit.draft.model import Draft, draft_protocol

__all__ = ["Draft", "draft_protocol"]
