"""Krippendorff's unitizing alpha (alpha_u, Krippendorff 2004) at character resolution.

Notation (Krippendorff 2004, Content Analysis, 2nd ed.; see workbench/agreement/unitizing.py):
  D_o = sum_{i != j} sum_{g, h} delta2(g, h) / (m (m - 1) L^2)
  D_e = (2/L) sum_u [ (N-1) l_u (l_u - 1)(2 l_u - 1)/3 + l_u^2 sum_{gaps >= l_u} (l_g - l_u + 1) ]
        / ( m L (m L - 1) - sum_u l_u (l_u - 1) )
Every expected number is worked out in the comments, not taken from the code under test.
"""

import dataclasses
import math

import krippendorff
import numpy as np
import pytest

from workbench.agreement import AgreementInputError, unitizing_alpha, unitizing_alpha_result


def approx(x, abs=1e-9):
    return pytest.approx(x, abs=abs)


# Continuum [0, 10), L = 10, two coders.
#   coder A: x [2, 6), y [8, 10)      coder B: x [3, 7), y [8, 10)
SMALL = [[(2, 6, "x"), (8, 10, "y")], [(3, 7, "x"), (8, 10, "y")]]

# Label x.  A's segments: gap [0,2), span [2,6), gap [6,10); B's: gap [0,3), span [3,7),
# gap [7,10).  The only non-zero delta2 is span vs span: (2-3)^2 + (6-7)^2 = 2 (neither
# span lies inside a gap of the other coder).  Both orders: 4.
#   D_o(x) = 4 / (2 x 1 x 10^2) = 0.02
# N = 2 spans of length 4; gaps 2, 4, 3, 3.  Per span:
#   (N-1) x 4 x 3 x 7 / 3 = 28,  plus 4^2 x (4 - 4 + 1) [only the gap of 4 fits] = 16  -> 44
#   D_e(x) = (2/10) x (44 + 44) / (20 x 19 - (12 + 12)) = 17.6 / 356 = 0.0494382
#   alpha_u(x) = 1 - 0.02 / (17.6/356) = 1 - 7.12/17.6 = 131/220 = 0.5954545
D_O_X, D_E_X = 0.02, 17.6 / 356
# Label y: identical spans, D_o(y) = 0.  Spans of length 2; gaps [0,8) of 8 for each coder.
#   per span: 1 x 2 x 1 x 3 / 3 = 2,  plus 2^2 x ((8-2+1) + (8-2+1)) = 56  -> 58
#   D_e(y) = (2/10) x (58 + 58) / (380 - (2 + 2)) = 23.2 / 376 = 0.0617021
D_E_Y = 23.2 / 376


def test_hand_computed_case_per_label():
    x = unitizing_alpha_result(SMALL, (0, 10), category="x")
    assert x.observed_disagreement == approx(D_O_X)
    assert x.expected_disagreement == approx(D_E_X)
    assert x.value == approx(131 / 220)
    y = unitizing_alpha_result(SMALL, (0, 10), category="y")
    assert (y.observed_disagreement, y.expected_disagreement) == (0.0, approx(D_E_Y))
    assert y.value == 1.0


def test_hand_computed_case_pooled():
    # Pooled over labels: 1 - (0.02 + 0) / (0.0494382 + 0.0617021) = 0.8200473
    result = unitizing_alpha_result(SMALL, (0, 10))
    assert result.value == approx(1 - D_O_X / (D_E_X + D_E_Y))
    assert result.n_spans == 4


def test_shifting_the_continuum_changes_nothing():
    shifted = [[(s + 100, e + 100, c) for s, e, c in coder] for coder in SMALL]
    assert unitizing_alpha(shifted, (100, 110)) == approx(unitizing_alpha(SMALL, (0, 10)))


