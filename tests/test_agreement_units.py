"""From spans to unit decisions, and from decisions to the report (checked against the
library-backed `reliability`)."""

import math
import random

import numpy as np
import pytest

from workbench.agreement import reliability
from workbench.agreement.report import agreement_report, coefficients_from_tables, disagreements, estimate, flag_for
from workbench.agreement.units import Segment, TranscriptCoding, decide


@pytest.mark.parametrize("seed", range(12))
def test_closed_forms_equal_the_library_backed_coefficients(seed):
    rng = random.Random(seed)
    n = rng.randint(5, 60)
    p = rng.random()
    first = [rng.random() < p for _ in range(n)]
    second = [x if rng.random() < 0.8 else not x for x in first]
    table = (sum(a and b for a, b in zip(first, second)), sum(a and not b for a, b in zip(first, second)),
             sum(b and not a for a, b in zip(first, second)), sum(not a and not b for a, b in zip(first, second)))
    ours = coefficients_from_tables(*table)
    for name in ("percent_agreement", "cohen_kappa", "scott_pi", "krippendorff_alpha", "gwet_ac1", "brennan_prediger"):
        expected = reliability([first, second], name, categories=[False, True])
        value = float(ours[name])
        assert (math.isnan(value) and math.isnan(expected)) or value == pytest.approx(expected, abs=1e-9), name


def test_undefined_when_nobody_varies():
    values = coefficients_from_tables(0, 0, 0, 50)
    assert values["percent_agreement"] == 1.0
    assert math.isnan(values["cohen_kappa"]) and math.isnan(values["krippendorff_alpha"])
    result = estimate((0, 0, 0, 50), 100, np.random.default_rng(1))
    assert result["cohen_kappa"].reason and math.isnan(result["cohen_kappa"].value)


def transcript(spans):
    """'Amy' talks in two turns of two sentences; the interviewer asks one question."""
    # 0         1         2         3         4         5         6
    # 0123456789012345678901234567890123456789012345678901234567890123
    segments = [Segment(13, 23, 0, True),   # interviewer question
                Segment(29, 39, 1), Segment(40, 50, 1),   # Amy, turn 1: two sentences
                Segment(56, 66, 2)]                        # Amy, turn 2
    return TranscriptCoding("t", 70, segments, spans)


def test_a_unit_is_coded_when_spans_cover_the_threshold():
    coding = transcript({"A": {"x": [(29, 34)]}, "B": {"x": [(29, 33)]}})  # 5 vs 4 of 10 characters
    d = decide(coding, ["A", "B"], ["x"], "sentence", threshold=0.5)
    assert d.units == [(29, 39), (40, 50), (56, 66)]  # the interviewer's question is no unit
    assert d.coded["A"][:, 0].tolist() == [True, False, False]
    assert d.coded["B"][:, 0].tolist() == [False, False, False]
    lower = decide(coding, ["A", "B"], ["x"], "sentence", threshold=0.4)
    assert lower.coded["B"][:, 0].tolist() == [True, False, False]
    with_interviewer = decide(coding, ["A", "B"], ["x"], "sentence", include_interviewer=True)
    assert with_interviewer.n_units == 4


def test_turn_transcript_and_character_units():
    coding = transcript({"A": {"x": [(29, 45)]}, "B": {"x": [(60, 62)]}})
    turn = decide(coding, ["A", "B"], ["x"], "turn")
    assert turn.units == [(29, 50), (56, 66)]
    assert turn.coded["A"][:, 0].tolist() == [True, False]  # 15 of 20 talk characters
    assert turn.coded["B"][:, 0].tolist() == [False, False]  # 2 of 10
    whole = decide(coding, ["A", "B"], ["x"], "transcript")
    assert whole.coded["A"][:, 0].tolist() == [True] and whole.coded["B"][:, 0].tolist() == [True]
    chars = decide(coding, ["A", "B"], ["x"], "character")
    assert chars.n_units == 30  # talk characters only: no labels, no gaps, no interviewer
    assert int(chars.coded["A"][:, 0].sum()) == 10 + 5 and int(chars.coded["B"][:, 0].sum()) == 2


