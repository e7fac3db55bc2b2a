"""Unit parsing and conversion: every IMC002 threshold on, just inside and just outside."""

import pytest

from screenkit.errors import InputError
from screenkit.units import (
    accepted_units,
    clean_unit_text,
    conversion_factor,
    convert_values,
    split_header_unit,
)


def conv(values, column, unit):
    return convert_values(values, column, unit).tolist()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Hb (g/L)", ("Hb", "g/L")),
        ("PLT [/uL]", ("PLT", "/uL")),
        ("ANC (x10^9/L)", ("ANC", "x10^9/L")),
        ("体重（kg）", ("体重", "kg")),
        ("Creatinine", ("Creatinine", None)),
    ],
)
def test_split_header_unit(header, expected):
    assert split_header_unit(header) == expected


@pytest.mark.parametrize(
    ("column", "unit", "factor"),
    [
        ("anc", "x10^9/L", 1.0),
        ("anc", "10^9/L", 1.0),
        ("anc", "10*9/L", 1.0),
        ("anc", "×10⁹/L", 1.0),
        ("plt", "10^3/µL", 1.0),
        ("plt", "10^3/uL", 1.0),
        ("plt", "K/uL", 1.0),
        ("plt", "/uL", 0.001),
        ("plt", "/mm3", 0.001),
        ("plt", "cells/mm³", 0.001),
        ("hb", "g/dL", 1.0),
        ("hb", "g/L", 0.1),
        ("hb", "mmol/L", 1 / 0.6206),
        ("creat", "umol/L", 1 / 88.4),
        ("creat", "µmol/L", 1 / 88.4),
        ("creat_uln", "μmol/L", 1 / 88.4),
        ("tbil", "umol/L", 1 / 17.1),
        ("tbil_uln", "umol/L", 1 / 17.1),
        ("fasting_glucose", "mg/dL", 1 / 18.016),
        ("fasting_glucose", "mmol/L", 1.0),
        ("weight_kg", "lb", 0.45359237),
        ("weight_kg", "lbs", 0.45359237),
        ("largest_lesion_cm", "mm", 0.1),
        ("spo2", "%", 1.0),
        ("qt_ms", "ms", 1.0),
        ("qt_ms", "s", 1000.0),
        ("alt", "IU/L", 1.0),
        ("heart_rate_bpm", "bpm", 1.0),
        ("urine_protein_24h_g", "mg/24h", 0.001),
    ],
)
def test_conversion_factor(column, unit, factor):
    assert conversion_factor(column, unit) == pytest.approx(factor, rel=1e-12)


def test_clean_unit_text():
    assert clean_unit_text("x10^9/L") == "10**9/L"
    assert clean_unit_text("10*9/L") == "10**9/L"
    assert clean_unit_text("cells/mm³") == "1/mm**3"
    assert clean_unit_text("µmol/L") == "umol/L"


# (column, unit, [value on the boundary, just inside, just outside], expected canonical)
THRESHOLDS = [
    ("anc", "/uL", [1500, 1510, 1490], [1.5, 1.51, 1.49]),
    ("anc", "/mm3", [1500, 1501, 1499], [1.5, 1.501, 1.499]),
    ("anc", "10^3/uL", [1.5, 1.6, 1.4], [1.5, 1.6, 1.4]),
    ("plt", "/uL", [75000, 75001, 74999], [75.0, 75.001, 74.999]),
    ("plt", "cells/mm³", [75000, 76000, 74000], [75.0, 76.0, 74.0]),
    ("hb", "g/L", [80, 81, 79], [8.0, 8.1, 7.9]),
    ("hb", "g/L", [80.0, 80.01, 79.99], [8.0, 8.001, 7.999]),
    ("hb", "mmol/L", [4.9648, 4.965, 4.9647], [8.0, 8.000322269, 7.999838866]),
    ("lym", "/uL", [500, 501, 499], [0.5, 0.501, 0.499]),
    ("creat", "umol/L", [707.2, 707.3, 707.1], [8.0, 8.001131222, 7.998868778]),
    ("creat_uln", "umol/L", [97.24, 97.25, 97.23], [1.1, 1.100113122, 1.099886878]),
    ("tbil", "umol/L", [34.2, 34.3, 34.1], [2.0, 2.005847953, 1.994152047]),
    ("tbil_uln", "umol/L", [17.1, 17.2, 17.0], [1.0, 1.005847953, 0.9941520468]),
    ("fasting_glucose", "mg/dL", [183.7632, 183.8, 183.7], [10.2, 10.20204263, 10.19649201]),
    ("largest_lesion_cm", "mm", [50, 51, 49], [5.0, 5.1, 4.9]),
    ("largest_lesion_cm", "mm", [50.0, 49.9, 50.1], [5.0, 4.99, 5.01]),
    ("weight_kg", "lb", [154.3236, 155, 154], [70.00000747, 70.30681735, 69.85322498]),
    ("weight_kg", "lb", [100, 100.1, 99.9], [45.359237, 45.40459624, 45.31387776]),
]


