"""Krippendorff's unitizing alpha (alpha_u) over character spans.

Definition: Krippendorff (2004), Content Analysis, 2nd ed. (worked example p. 254).
For one label, each coder's spans of that label and the gaps between them partition
the continuum [begin, end) of length L.  With m coders, N spans in all, a
span or gap of coder i written (b, l) = (begin, length):

    D_o = sum over coders i != j, segments g of i, h of j, of delta2(g, h)
          / (m (m - 1) L^2)

    delta2(g, h) = (b_g - b_h)^2 + (e_g - e_h)^2   both spans, overlapping (e = b + l)
                 = l_g^2                           g a span lying inside gap h
                 = l_h^2                           h a span lying inside gap g
                 = 0                               otherwise

    D_e = (2 / L) * sum over spans u of
              [ (N - 1) (2 l_u^3 - 3 l_u^2 + l_u) / 3
                + l_u^2 * sum over gaps g (all coders) with l_g >= l_u of (l_g - l_u + 1) ]
          / ( m L (m L - 1) - sum over spans u of l_u (l_u - 1) )

    alpha_u = 1 - D_o / D_e

Lengths count characters, so the sums over positions are the discrete ones above (the
"+ 1" counts the places a span of length l fits in a gap of length l_g).  With every
span one character long, alpha_u equals nominal alpha on the per-character 0/1 data.
Pooled over labels, alpha_u = 1 - sum of D_o / sum of D_e (as DKPro Statistics does).
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate, combinations

from .coefficients import AgreementInputError

Span = tuple[int, int, Hashable]


@dataclass(frozen=True)
class UnitizingResult:
    """alpha_u with what it was computed from.

    value   -- alpha_u, NaN when undefined
    reason  -- why the value is undefined; None when it is defined
    n_spans -- spans that entered the computation (of `category`, or of every label)
    observed_disagreement, expected_disagreement -- D_o and D_e (summed over labels)
    """

    value: float
    reason: str | None
    n_spans: int
    observed_disagreement: float
    expected_disagreement: float

    @property
    def defined(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class _Segment:
    start: int
    stop: int
    is_span: bool

    @property
    def length(self) -> int:
        return self.stop - self.start


def unitizing_alpha(
    spans_by_coder: Sequence[Sequence[Span]],
    continuum: tuple[int, int],
    category: Hashable | None = None,
) -> float:
    """alpha_u as a plain float; NaN when undefined (see `unitizing_alpha_result`)."""
    return unitizing_alpha_result(spans_by_coder, continuum, category).value


def unitizing_alpha_result(
    spans_by_coder: Sequence[Sequence[Span]],
    continuum: tuple[int, int],
    category: Hashable | None = None,
) -> UnitizingResult:
    """alpha_u of half-open (start, end, label) spans, one list per coder.

    category=None pools all labels; category=X gives the alpha_u of label X alone
    (spans of other labels are then simply not X).
    """
    begin, end = _check_continuum(continuum)
    by_label = _spans_by_label(spans_by_coder, begin, end)
    labels = [category] if category is not None else list(by_label)
    d_o = d_e = Fraction(0)
    n_spans = 0
    for label in labels:
        spans = by_label.get(label, [[] for _ in spans_by_coder])
        n_spans += sum(map(len, spans))
        segments = [_partition(coder_spans, begin, end) for coder_spans in spans]
        d_o += _observed_disagreement(segments, end - begin)
        d_e += _expected_disagreement(segments, end - begin)
    if n_spans == 0:
        which = f" with label {category!r}" if category is not None else ""
        return UnitizingResult(
            math.nan, f"no coder marked any span{which}, so alpha_u is 0/0", 0, 0.0, 0.0
        )
    if d_e == 0:
        return UnitizingResult(
            math.nan,
            "expected disagreement is 0 (nothing to tell spans from gaps), so alpha_u is 0/0",
            n_spans,
            float(d_o),
            0.0,
        )
    return UnitizingResult(float(1 - d_o / d_e), None, n_spans, float(d_o), float(d_e))


# --- input checks ---------------------------------------------------------------------


def _check_continuum(continuum) -> tuple[int, int]:
    try:
        begin, end = (operator.index(x) for x in continuum)
    except (TypeError, ValueError):
        raise AgreementInputError(
            "continuum must be (begin, end) character offsets (integers)"
        ) from None
    if end <= begin:
        raise AgreementInputError(f"continuum ({begin}, {end}) is empty: end must exceed begin")
    return begin, end


def _spans_by_label(spans_by_coder, begin: int, end: int) -> dict[Hashable, list[list]]:
    """label -> one sorted list of (start, stop) per coder; checks every span."""
    if isinstance(spans_by_coder, (str, bytes)) or not isinstance(spans_by_coder, Sequence):
        raise AgreementInputError("spans_by_coder must be a list with one list of spans per coder")
    m = len(spans_by_coder)
    if m < 2:
        raise AgreementInputError(f"agreement needs at least 2 coders, got {m}")
    by_label: dict[Hashable, list[list]] = {}
    for i, spans in enumerate(spans_by_coder):
        for span in spans:
            start, stop, label = _check_span(span, i, begin, end)
            by_label.setdefault(label, [[] for _ in range(m)])[i].append((start, stop))
    for label, coders in by_label.items():
        for i, spans in enumerate(coders):
            spans.sort()
            for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
                if s2 < e1:
                    raise AgreementInputError(
                        f"coder {i} has overlapping spans ({s1}, {e1}) and ({s2}, {e2}) "
                        f"with label {label!r}; alpha_u needs a coder's spans of one label "
                        "not to overlap (merge them first)"
                    )
    return by_label


def _check_span(span, coder: int, begin: int, end: int) -> tuple[int, int, Hashable]:
    try:
        start, stop, label = span
        start, stop = operator.index(start), operator.index(stop)
    except (TypeError, ValueError):
        raise AgreementInputError(
            f"coder {coder}: span {span!r} is not (start, end, label) with integer offsets"
        ) from None
    if not begin <= start < stop <= end:
        raise AgreementInputError(
            f"coder {coder}: span ({start}, {stop}) must be non-empty and lie within the "
            f"continuum ({begin}, {end})"
        )
    return start, stop, label


# --- the two disagreements ------------------------------------------------------------


def _partition(spans: list[tuple[int, int]], begin: int, end: int) -> list[_Segment]:
    """A coder's spans of one label and the gaps around them, covering [begin, end)."""
    segments, pos = [], begin
    for start, stop in spans:
        if start > pos:
            segments.append(_Segment(pos, start, False))
        segments.append(_Segment(start, stop, True))
        pos = stop
    if pos < end:
        segments.append(_Segment(pos, end, False))
    return segments