def test_the_report_pools_units_and_matches_the_coefficients_on_all_decisions():
    rng = random.Random(3)
    decisions, flat_a, flat_b = [], [], []
    for k in range(4):
        segments = [Segment(i * 10, i * 10 + 8, i) for i in range(30)]
        spans = {coder: {code: [(i * 10, i * 10 + 8) for i in range(30) if rng.random() < rate]
                         for code, rate in (("x", 0.3), ("y", 0.1))} for coder in ("A", "B")}
        d = decide(TranscriptCoding(f"t{k}", 300, segments, spans), ["A", "B"], ["x", "y"])
        decisions.append(d)
        flat_a += d.coded["A"].ravel().tolist()
        flat_b += d.coded["B"].ravel().tolist()
    report = agreement_report(decisions, ["A", "B"], "sentence", draws=300, seed=5)
    assert report.overall.n_units == 4 * 30 * 2
    assert report.overall.estimates["cohen_kappa"].value == pytest.approx(
        reliability([flat_a, flat_b], "cohen_kappa"))
    x_a = [v for d in decisions for v in d.coded["A"][:, 0]]
    x_b = [v for d in decisions for v in d.coded["B"][:, 0]]
    by_code = {r.code: r for r in report.by_code}
    assert by_code["x"].estimates["krippendorff_alpha"].value == pytest.approx(
        reliability([x_a, x_b], "krippendorff_alpha"))
    assert by_code["x"].marginals == {"A": sum(x_a), "B": sum(x_b)}
    overall = report.overall.estimates["krippendorff_alpha"]
    assert overall.low <= overall.value <= overall.high
    again = agreement_report(decisions, ["A", "B"], "sentence", draws=300, seed=5)
    assert again.overall.estimates == report.overall.estimates  # seeded: reproducible
    assert len(report.by_transcript) == 4 and report.cells[("y", "t0")] == tuple(
        int(v) for v in (np.sum(decisions[0].coded["A"][:, 1] & decisions[0].coded["B"][:, 1]),
                         np.sum(decisions[0].coded["A"][:, 1] & ~decisions[0].coded["B"][:, 1]),
                         np.sum(~decisions[0].coded["A"][:, 1] & decisions[0].coded["B"][:, 1]),
                         np.sum(~decisions[0].coded["A"][:, 1] & ~decisions[0].coded["B"][:, 1])))


def test_flags_and_the_kappa_paradox_note():
    assert [flag_for(v) for v in (0.5, 0.7, 0.85, float("nan"))] == ["unreliable", "tentative", "reliable", "undefined"]
    rare = TranscriptCoding("t", 1000, [Segment(i * 10, i * 10 + 9, i) for i in range(100)],
                            {"A": {"x": [(0, 9)]}, "B": {"x": [(10, 19)]}})
    report = agreement_report([decide(rare, ["A", "B"], ["x"])], ["A", "B"], "sentence", draws=0)
    row = report.by_code[0]
    assert row.estimates["percent_agreement"].value == 0.98 and row.estimates["cohen_kappa"].value < 0
    assert any("kappa paradox" in note for note in row.notes)
    assert math.isnan(row.estimates["cohen_kappa"].low)  # no bootstrap asked for


def test_disagreements_list_units_and_merge_character_runs():
    coding = transcript({"A": {"x": [(29, 39)], "y": [(56, 66)]}, "B": {"x": [(29, 39), (40, 50)]}})
    found = disagreements([decide(coding, ["A", "B"], ["x", "y"])], ["A", "B"])
    assert [(d.start, d.end, d.code, d.coded_by, d.not_coded_by) for d in found] == [
        (40, 50, "x", ["B"], ["A"]), (56, 66, "y", ["A"], ["B"])]
    chars = disagreements([decide(coding, ["A", "B"], ["x", "y"], "character")], ["A", "B"])
    assert [(d.start, d.end, d.code) for d in chars] == [(40, 50, "x"), (56, 66, "y")]
