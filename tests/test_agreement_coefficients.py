"""Agreement coefficients against published worked examples and hand arithmetic.

Every expected number below comes from the cited source or from the arithmetic shown
in the comment next to it, never from the code under test.
"""

import ast
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from workbench.agreement import (
    COEFFICIENTS,
    AgreementInputError,
    reliability,
    reliability_result,
)

_ = None  # not rated

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": the reliability
# data of 4 observers x 12 units with missing values (rows = observers A..D).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]

# Ben and Gerry: 12 units, 2 raters, Gerry did not rate unit 10.  Data set
# `cac.ben.gerry` of Gwet's irrCAC R package (as shipped by the Python port
# afergadis/irrCAC, whose tests expect kappa 0.657 and AC1 0.661 for it).
BEN = ["a", "a", "b", "b", "d", "c", "c", "c", "e", "d", "d", "a"]
GERRY = ["b", "a", "b", "b", "b", "c", "c", "c", "e", _, "d", "d"]


def approx(x, abs=1e-9):
    return pytest.approx(x, abs=abs)


# --- Krippendorff's alpha ---------------------------------------------------------------


@pytest.mark.parametrize(
    "level, published",
    # Krippendorff (2011) reports for this data: nominal .743, ordinal .815,
    # interval .849, ratio .797.
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_alpha_krippendorff_2011_four_observers_missing_data(level, published):
    assert reliability(KRIPPENDORFF_2011, "krippendorff_alpha", level) == approx(
        published, abs=5e-4
    )


def test_alpha_nominal_krippendorff_2011_by_hand():
    # Unit 12 has one value and is not pairable; units 1-11 give n = 40 pairable values,
    # n_1..n_5 = 9, 13, 10, 5, 3.  Disagreeing coincidences: unit 2 (2,2,3,2) gives
    # 2 x 3/3 = 2, unit 6 (1,2,3,4) 12/3 = 4, unit 8 (1,1,2,1) 2: in all 8.
    # D_o = 8/40 = 0.2;  D_e = (40^2 - (81+169+100+25+9)) / (40 x 39) = 1216/1560
    # alpha = 1 - 0.2 / (1216/1560) = 0.743421...
    expected = 1 - 0.2 / (1216 / 1560)
    result = reliability_result(KRIPPENDORFF_2011, "krippendorff_alpha")
    assert result.value == approx(expected)
    assert result.n_units == 11


def test_alpha_krippendorff_2011_binary_two_observers():
    # Krippendorff (2011), binary data, two observers, no missing data: alpha = .095.
    # Coincidences o_00 = 10, o_01 = o_10 = 4, o_11 = 2; n_0 = 14, n_1 = 6, n = 20.
    # alpha = 1 - (n - 1) o_01 / (n_0 n_1) = 1 - 19 x 4 / 84 = 8/84 = 0.0952...
    data = [
        [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
        [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    ]
    assert reliability(data, "krippendorff_alpha") == approx(8 / 84)
    assert round(reliability(data, "krippendorff_alpha"), 3) == 0.095


def test_alpha_wikipedia_computational_example():
    # Wikipedia, "Krippendorff's alpha", section "A computational example": 3 coders,
    # 15 units, many missing; alpha_nominal = 0.691.  By hand: pairable values n = 26
    # (n_1..n_4 = 7, 4, 10, 5); disagreeing coincidences: unit 6 (3,3,4) 2 x 2/2 = 2,
    # unit 8 (1,3) 2, unit 15 (3,4) 2 -> 6.  alpha = 1 - (6/26) / (486/650) = 0.691358
    data = [
        [_, _, _, _, _, 3, 4, 1, 2, 1, 1, 3, 3, _, 3],
        [1, _, 2, 1, 3, 3, 4, 3, _, _, _, _, _, _, _],
        [_, _, 2, 1, 3, 4, 4, _, 2, 1, 1, 3, 3, _, 4],
    ]
    assert reliability(data, "krippendorff_alpha") == approx(1 - (6 / 26) / (486 / 650))


def test_ordinal_alpha_takes_rank_order_from_categories():
    # The Krippendorff (2011) data with the ranks spelt as words: still .815.
    names = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    data = [[None if x is None else names[x] for x in row] for row in KRIPPENDORFF_2011]
    order = ["very low", "low", "mid", "high", "very high"]
    value = reliability(data, "krippendorff_alpha", "ordinal", categories=order)
    assert value == approx(0.815, abs=5e-4)
    # Without an order, alphabetical order would be silently wrong, so it is refused.
    with pytest.raises(AgreementInputError, match="rank order"):
        reliability(data, "krippendorff_alpha", "ordinal")


def test_interval_alpha_needs_numbers():
    with pytest.raises(AgreementInputError, match="numeric"):
        reliability([["a", "b"], ["a", "a"]], "krippendorff_alpha", "interval")


# --- Fleiss, Cohen, Scott: published worked examples ---------------------------------


def _raters_from_counts(table):
    """Subjects x categories counts -> one list per rater position (Fleiss' kappa only
    sees how many raters chose each category, not who they were)."""
    per_subject = [[k for k, n in enumerate(row) for _ in range(n)] for row in table]
    return [list(column) for column in zip(*per_subject)]


def test_fleiss_kappa_wikipedia_fourteen_raters():
    # Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
    # Published: P-bar = 0.378, P_e = 0.213, kappa = 0.210.
    # Exactly: P-bar = 688/1820 = 0.378022; p_j = 20, 28, 39, 21, 32 (/140), so
    # P_e = 4170/19600 = 0.212755; kappa = (0.378022 - 0.212755)/(1 - 0.212755) = 0.209931
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    result = reliability_result(_raters_from_counts(table), "fleiss_kappa")
    p_a, p_e = 688 / 1820, 4170 / 19600
    assert result.observed == approx(p_a)
    assert result.expected == approx(p_e)
    assert result.value == approx((p_a - p_e) / (1 - p_e))
    assert round(result.value, 3) == 0.210


# Wikipedia, "Cohen's kappa", simple example: 50 proposals, 20 yes/yes, 5 A-yes/B-no,
# 10 A-no/B-yes, 15 no/no.  p_o = 35/50 = 0.7; A says yes 25/50, B 30/50, so
# p_e = 0.5 x 0.6 + 0.5 x 0.4 = 0.5; kappa = (0.7 - 0.5)/(1 - 0.5) = 0.4.
WIKI_A = ["yes"] * 25 + ["no"] * 25
WIKI_B = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15


def test_cohen_kappa_wikipedia_example():
    result = reliability_result([WIKI_A, WIKI_B], "cohen_kappa")
    assert result.value == approx(0.4)
    assert (result.observed, result.expected) == (approx(0.7), approx(0.5))
    assert result.n_units == 50


def _from_confusion(matrix, labels):
    """Two raters' lists from a confusion matrix (rows: rater 1, columns: rater 2)."""
    pairs = [
        (labels[i], labels[j])
        for i, row in enumerate(matrix)
        for j, n in enumerate(row)
        for _ in range(n)
    ]
    return [[a for a, _ in pairs], [b for _, b in pairs]]


def test_scott_pi_wikipedia_example():
    # Wikipedia, "Scott's pi", worked example: 45 items, confusion matrix 1..9 over
    # Yes/No/Maybe; joint proportions (12+6)/90 = 0.2, (15+15)/90 = 0.333,
    # (18+24)/90 = 0.467.  By hand: p_o = (1+5+9)/45 = 1/3,
    # p_e = (18^2 + 30^2 + 42^2)/90^2 = 2988/8100, pi = (1/3 - p_e)/(1 - p_e) = -0.05634
    data = _from_confusion([[1, 2, 3], [4, 5, 6], [7, 8, 9]], ["Yes", "No", "Maybe"])
    p_e = 2988 / 8100
    result = reliability_result(data, "scott_pi")
    assert result.expected == approx(p_e)
    assert result.value == approx((1 / 3 - p_e) / (1 - p_e))


def test_scott_pi_generalises_to_fleiss_for_more_coders():
    fleiss = reliability(KRIPPENDORFF_2011, "fleiss_kappa")
    assert reliability(KRIPPENDORFF_2011, "scott_pi") == fleiss


# --- Gwet's conventions for missing ratings ------------------------------------------


@pytest.mark.parametrize(
    "coefficient, expected",
    [
        # Units rated by both: 11 (not unit 10); they agree on 8, so p_a = 8/11.
        ("percent_agreement", 8 / 11),
        # Cohen: Ben's marginals over his 12 ratings a,b,c,d,e = 3,2,3,3,1 (/12); Gerry's
        # over his 11 = 1,4,3,2,1 (/11); p_e = (3+8+9+6+1)/132 = 27/132;
        # kappa = (8/11 - 27/132)/(1 - 27/132) = 69/105 = 0.657 (irrCAC: 0.657).
        ("cohen_kappa", 69 / 105),
        # Scott/Fleiss: shares over the 12 rated units, unit 10 counting 1 for d:
        # a,b,c,d,e = 2,3,3,3,1 (/12), p_e = 32/144; pi = (8/11 - 2/9)/(7/9) = 50/77.
        ("scott_pi", 50 / 77),
        ("fleiss_kappa", 50 / 77),
        # AC1 (q = 5): p_e = (1 - 32/144)/4 = 7/36; (8/11 - 7/36)/(29/36) = 211/319
        # = 0.661 (irrCAC: 0.661, p_e 0.194).
        ("gwet_ac1", 211 / 319),
        # Brennan-Prediger (q = 5): (8/11 - 1/5)/(4/5) = 29/44.
        ("brennan_prediger", 29 / 44),
    ],
)
def test_gwet_missing_data_two_raters(coefficient, expected):
    assert reliability([BEN, GERRY], coefficient) == approx(expected)


@pytest.mark.parametrize(
    "coefficient, expected",
    [
        # p_a over the 11 units rated by >= 2 coders: per-unit agreement 1, .5, 1, 1, 1,
        # 0, 1, .5, 1, 1, 1 -> 9/11.
        ("percent_agreement", 9 / 11),
        # pi_k over all 12 rated units (unit 12's single rating counts):
        # 3, 3.25, 3.5, 1.25, 1 (/12); sum pi_k^2 = 34.375/144 = 0.238715;
        # kappa = (9/11 - 0.238715)/(1 - 0.238715) = 0.761169 (irrCAC: 0.76117).
        ("fleiss_kappa", (9 / 11 - 34.375 / 144) / (1 - 34.375 / 144)),
        # AC1, q = 5: p_e = (1 - 34.375/144)/4 = 0.190321 (irrCAC: 0.19032);
        # (9/11 - 0.190321)/(1 - 0.190321) = 0.775444 (irrCAC: 0.77544).
        ("gwet_ac1", (9 / 11 - (1 - 34.375 / 144) / 4) / (1 - (1 - 34.375 / 144) / 4)),
        # BP, q = 5: (9/11 - 1/5)/(4/5) = 17/22.
        ("brennan_prediger", 17 / 22),
    ],
)
def test_gwet_missing_data_four_raters(coefficient, expected):
    # The Krippendorff (2011) data is also Gwet's (2014, Handbook p. 120) 4-rater example
    # (unit 12's lone rating sits with another rater there, which no formula here sees).
    result = reliability_result(KRIPPENDORFF_2011, coefficient)
    assert result.value == approx(expected)
    assert result.n_units == 11


def test_cohen_kappa_missing_follows_gwet_by_hand():
    result = reliability_result([BEN, GERRY], "cohen_kappa")
    assert result.n_units == 11  # units rated by both
    assert result.observed == approx(8 / 11)
    assert result.expected == approx(27 / 132)  # marginals from all of each coder's ratings
    assert result.value == approx((8 / 11 - 27 / 132) / (1 - 27 / 132))


def _random_codings(seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], size=40, p=[0.5, 0.3, 0.2])
    b = np.where(rng.random(40) < 0.6, a, rng.choice(["x", "y", "z"], size=40))
    return [list(a), list(b)]


@pytest.mark.parametrize("data", [[WIKI_A, WIKI_B]] + [_random_codings(s) for s in range(5)])
def test_cohen_kappa_hand_convention_equals_sklearn_without_missing(data):
    result = reliability_result(data, "cohen_kappa")
    reference = cohen_kappa_score(data[0], data[1])
    # The hand-written terms (Gwet's convention) give sklearn's kappa on complete data...
    assert (result.observed - result.expected) / (1 - result.expected) == approx(reference)
    # ...and the reported value is sklearn's.
    assert result.value == approx(reference)


# --- categories (q) and category (binarising) ------------------------------------------


def test_categories_change_q_for_ac1_and_bp():
    scheme = [1, 2, 3, 4, 5, 6, 7]  # two categories nobody used
    # AC1, q = 7: p_e = (1 - 34.375/144)/6 = 0.126881; (9/11 - p_e)/(1 - p_e) = 0.791760
    p_e = (1 - 34.375 / 144) / 6
    assert reliability(KRIPPENDORFF_2011, "gwet_ac1", categories=scheme) == approx(
        (9 / 11 - p_e) / (1 - p_e)
    )
    # BP, q = 7: (9/11 - 1/7)/(6/7) = 26/33
    assert reliability(KRIPPENDORFF_2011, "brennan_prediger", categories=scheme) == approx(26 / 33)
    # Unused categories change nothing for the coefficients without q.
    for coefficient in ("fleiss_kappa", "percent_agreement", "krippendorff_alpha"):
        assert reliability(KRIPPENDORFF_2011, coefficient, categories=scheme) == approx(
            reliability(KRIPPENDORFF_2011, coefficient)
        )


@pytest.mark.parametrize(
    "coefficient, expected",
    [
        # Category 3 against the rest.  Units 2 and 6 each have one 3 among 4 ratings
        # (agreement 6/12 = .5), the other 9 pairable units agree fully: p_a = 10/11.
        ("percent_agreement", 10 / 11),
        # pi_3 = (1/4 + 1 + 1 + 1/4 + 1)/12 = 7/24 (unit 12's lone 3 counts).
        # Fleiss: p_e = (7/24)^2 + (17/24)^2 = 338/576 -> kappa = 1021/1309.
        ("fleiss_kappa", 1021 / 1309),
        # AC1, q = 2: p_e = 2 (7/24)(17/24) = 238/576 -> AC1 = 1571/1859.
        ("gwet_ac1", 1571 / 1859),
        # BP, q = 2: (10/11 - 1/2)/(1/2) = 9/11.
        ("brennan_prediger", 9 / 11),
        # Nominal alpha: pairable values 10 threes, 30 others; disagreeing coincidences
        # 2 (unit 2) + 2 (unit 6) = 4; alpha = 1 - (4/40)/(2 x 10 x 30/(40 x 39)) = 0.74.
        ("krippendorff_alpha", 1 - (4 / 40) / (600 / 1560)),
    ],
)
def test_category_binarises(coefficient, expected):
    assert reliability(KRIPPENDORFF_2011, coefficient, category=3) == approx(expected)
    # Per-code q is 2 whatever the coding scheme's size.
    assert reliability(
        KRIPPENDORFF_2011, coefficient, categories=[1, 2, 3, 4, 5, 6, 7], category=3
    ) == approx(expected)


def test_category_equals_coefficient_on_binarised_data():
    binary = [
        [None if x is None else ("3" if x == 3 else "other") for x in row]
        for row in KRIPPENDORFF_2011
    ]
    for coefficient in ("scott_pi", "gwet_ac1", "krippendorff_alpha"):
        assert reliability(KRIPPENDORFF_2011, coefficient, category=3) == approx(
            reliability(binary, coefficient)
        )
    two = [BEN, GERRY]
    binary_two = [[None if x is None else x == "d" for x in row] for row in two]
    assert reliability(two, "cohen_kappa", category="d") == approx(
        reliability(binary_two, "cohen_kappa")
    )


# --- undefined values -----------------------------------------------------------------


@pytest.mark.parametrize(
    "coefficient", ["cohen_kappa", "scott_pi", "fleiss_kappa", "krippendorff_alpha"]
)
def test_constant_coders_are_undefined_with_reason(coefficient):
    data = [["a"] * 6, ["a"] * 5 + [None]]
    result = reliability_result(data, coefficient)
    assert math.isnan(result.value) and not result.defined
    assert "0/0" in result.reason
    value = reliability(data, coefficient)
    assert isinstance(value, float) and math.isnan(value)


def test_constant_coders_ac1_and_bp_need_the_scheme():
    data = [["a"] * 6, ["a"] * 6]
    # With only the observed category, q = 1 and chance agreement is undefined...
    for coefficient in ("gwet_ac1", "brennan_prediger"):
        result = reliability_result(data, coefficient)
        assert math.isnan(result.value) and "categor" in result.reason
    # ...with the scheme's two categories they are defined: AC1 p_e = 2 x 1 x 0 = 0,
    # so AC1 = (1 - 0)/1 = 1; BP p_e = 1/2, so BP = (1 - 1/2)/(1/2) = 1.
    assert reliability(data, "gwet_ac1", categories=["a", "b"]) == 1.0
    assert reliability(data, "brennan_prediger", categories=["a", "b"]) == 1.0
    assert reliability(data, "percent_agreement") == 1.0


@pytest.mark.parametrize("coefficient", COEFFICIENTS)
def test_no_commonly_rated_unit_is_undefined(coefficient):
    data = [["a", "b", None, None], [None, None, "a", "b"]]
    result = reliability_result(data, coefficient)
    assert math.isnan(result.value) and result.reason and result.n_units == 0


@pytest.mark.parametrize("coefficient", COEFFICIENTS)
def test_no_units_is_undefined(coefficient):
    assert math.isnan(reliability([[], []], coefficient))


def test_nan_counts_as_not_rated():
    with_nan = [[x if x is not None else float("nan") for x in row] for row in KRIPPENDORFF_2011]
    for coefficient in ("fleiss_kappa", "krippendorff_alpha"):
        assert reliability(with_nan, coefficient) == reliability(KRIPPENDORFF_2011, coefficient)


# --- the contract -----------------------------------------------------------------------


def test_reliability_returns_a_plain_float_and_result_is_frozen():
    value = reliability([BEN, GERRY], "cohen_kappa")
    assert type(value) is float
    result = reliability_result([BEN, GERRY], "cohen_kappa")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 0.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(data=[BEN, GERRY], coefficient="cronbach_alpha"), "unknown coefficient"),
        (dict(data=[["a", "b"], ["a"]], coefficient="fleiss_kappa"), "differ in length"),
        (dict(data=[["a", "b"]], coefficient="fleiss_kappa"), "at least 2 coders"),
        (dict(data=[], coefficient="percent_agreement"), "at least 2 coders"),
        (dict(data=KRIPPENDORFF_2011, coefficient="cohen_kappa"), "exactly 2 coders"),
        (dict(data=[BEN, GERRY], coefficient="gwet_ac1", level="ordinal"), "krippendorff_alpha only"),
        (dict(data=[BEN, GERRY], coefficient="krippendorff_alpha", level="circular"), "unknown level"),
        (dict(data=[BEN, GERRY], coefficient="gwet_ac1", categories=["a", "b"]), "not in categories"),
        (
            dict(data=[BEN, GERRY], coefficient="gwet_ac1", categories=list("abcde"), category="z"),
            "not in categories",
        ),
        (dict(data=[BEN, GERRY], coefficient="gwet_ac1", categories=list("abcdea")), "duplicates"),
        (dict(data=["abc", "abd"], coefficient="fleiss_kappa"), "list of labels"),
    ],
)
def test_bad_input_raises_a_value_error(kwargs, message):
    with pytest.raises(AgreementInputError, match=message) as info:
        reliability(**kwargs)
    assert isinstance(info.value, ValueError)


def test_level_nominal_is_accepted_for_every_coefficient():
    for coefficient in COEFFICIENTS:
        reliability([BEN, GERRY], coefficient, level="nominal")


def test_module_imports_neither_a_database_nor_streamlit():
    forbidden = {"streamlit", "sqlalchemy", "sqlite3", "psycopg", "psycopg2", "alembic"}
    package = Path(__file__).resolve().parents[1] / "workbench" / "agreement"
    for source in package.glob("*.py"):
        if source.name == "study.py":  # the study-facing module beside the pure core
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level <= 1 or node.module == "errors", \
                    f"{source.name} reaches outside workbench.agreement (only the pure errors module)"
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            assert not {n.split(".")[0] for n in names} & forbidden, source.name