# Krippendorff (2004, p. 254) example, as encoded in DKPro Statistics'
# Krippendorff2004Test (continuum 150..450, two observers, categories c and k), whose
# test expects D_o(c) = .0144, D_e(c) = .0532, alpha_c = .7286, D_e(k) = .0490,
# alpha_k = 1 and pooled alpha .8591 +- .0005.  Spans as (start, end):
BOOK = [
    [(225, 295, "c"), (370, 400, "c"), (180, 240, "k"), (300, 350, "k")],
    [(220, 300, "c"), (355, 375, "c"), (400, 420, "c"), (180, 240, "k"), (300, 350, "k")],
]
# c, D_o: span-span pairs (225,295)~(220,300): 5^2 + 5^2 = 50; (370,400)~(355,375):
# 15^2 + 25^2 = 850; span (400,420) of observer 2 inside observer 1's gap (400,450): 20^2
# = 400.  (370,400) and (400,420) only touch.  D_o = 2 x 1300 / (2 x 1 x 300^2) = 0.0144444
# c, D_e: spans 70, 30, 80, 20, 20 (N = 5); gaps 75, 75, 50 | 70, 55, 25, 30.
#   l=70: 4 x 70 x 69 x 139/3 = 895160 + 4900 x (6+6+1)            = 958860
#   l=30: 4 x 30 x 29 x 59/3  =  68440 +  900 x (46+46+21+41+26+1)  = 231340
#   l=80: 4 x 80 x 79 x 159/3 = 1339840 + 0 (no gap that long)      = 1339840
#   l=20: 4 x 20 x 19 x 39/3  =  19760 +  400 x (56+56+31+51+36+6+11) = 118560 (twice)
#   sum = 2767160;  denominator = 600 x 599 - (4830 + 870 + 6320 + 380 + 380) = 346620
#   D_e = (2/300) x 2767160 / 346620 = 0.0532218;  alpha_c = 1 - 0.0144444/0.0532218 = 0.7285990
# k, D_o = 0 (identical); D_e: spans 60, 50, 60, 50 (N = 4); gaps 30, 60, 100 per observer.
#   l=60: 3 x 60 x 59 x 119/3 = 421260 + 3600 x (1+41+1+41) = 723660 (twice)
#   l=50: 3 x 50 x 49 x 99/3  = 242550 + 2500 x (11+51+11+51) = 552550 (twice)
#   D_e = (2/300) x 2552420 / (359400 - 11980) = 0.0489786
# pooled: 1 - 0.0144444 / (0.0532218 + 0.0489786) = 0.8586654  (.859 to three places)
BOOK_D_O_C = 2600 / 180000
BOOK_D_E_C = 2 / 300 * 2767160 / 346620
BOOK_D_E_K = 2 / 300 * 2552420 / 347420


def test_krippendorff_2004_example():
    c = unitizing_alpha_result(BOOK, (150, 450), category="c")
    assert c.observed_disagreement == approx(BOOK_D_O_C)
    assert c.expected_disagreement == approx(BOOK_D_E_C)
    assert c.value == approx(1 - BOOK_D_O_C / BOOK_D_E_C)
    assert round(c.observed_disagreement, 4) == 0.0144
    assert round(c.expected_disagreement, 4) == 0.0532
    assert round(c.value, 4) == 0.7286
    k = unitizing_alpha_result(BOOK, (150, 450), category="k")
    assert k.expected_disagreement == approx(BOOK_D_E_K)
    assert k.value == 1.0
    pooled = unitizing_alpha(BOOK, (150, 450))
    assert pooled == approx(1 - BOOK_D_O_C / (BOOK_D_E_C + BOOK_D_E_K))
    assert pooled == approx(0.8591, abs=5e-4)


def test_one_character_span_of_one_coder_in_three():
    # m = 3, L = 20, coder 0 marks [0, 1).  D_o: the span lies inside the other two
    # coders' gap [0, 20): delta2 = 1 for 4 ordered pairs, 4 / (3 x 2 x 400) = 1/600.
    # D_e: N = 1, l = 1, first term 0; gaps 19, 20, 20 -> 1 x 59; (2/20) x 59 / (60 x 59)
    # = 1/600.  alpha_u = 1 - 1 = 0 (DKPro's testSingleAnnotationUnit also expects 0).
    result = unitizing_alpha_result([[(0, 1, "X")], [], []], (0, 20))
    assert result.observed_disagreement == approx(1 / 600)
    assert result.expected_disagreement == approx(1 / 600)
    assert result.value == approx(0.0)


