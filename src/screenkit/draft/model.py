"""The :class:`Draft` object: a drafted protocol as data, YAML and JSON.

:func:`draft_protocol` reads the text; :meth:`Draft.to_spec` is the protocol mapping in
the shipped format (``source`` holds the verbatim ``source_text``, ``notes`` the
confidence and what needs review), :meth:`Draft.to_yaml` its text, :meth:`Draft.to_json`
the criteria list of issue 18.

>>> d = draft_protocol("Inclusion Criteria: 1. ECOG 0-1.")
>>> d.to_spec()["criteria"][1]["rule"], d.to_spec()["parameters"]["ecog_max"]["value"]
('ecog <= ecog_max', 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from screenkit.draft.assemble import DraftCriterion, Drafted, assemble
from screenkit.errors import InputError

__all__ = ["Draft", "draft_protocol"]


@dataclass(frozen=True)
class Draft:
    """A drafted protocol: ``criteria`` (drafted, in order), ``parameters``, ``derived``,
    ``unparsed`` sentences, and the record's ``protocol_id`` / ``title``."""

    protocol_id: str
    title: str
    criteria: tuple[DraftCriterion, ...]
    parameters: dict
    derived: dict
    unparsed: tuple[str, ...]

    # ------------------------------------------------------------ views
    def to_spec(self) -> dict:
        """The protocol mapping (shipped format) of this draft."""
        spec: dict = {
            "id": self.protocol_id,
            "title": self.title,
            "version": "draft from the registry record (screenkit protocol draft)",
        }
        if re.fullmatch(r"NCT\d{8}", self.protocol_id):
            spec["registry"] = f"https://clinicaltrials.gov/study/{self.protocol_id}"
        spec["notes"] = (
            "Drafted by `screenkit protocol draft`. Each criterion's source is the record's "
            "own text; its notes say the confidence and what NEEDS REVIEW."
        )
        spec["parameters"] = {name: dict(p) for name, p in self.parameters.items()}
        if self.derived:
            spec["derived"] = {name: dict(d) for name, d in self.derived.items()}
        spec["criteria"] = [_criterion_spec(c) for c in self.criteria]
        return spec

    def to_yaml(self) -> str:
        """The protocol file's text."""
        head = (
            f"# {self.protocol_id}: protocol DRAFTED from the registry record by screenkit.\n"
            "# Review every criterion whose notes say NEEDS REVIEW, then run\n"
            "#   screenkit protocol check THIS_FILE.yaml\n"
        )
        body = yaml.safe_dump(self.to_spec(), sort_keys=False, allow_unicode=True, width=10_000)
        return head + body

    def to_json(self) -> dict:
        """``{"criteria": [{"id", "kind", "column", "op", "value", "unit", "source_text",
        "needs_review", ...}], "unparsed": [...]}``; ``column`` / ``op`` / ``value`` /
        ``unit`` are the first comparison's (``None`` for a yes/no criterion)."""
        rows = []
        for c in self.criteria:
            first = c.comparisons[0] if c.comparisons else None
            rows.append(
                {
                    "id": c.id,
                    "kind": c.kind,
                    "column": first.column if first else c.yes_no_column,
                    "op": first.op if first else None,
                    "value": first.value if first else None,
                    "unit": first.unit if first else None,
                    "source_text": c.source_text,
                    "needs_review": c.needs_review,
                    "confidence": c.confidence,
                    "review": list(c.review),
                    "label": c.label,
                    "rule": c.rule,
                    "applies": c.applies,
                    "parameters": [x.parameter for x in c.comparisons],
                    "comparisons": [
                        {
                            "column": x.column,
                            "op": x.op,
                            "value": x.value,
                            "unit": x.unit,
                            "parameter": x.parameter,
                            "condition": x.condition,
                            "joins": x.joins or None,
                            "new_column": x.new_column,
                        }
                        for x in c.comparisons
                    ],
                }
            )
        return {"protocol": self.protocol_id, "criteria": rows, "unparsed": list(self.unparsed)}


def _criterion_spec(c: DraftCriterion) -> dict:
    out = {"id": c.id, "kind": c.kind, "label": c.label, "rule": c.rule}
    if c.applies:
        out["applies"] = c.applies
    out["source"] = c.source_text
    if c.review:
        out["notes"] = f"NEEDS REVIEW ({c.confidence} confidence): " + "; ".join(c.review)
    else:
        out["notes"] = f"confidence: {c.confidence}"
    return out


def draft_protocol(text: str) -> Draft:
    """Draft a protocol from a registry record's eligibility ``text`` (see the module doc).

    Raises :class:`~screenkit.errors.InputError` when the text holds no criterion at all.
    """
    if not isinstance(text, str):
        raise InputError(
            "draft_protocol needs the record's text as a string",
            value=type(text).__name__,
            expected="str (read the file first, or use `screenkit protocol draft FILE`)",
        )
    drafted: Drafted = assemble(text)
    if not drafted.criteria:
        raise InputError(
            "No eligibility criteria found in the record",
            value=text[:80],
            expected="an 'Inclusion Criteria' / 'Exclusion Criteria' section, or sentences "
            "with numeric thresholds (e.g. 'ANC ≥ 1.5×10^9/L')",
        )
    found = re.search(r"NCT\d{8}", text)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first if len(first) <= 200 else first[:197] + "..."
    return Draft(
        found.group(0) if found else "DRAFT",
        title,
        tuple(drafted.criteria),
        drafted.parameters,
        drafted.derived,
        tuple(drafted.unparsed),
    )