def _delta2(g: _Segment, h: _Segment) -> int:
    """Krippendorff's squared difference between two overlapping segments."""
    if g.is_span and h.is_span:
        return (g.start - h.start) ** 2 + (g.stop - h.stop) ** 2
    if g.is_span and h.start <= g.start and g.stop <= h.stop:
        return g.length**2
    if h.is_span and g.start <= h.start and h.stop <= g.stop:
        return h.length**2
    return 0


def _overlapping_pairs(a: list[_Segment], b: list[_Segment]):
    """Pairs of segments that share at least one character.

    delta2 is 0 for segments that do not overlap, and both lists partition the same
    continuum, so a merge-like sweep visits every pair that matters exactly once.
    """
    i = j = 0
    while i < len(a) and j < len(b):
        yield a[i], b[j]
        a_stop, b_stop = a[i].stop, b[j].stop
        if a_stop <= b_stop:
            i += 1
        if b_stop <= a_stop:
            j += 1


def _observed_disagreement(segments: list[list[_Segment]], length: int) -> Fraction:
    m = len(segments)
    total = sum(
        _delta2(g, h) for a, b in combinations(segments, 2) for g, h in _overlapping_pairs(a, b)
    )
    # combinations() visits each unordered coder pair once; delta2 is symmetric.
    return Fraction(2 * total, m * (m - 1) * length**2)


def _expected_disagreement(segments: list[list[_Segment]], length: int) -> Fraction:
    m = len(segments)
    spans = [s.length for coder in segments for s in coder if s.is_span]
    if not spans:
        return Fraction(0)
    gaps = sorted(s.length for coder in segments for s in coder if not s.is_span)
    gap_sums = [0, *accumulate(gaps)]
    n = len(spans)
    numerator = Fraction(0)
    for l in spans:
        # 2l^3 - 3l^2 + l = l(l - 1)(2l - 1), a multiple of 6: the division is exact.
        numerator += (n - 1) * l * (l - 1) * (2 * l - 1) // 3
        k = bisect.bisect_left(gaps, l)  # gaps[k:] are the gaps at least l long
        fits = (gap_sums[-1] - gap_sums[k]) - (len(gaps) - k) * (l - 1)
        numerator += l * l * fits
    denominator = m * length * (m * length - 1) - sum(l * (l - 1) for l in spans)
    return Fraction(2, length) * numerator / denominator
