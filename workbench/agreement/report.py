"""Agreement results a methods section can cite (pure): per code, per transcript, per coder pair
and overall — pooled over units, never an average of averages — with the number of units, each
coder's marginals, percent agreement beside every chance-corrected value, seeded bootstrap 95%
intervals and reliability flags; and the words that report them: the headline, percent
agreement with what it counts, the settings that produced a report and the methods sentence
(numbers formatted by `number`, which never prints "-0.00").

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
# A code is judged (reliable / tentative / unreliable) only with at least MIN_CODED decisions that
# some coder coded (both + only A + only B) and, when bootstrapped, an α interval at most MAX_WIDTH wide.
MIN_CODED, MAX_WIDTH = 10, 0.5
TOO_FEW = "too few codings to judge"


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


def flag_for(alpha: float, coded: int | None = None, low: float = math.nan, high: float = math.nan,
             bootstrapped: bool = False) -> str:
    """Krippendorff's (2004) reading of α — unless there is too little to judge: fewer than
    MIN_CODED decisions any coder coded (`coded` = both + only A + only B), or, when the
    interval was bootstrapped, an interval wider than MAX_WIDTH (or none: too few defined draws)."""
    if coded is not None and coded < MIN_CODED:
        return TOO_FEW
    if math.isnan(alpha):
        return "undefined"
    if bootstrapped and (math.isnan(low) or math.isnan(high) or high - low > MAX_WIDTH):
        return TOO_FEW
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
    if a + b + c == 0:
        return notes  # nobody applied the code at this unit: no paradox to explain
    if n and values["percent_agreement"].value >= 0.9 and (a + b + c) / n < 0.1 and (math.isnan(kappa) or kappa < 0.4):
        notes.append("kappa paradox: a rare code with high raw agreement but low kappa; read AC1 and percent agreement too")
    return notes


def _table(first: np.ndarray, second: np.ndarray) -> tuple[int, int, int, int]:
    return (int(np.sum(first & second)), int(np.sum(first & ~second)), int(np.sum(~first & second)),
            int(np.sum(~first & ~second)))


def _result(scope, code, transcript, pair, table, draws, rng) -> Result:
    estimates = estimate(table, draws, rng)
    a, b, c, _d = table
    alpha = estimates["krippendorff_alpha"]
    flag = flag_for(alpha.value, a + b + c, alpha.low, alpha.high, bootstrapped=bool(draws))
    return Result(scope, code, transcript, pair, sum(table), table,
                  {pair[0]: a + b, pair[1]: a + c}, estimates, flag, _notes(table, estimates))


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
    units: int = 0  # units (sentences, turns, ...), each decided for every code


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
                  by_code, by_transcript, by_pair, overall, cells, notes, sum(d.n_units for d in decisions))


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


# --- which transcripts by default ------------------------------------------------------------

SUBMITTED, ASSIGNED, CODED = "submitted", "assigned", "coded"  # a coder's state on a transcript


def _finished(state: str | None) -> bool:
    return state in (SUBMITTED, CODED)


def default_transcripts(states: dict[str, dict[str, str]], coders: list[str]) -> list[str]:
    """The transcripts every chosen coder has finished, in `states` order: `states` maps a title
    to each coder's state there — SUBMITTED or ASSIGNED (their assignment), or CODED (codings
    without an assignment: the consensus, a lead, imported codings). Others are opt-in."""
    return [title for title, by in states.items() if all(_finished(by.get(c)) for c in coders)]


def unfinished_transcripts(states: dict[str, dict[str, str]], coders: list[str]) -> list[str]:
    """The transcripts every chosen coder works on that some of them has not submitted yet."""
    return [title for title, by in states.items()
            if all(c in by for c in coders) and not all(_finished(by[c]) for c in coders)]


# --- the words that report the numbers ---------------------------------------------------------

COEFFICIENT_NAMES = {"percent_agreement": "percent agreement", "cohen_kappa": "Cohen's κ", "scott_pi": "Scott's π",
                     "krippendorff_alpha": "Krippendorff's α", "gwet_ac1": "Gwet's AC1",
                     "brennan_prediger": "Brennan–Prediger"}
# how each coefficient was applied to the coded / not-coded decisions
APPLIED_AS = {"krippendorff_alpha": "nominal, binary per code"}
UNIT_NAMES = {"sentence": ("sentence", "sentences"), "turn": ("speaker turn", "speaker turns"),
              "transcript": ("transcript", "transcripts"), "character": ("character", "characters")}


def _undefined(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, digits: int = 2) -> str:
    """A coefficient as text: `digits` decimals, "undefined" when undefined, never "-0.00"."""
    if _undefined(value):
        return "undefined"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def rounded(value: float | None, digits: int = 3) -> float | None:
    """A coefficient as a table cell: rounded, None when undefined, never -0.0."""
    return None if _undefined(value) else round(float(value), digits) + 0.0  # -0.0 + 0.0 is 0.0


def interval(low: float | None, high: float | None, digits: int = 2) -> str:
    """"0.54–0.62", or "" when there is no interval."""
    return "" if _undefined(low) or _undefined(high) else f"{number(low, digits)}–{number(high, digits)}"


def count(n: int) -> str:
    return f"{n:,}"


def share(value: float | None) -> str:
    return "undefined" if _undefined(value) else f"{number(100 * value, 1)}%"


def units_word(unit: str, n: int) -> str:
    singular, plural = UNIT_NAMES[unit]
    return singular if n == 1 else plural


def _plural(n: int, word: str) -> str:
    return f"{count(n)} {word}{'' if n == 1 else 's'}"


def names(items) -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def headline_result(report: Report) -> Result | None:
    """The result the headline reports: overall (two coders) or the first pair's."""
    return report.overall or (report.by_pair[0] if report.by_pair else None)