@pytest.mark.parametrize("coders, seed", [(2, 0), (2, 1), (3, 2), (4, 3)])
def test_one_character_spans_equal_nominal_alpha_per_character(coders, seed):
    # With every span one character long, both disagreements are those of nominal alpha
    # on the per-character 0/1 data divided by L, so alpha_u equals that alpha (computed
    # here by the krippendorff package).
    rng = np.random.default_rng(seed)
    marks = rng.random((coders, 40)) < 0.3
    spans = [[(int(i), int(i) + 1, "q") for i in np.flatnonzero(row)] for row in marks]
    expected = krippendorff.alpha(marks.astype(float), level_of_measurement="nominal")
    assert unitizing_alpha(spans, (0, 40)) == approx(expected)


# --- properties -------------------------------------------------------------------------


def test_identical_codings_give_one():
    coding = [(0, 12, "a"), (5, 9, "b"), (20, 33, "a"), (40, 41, "c")]
    for m in (2, 3, 5):
        assert unitizing_alpha([list(coding) for _ in range(m)], (0, 50)) == 1.0
        assert unitizing_alpha([list(coding) for _ in range(m)], (0, 50), category="b") == 1.0


def test_category_restricts_to_that_label():
    only_x = [[s for s in coder if s[2] == "x"] for coder in SMALL]
    assert unitizing_alpha(SMALL, (0, 10), category="x") == unitizing_alpha(only_x, (0, 10))
    # Spans of other labels do not move alpha_u of x ...
    other_y = [SMALL[0], [(3, 7, "x"), (0, 2, "y")]]
    assert unitizing_alpha(other_y, (0, 10), category="x") == approx(131 / 220)
    # ... but they do move the pooled value.
    assert unitizing_alpha(other_y, (0, 10)) != approx(unitizing_alpha(SMALL, (0, 10)))


def test_spans_of_different_labels_may_overlap_and_same_label_spans_may_touch():
    spans = [[(0, 5, "a"), (5, 8, "a"), (2, 6, "b")], [(0, 5, "a"), (5, 8, "a"), (2, 6, "b")]]
    assert unitizing_alpha(spans, (0, 10)) == 1.0


# --- undefined values -------------------------------------------------------------------


def test_no_spans_at_all_is_undefined_with_reason():
    result = unitizing_alpha_result([[], [], []], (0, 100))
    assert math.isnan(result.value) and not result.defined
    assert "no coder marked any span" in result.reason
    assert math.isnan(unitizing_alpha([[], []], (0, 100)))


def test_unused_category_is_undefined_with_reason():
    result = unitizing_alpha_result(SMALL, (0, 10), category="z")
    assert math.isnan(result.value)
    assert "'z'" in result.reason


def test_zero_expected_disagreement_is_undefined():
    # L = 1 and both coders mark the one character: no gaps, spans of length 1, so both
    # terms of D_e vanish; D_o = 0 too.
    result = unitizing_alpha_result([[(0, 1, "a")], [(0, 1, "a")]], (0, 1))
    assert math.isnan(result.value)
    assert "expected disagreement is 0" in result.reason


# --- the contract -----------------------------------------------------------------------


def test_returns_a_plain_float_and_result_is_frozen():
    assert type(unitizing_alpha(SMALL, (0, 10))) is float
    result = unitizing_alpha_result(SMALL, (0, 10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 0.0


@pytest.mark.parametrize(
    "spans, continuum, message",
    [
        ([[(0, 5, "a"), (4, 8, "a")], []], (0, 10), "overlapping spans"),
        ([[(0, 5, "a"), (0, 5, "a")], []], (0, 10), "overlapping spans"),
        ([[(8, 12, "a")], []], (0, 10), "within the continuum"),
        ([[(3, 3, "a")], []], (0, 10), "non-empty"),
        ([[(5, 3, "a")], []], (0, 10), "non-empty"),
        ([[(0, 5, "a")]], (0, 10), "at least 2 coders"),
        ([[(0, 2.5, "a")], []], (0, 10), "integer offsets"),
        ([[(0, 5)], []], (0, 10), "integer offsets"),
        ([[], []], (10, 10), "empty"),
        ([[], []], (0, 10.0), "integers"),
    ],
)
def test_bad_input_raises_a_value_error(spans, continuum, message):
    with pytest.raises(AgreementInputError, match=message) as info:
        unitizing_alpha(spans, continuum)
    assert isinstance(info.value, ValueError)
