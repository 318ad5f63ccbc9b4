"""Reconcile items: where two (or more) coders' codings of one transcript differ (pure).

Every coding of the compared coders ends up in exactly one item:
- `agreed`: every coder applied the same code to exactly the same span (carried into the
  consensus automatically; the lead can still review it);
- `boundary`: for one code, overlapping spans from more than one coder whose boundaries (or
  number of pieces) differ;
- `one_coder`: a span of a code only one coder has there;
- `different_codes`: one-coder spans of different codes from different coders on overlapping
  text (coder A says X here, coder B says Y — often a sub-theme versus its parent).

An item's `key` is derived from the GUIDs of its codings, so it survives a reload and a codebook
change; its `signature` also covers each coding's code and span, so a decision made before the
codebook changed under it can be recognised as stale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

KINDS = ("agreed", "boundary", "one_coder", "different_codes")


@dataclass(frozen=True)
class CodingRef:
    guid: str
    coder: str
    code_guid: str
    code: str  # path, for showing
    start: int
    end: int
    memo: str = ""


@dataclass
class Item:
    key: str
    signature: str
    kind: str
    start: int
    end: int
    codings: list[CodingRef] = field(default_factory=list)

    def by_coder(self, coders: list[str]) -> dict[str, list[CodingRef]]:
        return {coder: [c for c in self.codings if c.coder == coder] for coder in coders}

    @property
    def codes(self) -> list[str]:
        return sorted({c.code for c in self.codings})


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def item_key(codings: list[CodingRef]) -> str:
    return _digest(sorted(c.guid for c in codings))


def item_signature(codings: list[CodingRef]) -> str:
    return _digest(sorted(f"{c.guid}|{c.code_guid}|{c.start}|{c.end}" for c in codings))


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class _Groups:
    """Union-find over indices."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())


def _make(kind: str, codings: list[CodingRef]) -> Item:
    codings = sorted(codings, key=lambda c: (c.start, c.end, c.coder, c.code))
    return Item(item_key(codings), item_signature(codings), kind,
                min(c.start for c in codings), max(c.end for c in codings), codings)


def build_items(codings: list[CodingRef], coders: list[str]) -> list[Item]:
    """All reconcile items of one transcript for `coders`, in text order."""
    coders_set = set(coders)
    codings = [c for c in codings if c.coder in coders_set]
    items: list[Item] = []

    exact: dict[tuple[str, int, int], list[CodingRef]] = {}
    for c in codings:
        exact.setdefault((c.code_guid, c.start, c.end), []).append(c)
    rest: list[CodingRef] = []
    for group in exact.values():
        if {c.coder for c in group} == coders_set:
            items.append(_make("agreed", group))
        else:
            rest += group

    # per code: overlapping spans form one cluster
    clusters: list[list[CodingRef]] = []
    by_code: dict[str, list[CodingRef]] = {}
    for c in rest:
        by_code.setdefault(c.code_guid, []).append(c)
    for group in by_code.values():
        group.sort(key=lambda c: (c.start, c.end))
        current: list[CodingRef] = []
        reach = -1
        for c in group:
            if current and c.start >= reach:
                clusters.append(current)
                current, reach = [], -1
            current.append(c)
            reach = max(reach, c.end)
        if current:
            clusters.append(current)

    # one-coder clusters of different codes by different coders on overlapping text: one item
    single = [k for k, cl in enumerate(clusters) if len({c.coder for c in cl}) == 1]
    spans = {k: (min(c.start for c in clusters[k]), max(c.end for c in clusters[k])) for k in single}
    groups = _Groups(len(clusters))
    for i, a in enumerate(single):
        for b in single[i + 1:]:
            ca, cb = clusters[a][0], clusters[b][0]
            if ca.coder != cb.coder and ca.code_guid != cb.code_guid and _overlap(spans[a], spans[b]):
                groups.union(a, b)
    for members in groups.groups():
        merged = [c for k in members for c in clusters[k]]
        if len(members) > 1:
            kind = "different_codes"
        elif len({c.coder for c in merged}) > 1:
            kind = "boundary"
        else:
            kind = "one_coder"
        items.append(_make(kind, merged))
    items.sort(key=lambda item: (item.start, item.end, item.key))
    return items