def headline(report: Report, coefficient: str) -> str:
    """"Krippendorff's α = 0.58, 95% CI 0.54–0.62, 2,304 sentences × 40 codes, priya vs tom"."""
    result = headline_result(report)
    name = COEFFICIENT_NAMES[coefficient]
    e = result.estimates[coefficient]
    parts = [f"{name} undefined ({e.reason})" if _undefined(e.value) else f"{name} = {number(e.value)}"]
    if interval(e.low, e.high):
        parts.append(f"95% CI {interval(e.low, e.high)}")
    parts.append(f"{count(report.units)} {units_word(report.unit, report.units)} × {_plural(len(report.codes), 'code')}")
    parts.append(" vs ".join(result.coders))
    return ", ".join(parts)


def percent_line(report: Report) -> str:
    """Percent agreement with what it counts: every (unit, code) decision, most of them agreements
    only because nobody coded the unit with the code."""
    result = headline_result(report)
    a, b, c, d = result.table
    first, second = result.coders
    singular = UNIT_NAMES[report.unit][0]
    return (f"Percent agreement {share(result.estimates['percent_agreement'].value)} counts all "
            f"{count(a + b + c + d)} {singular} × code decisions, {count(d)} of them coded by neither coder; "
            f"of the {count(a + b + c)} that {first} or {second} coded, both coded {count(a)} "
            f"(only {first} {count(b)}, only {second} {count(c)}).")


@dataclass(frozen=True)
class Settings:
    """What produced a report: recorded in every download beside the numbers."""
    coders: tuple[str, ...]
    unit: str
    threshold: float
    transcripts: tuple[str, ...]
    coefficient: str = "krippendorff_alpha"
    rollup: bool = False
    include_interviewer: bool = False
    draws: int = 1000
    seed: int = 1
    date: str = ""  # when the numbers were computed
    independent: bool = True  # False when a coding compared is the consensus built from the others


def methods_sentence(report: Report, settings: Settings) -> str:
    """The sentences a methods section can cite, from the settings and the results."""
    n_transcripts = len(report.transcripts)
    how = "coded independently by" if settings.independent else "coded by"
    units = f"{count(report.units)} unit{'' if report.units == 1 else 's'}"
    level = {"transcript": f"whole transcripts ({units}, code present or absent)"}.get(
        report.unit, f"{UNIT_NAMES[report.unit][1]} ({units})")
    name = COEFFICIENT_NAMES[settings.coefficient]
    applied = APPLIED_AS.get(settings.coefficient, "binary per code")

    def value(result: Result, pair: bool) -> str:
        e = result.estimates[settings.coefficient]
        said = f"undefined ({e.reason})" if _undefined(e.value) else number(e.value)
        if pair:
            said += f" for {names(result.coders)}"
        if interval(e.low, e.high):
            said += f" (95% bootstrap CI {interval(e.low, e.high)}, {count(report.draws)} draws)"
        return said

    results = [report.overall] if report.overall else report.by_pair
    values = ", ".join(value(r, report.overall is None) for r in results)
    text = (f"Inter-coder agreement was assessed on {_plural(n_transcripts, 'transcript')} {how} "
            f"{names(report.coders)}, at the level of {level} for {_plural(len(report.codes), 'code')}; "
            f"{name} ({applied}) was {values}.")
    more = []
    if report.unit in ("sentence", "turn"):
        more.append(f"A {UNIT_NAMES[report.unit][0]} counted as coded with a code when a coder's passages with "
                    f"it covered at least {number(100 * report.threshold, 0)}% of it.")
    more.append("Units no coder coded with a code counted as agreement on that code.")
    if settings.rollup:
        more.append("Codings of sub-themes counted for their theme.")
    if settings.include_interviewer:
        more.append("Interviewer turns were included as units.")
    return " ".join([text] + more)


def settings_rows(settings: Settings, methods: str | None = None) -> list[tuple[str, str]]:
    """The settings as (setting, value) rows, for a sheet, CSV columns or a document."""
    rows = [
        ("coders", ", ".join(settings.coders)),
        ("unit", settings.unit),
        ("threshold", f"{number(100 * settings.threshold, 0)}% of a unit covered"
         + ("" if settings.unit in ("sentence", "turn") else " (not used at this unit)")),
        ("coefficient", COEFFICIENT_NAMES[settings.coefficient]),
        ("roll-up", "sub-themes counted for their theme" if settings.rollup else "no"),
        ("interviewer turns", "counted" if settings.include_interviewer else "not counted"),
        ("transcripts", f"{len(settings.transcripts)}: {', '.join(settings.transcripts)}"),
        ("bootstrap draws", count(settings.draws)),
        ("seed", str(settings.seed)),
        ("date", settings.date),
    ]
    if methods:
        rows.append(("methods sentence", methods))
    return rows
