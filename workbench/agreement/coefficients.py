"""Agreement coefficients for categorical codings of a common set of units.

`data` is one list per coder, all of the same length (one entry per unit); an entry is
the coder's label for that unit, or None (or a float NaN) when the coder did not rate it.

Missing ratings follow Gwet (Handbook of Inter-Rater Reliability, 4th ed., 2014) for
percent agreement, Cohen's kappa, Scott's pi, Fleiss' kappa, AC1 and Brennan-Prediger,
and Krippendorff (2011) for alpha; docs/agreement.md explains both.

Libraries do the work where they compute the coefficient as defined: `krippendorff`
for alpha, scikit-learn for Cohen's kappa on complete data.  Everything else is a few
lines of numpy, written to Gwet's formulas.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

from ..errors import WorkbenchError

COEFFICIENTS = (
    "percent_agreement",
    "cohen_kappa",
    "scott_pi",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
    "brennan_prediger",
)
LEVELS = ("nominal", "ordinal", "interval", "ratio")

_MISSING = -1  # code of a missing rating in the integer matrix


class AgreementInputError(WorkbenchError, ValueError):
    """Input the agreement functions cannot accept (the message says why)."""


@dataclass(frozen=True)
class ReliabilityResult:
    """A coefficient with what it was computed from.

    value     -- the coefficient, NaN when undefined
    reason    -- why the value is undefined; None when it is defined
    n_units   -- units that entered the observed agreement: rated by at least two
                 coders (Cohen's kappa: by both; alpha: pairable units)
    observed  -- observed agreement p_a (None for alpha, which works on disagreements)
    expected  -- chance agreement p_e (None for percent agreement and alpha)
    """

    value: float
    reason: str | None
    n_units: int
    observed: float | None
    expected: float | None

    @property
    def defined(self) -> bool:
        return self.reason is None


def reliability(
    data: Sequence[Sequence[Hashable | None]],
    coefficient: str,
    level: str = "nominal",
    categories: Sequence[Hashable] | None = None,
    category: Hashable | None = None,
) -> float:
    """The coefficient as a plain float; NaN when undefined (see `reliability_result`)."""
    return reliability_result(data, coefficient, level, categories, category).value


def reliability_result(
    data: Sequence[Sequence[Hashable | None]],
    coefficient: str,
    level: str = "nominal",
    categories: Sequence[Hashable] | None = None,
    category: Hashable | None = None,
) -> ReliabilityResult:
    """Compute `coefficient` (one of COEFFICIENTS) over `data`.

    level      -- nominal, ordinal, interval or ratio; alpha only, the others are nominal
    categories -- the coding scheme's full category set: q for AC1 and Brennan-Prediger,
                  rank order for ordinal alpha; every label used must be in it
    category   -- binarise: that label against all others, for a per-code value
                  (q is then 2 whatever `categories` says)
    """
    _check_coefficient(coefficient, level)
    rows = _check_data(data)
    if coefficient == "cohen_kappa" and len(rows) != 2:
        raise AgreementInputError(f"cohen_kappa needs exactly 2 coders, got {len(rows)}")
    rows, scheme = _apply_scheme(rows, categories, category)
    if coefficient == "krippendorff_alpha":
        return _krippendorff_alpha(rows, scheme, level, ordered=categories is not None)
    codes = _encode(rows, scheme)
    return _NOMINAL[coefficient](codes, len(scheme))


# --- input checks ---------------------------------------------------------------------


def _check_coefficient(coefficient: str, level: str) -> None:
    if coefficient not in COEFFICIENTS:
        raise AgreementInputError(
            f"unknown coefficient {coefficient!r}; expected one of {', '.join(COEFFICIENTS)}"
        )
    if level not in LEVELS:
        raise AgreementInputError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if level != "nominal" and coefficient != "krippendorff_alpha":
        raise AgreementInputError(
            f"level {level!r} applies to krippendorff_alpha only; {coefficient} is nominal"
        )


def _check_data(data) -> list[list]:
    """One list per coder, equal lengths, NaN turned into None."""
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence | np.ndarray):
        raise AgreementInputError("data must be a list with one list of labels per coder")
    rows = []
    for i, row in enumerate(data):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence | np.ndarray):
            raise AgreementInputError(f"coder {i} is not a list of labels")
        rows.append([None if _is_missing(x) else x for x in row])
    if len(rows) < 2:
        raise AgreementInputError(f"agreement needs at least 2 coders, got {len(rows)}")
    lengths = sorted({len(row) for row in rows})
    if len(lengths) > 1:
        raise AgreementInputError(
            f"coders' lists differ in length ({', '.join(map(str, lengths))}); "
            "every coder needs one entry per unit (None when not rated)"
        )
    return rows


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def _apply_scheme(rows, categories, category) -> tuple[list[list], list]:
    """Check labels against `categories`, binarise on `category`; return rows and scheme.

    The scheme is the ordered list of categories the coefficient sees.
    """
    observed = list(dict.fromkeys(x for row in rows for x in row if x is not None))
    if categories is not None:
        scheme = list(categories)
        known = set(scheme)
        if len(known) != len(scheme):
            raise AgreementInputError("categories contains duplicates")
        unknown = [x for x in observed if x not in known]
        if unknown:
            raise AgreementInputError(f"labels not in categories: {', '.join(map(repr, unknown))}")
        if category is not None and category not in known:
            raise AgreementInputError(f"category {category!r} is not in categories")
    else:
        scheme = _sorted_if_possible(observed)
    if category is None:
        return rows, scheme
    binary = [[None if x is None else bool(x == category) for x in row] for row in rows]
    return binary, [False, True]


def _sorted_if_possible(labels: list) -> list:
    try:
        return sorted(labels)
    except TypeError:
        return labels


def _encode(rows, scheme) -> np.ndarray:
    """Coders x units matrix of category indices, _MISSING where not rated."""
    index = {label: i for i, label in enumerate(scheme)}
    return np.array([[_MISSING if x is None else index[x] for x in row] for row in rows], dtype=int)


# --- shared pieces of the kappa family (Gwet 2014) -------------------------------------


def _undefined(reason: str, n_units: int = 0, observed=None, expected=None) -> ReliabilityResult:
    return ReliabilityResult(math.nan, reason, n_units, observed, expected)


_NO_PAIRS = "no unit was rated by at least two coders"
_ONE_CATEGORY = (
    "every rating is the same category, so chance agreement is 1 and "
    "(p_a - p_e) / (1 - p_e) is 0/0"
)


def _counts(codes: np.ndarray, q: int) -> np.ndarray:
    """Units x categories: how many coders put unit i into category k (r_ik)."""
    n_units = codes.shape[1]
    return np.array([(codes == k).sum(axis=0) for k in range(q)], dtype=int).T.reshape(n_units, q)


def _observed_agreement(counts: np.ndarray) -> tuple[float | None, int]:
    """p_a: over units rated by >= 2 coders, the share of agreeing coder pairs."""
    r = counts.sum(axis=1)
    rated = r >= 2
    if not rated.any():
        return None, 0
    c, r = counts[rated], r[rated]
    per_unit = (c * (c - 1)).sum(axis=1) / (r * (r - 1))
    return float(per_unit.mean()), int(rated.sum())


def _category_shares(counts: np.ndarray) -> np.ndarray:
    """pi_k: each rated unit's share of ratings in k, averaged over all rated units."""
    r = counts.sum(axis=1)
    rated = r >= 1
    return (counts[rated] / r[rated, None]).mean(axis=0)


def _chance_corrected(p_a: float, p_e: float, n: int) -> ReliabilityResult:
    if math.isclose(p_e, 1.0, rel_tol=0.0, abs_tol=1e-12):
        return _undefined(_ONE_CATEGORY, n, p_a, p_e)
    return ReliabilityResult((p_a - p_e) / (1 - p_e), None, n, p_a, p_e)


# --- the nominal coefficients ---------------------------------------------------------


def _percent_agreement(codes: np.ndarray, q: int) -> ReliabilityResult:
    p_a, n = _observed_agreement(_counts(codes, q))
    if p_a is None:
        return _undefined(_NO_PAIRS)
    return ReliabilityResult(p_a, None, n, p_a, None)


def _fleiss_kappa(codes: np.ndarray, q: int) -> ReliabilityResult:
    """Fleiss' kappa; for two coders this is Scott's pi (Fleiss 1971 generalises it)."""
    counts = _counts(codes, q)
    p_a, n = _observed_agreement(counts)
    if p_a is None:
        return _undefined(_NO_PAIRS)
    pi = _category_shares(counts)
    return _chance_corrected(p_a, float((pi**2).sum()), n)


def _gwet_ac1(codes: np.ndarray, q: int) -> ReliabilityResult:
    counts = _counts(codes, q)
    p_a, n = _observed_agreement(counts)
    if p_a is None:
        return _undefined(_NO_PAIRS)
    if q < 2:
        return _undefined(_too_few_categories(q), n, p_a)
    pi = _category_shares(counts)
    return _chance_corrected(p_a, float((pi * (1 - pi)).sum()) / (q - 1), n)


def _brennan_prediger(codes: np.ndarray, q: int) -> ReliabilityResult:
    p_a, n = _observed_agreement(_counts(codes, q))
    if p_a is None:
        return _undefined(_NO_PAIRS)
    if q < 2:
        return _undefined(_too_few_categories(q), n, p_a)
    return _chance_corrected(p_a, 1.0 / q, n)


def _too_few_categories(q: int) -> str:
    return (
        f"the coding scheme has {q} category; chance agreement needs q >= 2 "
        "(pass the full set as categories=)"
    )


def _cohen_kappa(codes: np.ndarray, q: int) -> ReliabilityResult:
    """Cohen's kappa; with missing ratings Gwet's convention (see `_cohen_terms`)."""
    terms = _cohen_terms(codes, q)
    if terms is None:
        return _undefined("no unit was rated by both coders")
    p_o, p_e, n = terms
    result = _chance_corrected(p_o, p_e, n)
    if result.defined and (codes != _MISSING).all():
        # Complete data: scikit-learn computes the same kappa; we report its value.
        value = float(cohen_kappa_score(codes[0], codes[1], labels=list(range(q))))
        result = ReliabilityResult(value, None, n, p_o, p_e)
    return result


def _cohen_terms(codes: np.ndarray, q: int) -> tuple[float, float, int] | None:
    """p_o over units rated by both coders; p_e from each coder's marginals over all
    that coder's ratings (Gwet 2014), so a rating the other coder lacks still counts."""
    a, b = codes
    both = (a != _MISSING) & (b != _MISSING)
    if not both.any():
        return None
    p_o = float((a[both] == b[both]).mean())
    marg_a = np.bincount(a[a != _MISSING], minlength=q) / (a != _MISSING).sum()
    marg_b = np.bincount(b[b != _MISSING], minlength=q) / (b != _MISSING).sum()
    return p_o, float(marg_a @ marg_b), int(both.sum())


_NOMINAL = {
    "percent_agreement": _percent_agreement,
    "cohen_kappa": _cohen_kappa,
    "scott_pi": _fleiss_kappa,
    "fleiss_kappa": _fleiss_kappa,
    "gwet_ac1": _gwet_ac1,
    "brennan_prediger": _brennan_prediger,
}


# --- Krippendorff's alpha -------------------------------------------------------------


def _krippendorff_alpha(rows, scheme, level: str, ordered: bool) -> ReliabilityResult:
    """Alpha by the `krippendorff` package, after catching the 0/0 cases it cannot."""
    values = _alpha_values(rows, scheme, level, ordered)
    rated = (~np.isnan(values)).sum(axis=0)
    pairable = values[:, rated >= 2]
    n = pairable.shape[1]
    if n == 0:
        return _undefined(_NO_PAIRS)
    if np.unique(pairable[~np.isnan(pairable)]).size < 2:
        return _undefined(
            "all pairable values are identical, so expected disagreement is 0 and "
            "alpha is 0/0",
            n,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(krippendorff.alpha(reliability_data=values, level_of_measurement=level))
    if not math.isfinite(value):
        return _undefined("expected disagreement is 0, so alpha is 0/0", n)
    return ReliabilityResult(value, None, n, None, None)


def _alpha_values(rows, scheme, level: str, ordered: bool) -> np.ndarray:
    """Float matrix for `krippendorff.alpha`, NaN where not rated.

    Nominal and ordinal values become category positions (for ordinal the position is
    the rank: `categories` order if given, else the labels' natural order); interval and
    ratio values are the labels themselves, which must be numbers.
    """
    if level in ("interval", "ratio"):
        bad = [x for row in rows for x in row if x is not None and not _is_number(x)]
        if bad:
            raise AgreementInputError(f"level {level!r} needs numeric labels, got {bad[0]!r}")
        return np.array([[math.nan if x is None else float(x) for x in row] for row in rows])
    if level == "ordinal" and not ordered and not all(map(_is_number, scheme)):
        raise AgreementInputError(
            "ordinal alpha over non-numeric labels needs categories= in rank order"
        )
    codes = _encode(rows, scheme).astype(float)
    codes[codes == _MISSING] = math.nan
    return codes


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real)
