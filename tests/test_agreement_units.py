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


# --- the words that report the numbers (pure) ---------------------------------------------------

def _result(value, low, high, table=(262, 94, 262, 80902), coders=("priya", "tom"), scope="overall"):
    from workbench.agreement.report import Estimate, Result

    estimates = {name: Estimate(value, low, high) for name in
                 ("percent_agreement", "cohen_kappa", "scott_pi", "krippendorff_alpha", "gwet_ac1", "brennan_prediger")}
    estimates["percent_agreement"] = Estimate((table[0] + table[3]) / sum(table), math.nan, math.nan)
    return Result(scope, None, None, coders, sum(table), table, {}, estimates, "unreliable")


def _report(result, units=2304, codes=40, transcripts=12, unit="sentence", by_pair=None, coders=("priya", "tom")):
    from workbench.agreement.report import Report

    return Report(unit, 0.5, list(coders), [f"c{k}" for k in range(codes)], [f"t{k}" for k in range(transcripts)],
                  1000, 1, [], [], by_pair or [result], result if by_pair is None else None, {}, [], units)


def test_the_headline_names_the_coefficient_interval_units_and_coders():
    from workbench.agreement.report import headline

    report = _report(_result(0.5812, 0.5391, 0.6249))
    assert headline(report, "krippendorff_alpha") == \
        "Krippendorff's α = 0.58, 95% CI 0.54–0.62, 2,304 sentences × 40 codes, priya vs tom"
    assert headline(report, "cohen_kappa").startswith("Cohen's κ = 0.58, ")
    one = _report(_result(0.7, math.nan, math.nan), units=1, codes=1, unit="turn")
    assert headline(one, "gwet_ac1") == "Gwet's AC1 = 0.70, 1 speaker turn × 1 code, priya vs tom"  # no interval
    undefined = _report(_result(math.nan, math.nan, math.nan))
    undefined.overall.estimates["krippendorff_alpha"] = undefined.overall.estimates["krippendorff_alpha"].__class__(
        math.nan, math.nan, math.nan, "no variation: only one answer was given")
    assert headline(undefined, "krippendorff_alpha").startswith(
        "Krippendorff's α undefined (no variation: only one answer was given), 2,304 sentences")


def test_percent_agreement_is_shown_with_what_it_counts():
    from workbench.agreement.report import percent_line

    line = percent_line(_report(_result(0.59, 0.55, 0.63)))
    assert line == ("Percent agreement 99.6% counts all 81,520 sentence × code decisions, 80,902 of them coded by "
                    "neither coder; of the 618 that priya or tom coded, both coded 262 (only priya 94, only tom 262).")


def test_never_minus_zero():
    from workbench.agreement.report import headline, interval, methods_sentence, number, rounded, Settings

    assert number(-0.0004) == "0.00" and number(-0.0004, 3) == "0.000" and number(-0.0) == "0.00"
    assert number(-0.006) == "-0.01" and number(0.5) == "0.50" and number(None) == number(math.nan) == "undefined"
    assert interval(-0.004, 0.2) == "0.00–0.20" and interval(math.nan, 0.2) == ""
    assert math.copysign(1, rounded(-0.0001)) == 1 and rounded(-0.0001) == 0 and rounded(math.nan) is None
    report = _report(_result(-0.000245, -0.0049, 0.0))
    texts = [headline(report, "krippendorff_alpha"),
             methods_sentence(report, Settings(("priya", "tom"), "sentence", 0.5, ("t0",)))]
    assert all("-0.00" not in t for t in texts) and "α = 0.00, 95% CI 0.00–0.00" in texts[0]


def test_the_methods_sentence_from_settings_and_results():
    from workbench.agreement.report import Settings, methods_sentence

    report = _report(_result(0.5812, 0.5391, 0.6249))
    settings = Settings(("priya", "tom"), "sentence", 0.5, tuple(report.transcripts))
    sentence = methods_sentence(report, settings)
    assert sentence.startswith(
        "Inter-coder agreement was assessed on 12 transcripts coded independently by priya and tom, at the level of "
        "sentences (2,304 units) for 40 codes; Krippendorff's α (nominal, binary per code) was 0.58 "
        "(95% bootstrap CI 0.54–0.62, 1,000 draws). ")
    assert "covered at least 50% of it" in sentence and "counted as agreement" in sentence
    assert "sub-themes" not in sentence and "Interviewer" not in sentence
    other = methods_sentence(_report(_result(0.7, math.nan, math.nan, coders=("priya", "consensus")), unit="transcript",
                                     units=12, coders=("priya", "consensus")),
                             Settings(("priya", "consensus"), "transcript", 0.5, (), coefficient="cohen_kappa",
                                      rollup=True, include_interviewer=True, independent=False))
    assert other.startswith("Inter-coder agreement was assessed on 12 transcripts coded by priya and consensus, at the "
                            "level of whole transcripts (12 units, code present or absent) for 40 codes; Cohen's κ "
                            "(binary per code) was 0.70.")
    assert "covered at least" not in other
    assert "Codings of sub-themes counted for their theme." in other and "Interviewer turns were included" in other
    pairs = [_result(0.6, 0.5, 0.7, coders=("a", "b"), scope="pair"), _result(0.8, 0.7, 0.9, coders=("a", "c"), scope="pair")]
    three = _report(None, by_pair=pairs, coders=("a", "b", "c"))
    assert "by a, b and c" in methods_sentence(three, Settings(("a", "b", "c"), "sentence", 0.5, ()))
    assert ("was 0.60 for a and b (95% bootstrap CI 0.50–0.70, 1,000 draws), 0.80 for a and c"
            in methods_sentence(three, Settings(("a", "b", "c"), "sentence", 0.5, ())))


