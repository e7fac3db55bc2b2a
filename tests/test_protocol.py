"""Protocol files: the shipped ones match the agreed reading; every criterion keeps the
contract; bad files give located errors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from screenkit.columns import COLUMNS
from screenkit.errors import ProtocolError
from screenkit.evaluate import evaluate
from screenkit.protocol import get_protocol, list_protocols, load_protocol

from .conftest import canonical_frame, patient

DOMAIN = Path(__file__).resolve().parents[2] / "shared" / "domain" / "imc002-criteria.md"
ALL = [(pid, c.id) for pid in list_protocols() for c in get_protocol(pid).criteria]

NCT_IDS = [
    *"I1 I2a I2b I3a I3b I4 I5a I5b I6".split(),
    *"I7a I7b I7c I7d I7e I7f I7g I7h I7i I7j I7k I7l I7m I10 I11".split(),
    *"E1 E2 E3 E4 E5 E6 E7 E8 E9 E10 E11a E11b E11c E12a E12b E12c E12d".split(),
    *"E13 E14 E15 E16 E17 E18 E19 E20 E21 E22 E23 E24 E25 E26".split(),
]


def test_nct07103668_has_exactly_the_agreed_criteria_in_order():
    protocol = get_protocol("NCT07103668")
    assert protocol.ids == NCT_IDS
    kinds = {c.id: c.kind for c in protocol.criteria}
    assert all(kinds[i] == "inclusion" for i in NCT_IDS if i.startswith("I"))
    assert all(kinds[i] == "exclusion" for i in NCT_IDS if i.startswith("E"))
    assert protocol.target == 150


@pytest.mark.skipif(not DOMAIN.exists(), reason="shared/domain not beside the checkout")
def test_ids_match_the_domain_reading():
    ids = re.findall(r"^\| (I\d+[a-z]?|E\d+[a-z]?) \|", DOMAIN.read_text(), flags=re.M)
    assert ids == NCT_IDS


@pytest.mark.parametrize(("protocol_id", "criterion_id"), ALL)
def test_every_criterion_keeps_the_contract(protocol_id, criterion_id):
    protocol = get_protocol(protocol_id)
    c = protocol.criterion(criterion_id)
    assert c.label and c.source
    assert protocol.columns_needed(c.id) <= set(COLUMNS)
    for name in c.parameters:
        p = protocol.parameters[name]
        assert p.min <= p.value <= p.max
        assert c.id in p.criteria
    # with no data at all, a criterion never FAILS a patient: missing is unknown
    empty = pd.DataFrame({"patient_id": pd.array(["P1"], dtype="string")})
    value = evaluate(empty, protocol, include=[c.id]).statuses[c.id].iloc[0]
    assert value is pd.NA or bool(value) is True


@pytest.mark.parametrize("criterion_id", NCT_IDS)
def test_every_nct_criterion_passes_the_passing_patient(criterion_id, imc002):
    result = evaluate(canonical_frame([patient()]), imc002)
    assert bool(result.statuses[criterion_id].iloc[0]) is True


def test_every_parameter_moves_its_criteria(imc002):
    """Moving a parameter to each end of its range changes nothing outside its criteria."""
    frame = canonical_frame([patient()])
    base = evaluate(frame, imc002)
    for name, p in imc002.parameters.items():
        for value in (p.min, p.max):
            moved = base.with_parameters(**{name: value})
            others = [c for c in imc002.ids if c not in p.criteria]
            pd.testing.assert_frame_equal(moved.statuses[others], base.statuses[others])


def test_ct041_marks_every_source_published_or_assumed():
    protocol = get_protocol("CT041-ST-01")
    for c in protocol.criteria:
        assert c.source.startswith(("PUBLISHED", "ASSUMED")), c.id
    assumed = [c.id for c in protocol.criteria if c.source.startswith("ASSUMED")]
    assert assumed and all("assumed" in protocol.criterion(i).label for i in assumed)


def test_get_protocol_by_id_path_and_errors(tmp_path):
    assert get_protocol("nct07103668").id == "NCT07103668"
    shipped = Path(get_protocol("NCT07103668").path)
    copy = tmp_path / "mine.yaml"
    copy.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    assert get_protocol(str(copy)).ids == NCT_IDS
    with pytest.raises(ProtocolError, match="No shipped protocol 'NCT0000'"):
        get_protocol("NCT0000")


def _write(tmp_path, spec: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


BASE = {
    "id": "T",
    "parameters": {"hb_min": {"value": 8, "min": 6, "max": 11}},
    "criteria": [
        {"id": "I1", "kind": "inclusion", "label": "Hb", "rule": "hb >= hb_min", "source": "x"}
    ],
}


def test_a_minimal_user_protocol_loads_and_evaluates(tmp_path):
    protocol = load_protocol(_write(tmp_path, BASE))
    frame = canonical_frame([{"patient_id": "a", "hb": 7.0}, {"patient_id": "b", "hb": 9.0}])
    assert evaluate(frame, protocol).status.tolist() == ["screen_failed", "eligible"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"criteria": [{**BASE["criteria"][0], "kind": "maybe"}]}, "criteria.0.kind"),
        ({"criteria": [{**BASE["criteria"][0], "rule": "hbb >= hb_min"}]}, "did you mean hb"),
        ({"criteria": [{**BASE["criteria"][0], "rule": "hb + 1"}]}, "yes/no condition"),
        ({"criteria": [BASE["criteria"][0], BASE["criteria"][0]]}, "appears twice"),
        ({"parameters": {"hb_min": {"value": 20, "min": 6, "max": 11}}}, "outside min..max"),
        ({"parameters": {**BASE["parameters"], "x_max": {"value": 1, "min": 0, "max": 2}}},
         "no criterion uses"),
        ({"surprise": 1}, "surprise"),
    ],
)  # fmt: skip
def test_bad_protocol_files_name_the_place(tmp_path, change, message):
    with pytest.raises(ProtocolError, match=message) as err:
        load_protocol(_write(tmp_path, {**BASE, **change}))
    assert "p.yaml" in str(err.value)


def test_unknown_parameter_override_is_a_clear_error(imc002):
    with pytest.raises(ProtocolError, match="no parameter 'lesion_max'"):
        evaluate(canonical_frame([patient()]), imc002, lesion_max=7)


def test_with_parameters_returns_a_new_protocol(imc002):
    relaxed = imc002.with_parameters(lesion_max_cm=7)
    assert relaxed.parameters["lesion_max_cm"].value == 7
    assert imc002.parameters["lesion_max_cm"].value == 5
    table = relaxed.to_frame().set_index("criterion")
    assert "lesion_max_cm = 7 cm" in table.loc["I5b", "parameters"]


def test_labels_show_the_thresholds_in_force(imc002):
    relaxed = imc002.with_parameters(lesion_max_cm=7, hb_min=7, spo2_max_excluded_pct=93)
    assert imc002.criterion("I5b").label == "Largest lesion <= 5 cm"
    assert relaxed.criterion("I5b").label == "Largest lesion <= 7 cm"
    assert relaxed.criterion("I7d").label == "Haemoglobin >= 7.0 g/dL"
    assert relaxed.criterion("E7").label == "SpO2 <= 93% on room air"
    assert imc002.criterion("I7j").label == "Urine protein <= 1+, or 24-h protein < 1 g"
    dipstick = imc002.with_parameters(urine_protein_max_grade=0.5).criterion("I7j").label
    assert dipstick.startswith("Urine protein <= trace,")
    result = evaluate(canonical_frame([patient()]), imc002).with_parameters(lesion_max_cm=6.5)
    assert result.protocol.criterion("I5b").label == "Largest lesion <= 6.5 cm"


@pytest.mark.parametrize(
    ("label", "message"),
    [("Hb >= {hb_mn} g/dL", "not a parameter"), ("Hb >= {hb_min.__class__}", "not a parameter"),
     ("Hb >= {hb_min", "unbalanced"), ("Hb >= {hb_min:q}", "cannot show")],
)  # fmt: skip
def test_label_templates_may_only_name_parameters(tmp_path, label, message):
    spec = {**BASE, "criteria": [{**BASE["criteria"][0], "label": label}]}
    with pytest.raises(ProtocolError, match=message):
        load_protocol(_write(tmp_path, spec))


def test_changed_parameters_have_one_home_and_need_no_file(tmp_path):
    """The protocol keeps its own values when a threshold changes: chained what-ifs and a
    user's protocol file deleted after loading still report against the protocol's own."""
    from screenkit.export.listings import changed_parameters as listed

    shipped = get_protocol("NCT07103668")
    path = tmp_path / "mine.yaml"
    path.write_text(Path(shipped.path).read_text(encoding="utf-8"), encoding="utf-8")
    mine = load_protocol(path)
    path.unlink()  # nothing is re-read from disk
    frame = canonical_frame([patient()])
    relaxed = evaluate(frame, mine, lesion_max_cm=7, hb_min=7.5)
    assert relaxed.protocol.changed_parameters() == {
        "lesion_max_cm": (5.0, 7.0),
        "hb_min": (8.0, 7.5),
    }
    back = relaxed.with_parameters(lesion_max_cm=5)
    assert back.protocol.changed_parameters() == {"hb_min": (8.0, 7.5)}
    assert listed(back.protocol) == "hb_min: 8 -> 7.5 g/dL"
    assert evaluate(frame, mine).protocol.changed_parameters() == {}
    assert shipped == shipped.with_parameters(lesion_max_cm=5)  # not part of equality
