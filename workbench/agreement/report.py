"""Agreement results a methods section can cite (pure): per code, per transcript, per coder pair
and overall — pooled over units, never an average of averages — with the number of units, each
coder's marginals, percent agreement beside every chance-corrected value, seeded bootstrap 95%
intervals and reliability flags.

Two coders rating every unit as coded / not coded give a 2×2 table (a both, b only the first,
c only the second, d neither) from which every coefficient follows in closed form; the tests
check these formulas against `reliability` (which uses the `krippendorff` package and
scikit-learn). Bootstrapping resamples the pooled decisions: units for a per-code or
per-transcript value, (unit, code) decisions for the overall value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from .units import Decisions

COEFFICIENTS = ("percent_agreement", "cohen_kappa", "scott_pi", "krippendorff_alpha", "gwet_ac1",
                "brennan_prediger")
UNRELIABLE, TENTATIVE = 0.667, 0.800


def coefficients_from_tables(a, b, c, d) -> dict[str, np.ndarray]:
    """Every coefficient for arrays of 2×2 tables (binary codes, two coders, no missing).
    Undefined values (0/0) are NaN."""
    a, b, c, d = (np.asarray(x, dtype=float) for x in (a, b, c, d))
    n = a + b + c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        p_o = (a + d) / n
        p_first, p_second = (a + b) / n, (a + c) / n
        share = (2 * a + b + c) / (2 * n)  # the pooled share of "coded"

        def corrected(p_e):
            return np.where(np.isclose(p_e, 1.0), np.nan, (p_o - p_e) / (1 - p_e))

        ones, zeros = 2 * a + b + c, 2 * d + b + c
        alpha = np.where(ones * zeros == 0, np.nan, 1 - (2 * n - 1) * (b + c) / (ones * zeros))
        return {
            "percent_agreement": np.where(n > 0, p_o, np.nan),
            "cohen_kappa": corrected(p_first * p_second + (1 - p_first) * (1 - p_second)),
            "scott_pi": corrected(share ** 2 + (1 - share) ** 2),
            "krippendorff_alpha": alpha,
            "gwet_ac1": corrected(2 * share * (1 - share)),
            "brennan_prediger": np.where(n > 0, 2 * p_o - 1, np.nan),
        }


UNDEFINED_REASON = {
    "cohen_kappa": "chance agreement is 1: both coders gave one answer throughout",
    "scott_pi": "chance agreement is 1: only one answer was given",
    "krippendorff_alpha": "no variation: only one answer was given",
    "gwet_ac1": "chance agreement is 1",
    "percent_agreement": "no units",
    "brennan_prediger": "no units",
}


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    reason: str | None = None  # why the value is undefined


@dataclass
class Result:
    scope: str  # code | transcript | pair | overall
    code: str | None
    transcript: str | None
    coders: tuple[str, str]
    n_units: int
    table: tuple[int, int, int, int]  # both, only first, only second, neither
    marginals: dict[str, int]
    estimates: dict[str, Estimate]
    flag: str
    notes: list[str] = field(default_factory=list)


def flag_for(alpha: float) -> str:
    if math.isnan(alpha):
        return "undefined"
    if alpha < UNRELIABLE:
        return "unreliable"
    if alpha < TENTATIVE:
        return "tentative"
    return "reliable"


def estimate(table, draws: int, rng: np.random.Generator) -> dict[str, Estimate]:
    a, b, c, d = table
    n = a + b + c + d
    values = coefficients_from_tables(a, b, c, d)
    intervals = {}
    if draws and n:
        samples = rng.multinomial(n, np.array(table, dtype=float) / n, size=draws)
        boot = coefficients_from_tables(*samples.T)
        for name, series in boot.items():
            finite = series[np.isfinite(series)]
            intervals[name] = (tuple(np.percentile(finite, [2.5, 97.5])) if len(finite) >= 0.5 * draws
                               else (math.nan, math.nan))
    out = {}
    for name in COEFFICIENTS:
        value = float(values[name])
        low, high = intervals.get(name, (math.nan, math.nan))
        out[name] = Estimate(value, float(low), float(high), None if not math.isnan(value) else UNDEFINED_REASON[name])
    return out


def _notes(table, values: dict[str, Estimate]) -> list[str]:
    a, b, c, d = table
    n = a + b + c + d
    notes = []
    kappa = values["cohen_kappa"].value
    if n and values["percent_agreement"].value >= 0.9 and (a + b + c) / n < 0.1 and (math.isnan(kappa) or kappa < 0.4):
        notes.append("kappa paradox: a rare code with high raw agreement but low kappa; read AC1 and percent agreement too")
    return notes


def _table(first: np.ndarray, second: np.ndarray) -> tuple[int, int, int, int]:
    return (int(np.sum(first & second)), int(np.sum(first & ~second)), int(np.sum(~first & second)),
            int(np.sum(~first & ~second)))


def _result(scope, code, transcript, pair, table, draws, rng) -> Result:
    estimates = estimate(table, draws, rng)
    a, b, c, _d = table
    return Result(scope, code, transcript, pair, sum(table), table,
                  {pair[0]: a + b, pair[1]: a + c}, estimates, flag_for(estimates["krippendorff_alpha"].value),
                  _notes(table, estimates))


@dataclass
class Report:
    unit: str
    threshold: float
    coders: list[str]
    codes: list[str]
    transcripts: list[str]
    draws: int
    seed: int
    by_code: list[Result]
    by_transcript: list[Result]
    by_pair: list[Result]
    overall: Result | None
    cells: dict[tuple[str, str], tuple[int, int, int, int]]  # (code, transcript) -> 2×2 table of the first pair
    notes: list[str] = field(default_factory=list)


def agreement_report(decisions: list[Decisions], coders: list[str], unit: str, threshold: float = 0.5,
                     draws: int = 1000, seed: int = 1) -> Report:
    """Per code, per transcript, per coder pair and overall agreement from units' decisions."""
    if len(coders) < 2:
        raise ValueError("agreement needs at least two coders")
    rng = np.random.default_rng(seed)
    codes = decisions[0].codes if decisions else []
    pairs = list(combinations(coders, 2))
    first = pairs[0]
    cells = {}
    per_code = {code: np.zeros(4, dtype=int) for code in codes}
    per_transcript = {}
    for d in decisions:
        total = np.zeros(4, dtype=int)
        for k, code in enumerate(codes):
            table = np.array(_table(d.coded[first[0]][:, k], d.coded[first[1]][:, k]))
            cells[(code, d.title)] = tuple(int(x) for x in table)
            per_code[code] += table
            total += table
        per_transcript[d.title] = tuple(int(x) for x in total)
    by_code = [_result("code", code, None, first, tuple(int(x) for x in per_code[code]), draws, rng) for code in codes]
    by_transcript = [_result("transcript", None, title, first, table, draws, rng)
                     for title, table in per_transcript.items()]
    by_pair = []
    for pair in pairs:
        table = np.zeros(4, dtype=int)
        for d in decisions:
            table += np.array(_table(d.coded[pair[0]], d.coded[pair[1]]))
        by_pair.append(_result("pair", None, None, pair, tuple(int(x) for x in table), draws, rng))
    overall = by_pair[0] if len(pairs) == 1 else None
    if overall is not None:
        overall = Result("overall", None, None, first, overall.n_units, overall.table, overall.marginals,
                         overall.estimates, overall.flag, overall.notes)
    notes = ["Text no coder coded counts as \"not coded\" by both: such units are agreements."]
    if len(pairs) > 1:
        notes.append("More than two coders: values are given per coder pair; per-code and per-transcript "
                     f"values are for {first[0]} and {first[1]}.")
    return Report(unit, threshold, list(coders), list(codes), [d.title for d in decisions], draws, seed,
                  by_code, by_transcript, by_pair, overall, cells, notes)


@dataclass
class Disagreement:
    transcript: str
    unit: int
    start: int
    end: int
    code: str
    coded_by: list[str]
    not_coded_by: list[str]


def disagreements(decisions: list[Decisions], coders: list[str]) -> list[Disagreement]:
    """Every unit and code on which the coders' decisions differ. Character units are merged
    into runs of adjacent characters with the same split of coders."""
    out: list[Disagreement] = []
    for d in decisions:
        stacked = np.stack([d.coded[c] for c in coders])  # coders × units × codes
        differ = stacked.any(axis=0) & ~stacked.all(axis=0)
        for code_index, code in enumerate(d.codes):
            previous = None
            for unit_index in np.flatnonzero(differ[:, code_index]):
                who = [c for c, row in zip(coders, stacked[:, unit_index, code_index]) if row]
                start, end = d.units[unit_index]
                if previous and previous.end == start and previous.coded_by == who and end - start == 1:
                    previous.end = end  # the next character of a run
                    continue
                previous = Disagreement(d.title, int(unit_index), start, end, code, who,
                                        [c for c in coders if c not in who])
                out.append(previous)
    out.sort(key=lambda x: (x.transcript, x.start, x.code))
    return out