def test_the_settings_rows_record_what_produced_a_report():
    from workbench.agreement.report import Settings, settings_rows

    settings = Settings(("priya", "tom"), "turn", 0.6, ("M01_Amy", "M02_Bethan"), coefficient="gwet_ac1", rollup=True,
                        draws=1000, seed=7, date="2025-05-01 10:00 UTC")
    rows = dict(settings_rows(settings, "The sentence."))
    assert rows == {"coders": "priya, tom", "unit": "turn", "threshold": "60% of a unit covered",
                    "coefficient": "Gwet's AC1", "roll-up": "sub-themes counted for their theme",
                    "interviewer turns": "not counted", "transcripts": "2: M01_Amy, M02_Bethan",
                    "bootstrap draws": "1,000", "seed": "7", "date": "2025-05-01 10:00 UTC",
                    "methods sentence": "The sentence."}


def test_too_few_codings_to_judge():
    from workbench.agreement.report import TOO_FEW

    assert flag_for(0.9, coded=9) == TOO_FEW  # both + only A + only B under 10
    assert flag_for(0.9, coded=10) == "reliable"  # no bootstrap: the count alone decides
    assert flag_for(0.9, coded=10, low=0.6, high=1.0, bootstrapped=True) == "reliable"  # width 0.4
    assert flag_for(0.7, coded=10, low=0.45, high=0.95, bootstrapped=True) == "tentative"  # width exactly 0.5
    assert flag_for(0.7, coded=40, low=0.4, high=0.91, bootstrapped=True) == TOO_FEW  # wider than 0.5
    assert flag_for(0.7, coded=40, bootstrapped=True) == TOO_FEW  # no interval: too few defined draws
    assert flag_for(float("nan"), coded=0) == TOO_FEW and flag_for(float("nan"), coded=20) == "undefined"
    segments = [Segment(i * 10, i * 10 + 9, i) for i in range(200)]
    nine = {"A": {"x": [(i * 10, i * 10 + 9) for i in range(9)], "y": [(i * 10, i * 10 + 9) for i in range(60)]},
            "B": {"x": [(i * 10, i * 10 + 9) for i in range(9)], "y": [(i * 10, i * 10 + 9) for i in range(60)]}}
    report = agreement_report([decide(TranscriptCoding("t", 2000, segments, nine), ["A", "B"], ["x", "y"])],
                              ["A", "B"], "sentence", draws=200)
    x, y = report.by_code
    assert x.estimates["krippendorff_alpha"].value == 1.0 and x.flag == TOO_FEW  # perfect, but only 9 units
    assert y.flag == "reliable"


def test_no_paradox_note_on_a_code_nobody_applied_at_the_unit():
    coding = TranscriptCoding("t", 1000, [Segment(i * 10, i * 10 + 9, i) for i in range(100)],
                              {"A": {"x": [(0, 2)]}, "B": {}})  # used, but below the threshold of any sentence
    report = agreement_report([decide(coding, ["A", "B"], ["x"])], ["A", "B"], "sentence", draws=0)
    assert report.by_code[0].table == (0, 0, 0, 100) and report.by_code[0].notes == []


def test_the_default_transcripts_are_those_every_chosen_coder_submitted():
    from workbench.agreement.report import default_transcripts, unfinished_transcripts

    states = {"T1": {"priya": "submitted", "tom": "submitted"},
              "T2": {"priya": "submitted", "tom": "assigned"},            # tom is still coding
              "T3": {"priya": "submitted", "tom": "submitted", "consensus": "coded"},
              "T4": {"priya": "submitted"},                               # tom has nothing here
              "T5": {"ana": "coded", "tom": "submitted"}}                 # a lead's codings, no assignment
    assert default_transcripts(states, ["priya", "tom"]) == ["T1", "T3"]
    assert unfinished_transcripts(states, ["priya", "tom"]) == ["T2"]
    assert default_transcripts(states, ["priya", "consensus"]) == ["T3"]
    assert default_transcripts(states, ["ana", "tom"]) == ["T5"]