@pytest.mark.parametrize(("column", "unit", "given", "expected"), THRESHOLDS)
def test_threshold_conversions_never_flip(column, unit, given, expected):
    got = conv(given, column, unit)
    assert got == expected
    on, inside_or_out, other = got
    # the boundary value converts to exactly the canonical boundary; order is preserved
    assert on == expected[0]
    assert (inside_or_out > on) == (given[1] > given[0])
    assert (other < on) == (given[2] < given[0])


def test_boundaries_pass_the_protocol_comparisons():
    assert conv([80], "hb", "g/L")[0] >= 8.0
    assert conv([707.2], "creat", "umol/L")[0] == 8.0
    assert conv([1500], "anc", "/uL")[0] >= 1.5
    assert conv([1499], "anc", "/uL")[0] < 1.5
    assert conv([75000], "plt", "/uL")[0] >= 75
    assert conv([500], "lym", "/mm3")[0] >= 0.5
    # bilirubin 2 x ULN, both in umol/L
    tbil, uln = conv([34.2], "tbil", "umol/L")[0], conv([17.1], "tbil_uln", "umol/L")[0]
    assert tbil <= 2 * uln
    # creatinine 1.5 x ULN
    creat, uln = conv([132.6], "creat", "umol/L")[0], conv([88.4], "creat_uln", "umol/L")[0]
    assert creat == 1.5 and creat <= 1.5 * uln
    assert conv([183.7632], "fasting_glucose", "mg/dL")[0] >= 10.2
    assert conv([183.7], "fasting_glucose", "mg/dL")[0] < 10.2
    assert conv([50], "largest_lesion_cm", "mm")[0] <= 5
    assert conv([50.1], "largest_lesion_cm", "mm")[0] > 5


def test_missing_values_stay_missing():
    got = convert_values([80, None], "hb", "g/L")
    assert got.iloc[0] == 8.0 and got.isna().iloc[1]
    assert str(got.dtype) == "Float64"


def test_unknown_unit_names_column_and_lists_accepted():
    with pytest.raises(InputError) as err:
        conversion_factor("hb", "bananas", header="Hb (bananas)")
    assert str(err.value) == (
        "Unit not understood\n"
        "  - column: Hb (bananas)\n"
        "  - value: 'bananas'\n"
        "  - accepted: g/dL, g/L, mmol/L"
    )


def test_incompatible_unit_is_an_error():
    with pytest.raises(InputError, match="cannot be converted to 10\\^9/L") as err:
        conversion_factor("plt", "mg/dL")
    assert "10^3/uL" in err.value.expected
    with pytest.raises(InputError, match="takes no unit"):
        conversion_factor("ecog", "%")


def test_accepted_units_include_molar_alternatives():
    assert "umol/L" in accepted_units("creat")
    assert "µmol/L" in accepted_units("tbil_uln")
    assert "mg/dL" in accepted_units("fasting_glucose")
    assert accepted_units("ecog") == []


def test_texts_pint_cannot_parse_are_not_units():
    from screenkit.units import is_unit

    assert not is_unit("#N/A") and not is_unit("(") and is_unit("g/dL")
