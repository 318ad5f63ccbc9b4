"""Reconcile items from two coders' spans (pure): every coding lands in exactly one item of the
right kind, and keys survive reloading."""

import random

import pytest

from workbench.reconcile.items import CodingRef, build_items

CODERS = ["ann", "bob"]


def ref(guid, coder, code, start, end):
    return CodingRef(guid, coder, code, code, start, end)


def kinds(items):
    return [(i.kind, i.start, i.end, sorted(c.guid for c in i.codings)) for i in items]


def test_identical_spans_are_agreed_and_everything_else_is_a_difference():
    codings = [
        ref("a1", "ann", "X", 0, 10), ref("b1", "bob", "X", 0, 10),          # identical
        ref("a2", "ann", "X", 20, 40), ref("b2", "bob", "X", 25, 40),        # boundaries differ
        ref("a3", "ann", "Y", 50, 60),                                        # only ann
        ref("a4", "ann", "P", 70, 90), ref("b4", "bob", "P/child", 72, 90),  # different codes
    ]
    assert kinds(build_items(codings, CODERS)) == [
        ("agreed", 0, 10, ["a1", "b1"]),
        ("boundary", 20, 40, ["a2", "b2"]),
        ("one_coder", 50, 60, ["a3"]),
        ("different_codes", 70, 90, ["a4", "b4"]),
    ]


def test_one_coders_own_overlapping_codes_are_separate_items():
    codings = [ref("a1", "ann", "X", 0, 10), ref("a2", "ann", "Y", 5, 15)]
    assert [i.kind for i in build_items(codings, CODERS)] == ["one_coder", "one_coder"]


def test_a_span_one_coder_split_in_two_is_one_boundary_item():
    codings = [ref("a1", "ann", "X", 0, 30), ref("b1", "bob", "X", 0, 12), ref("b2", "bob", "X", 14, 30)]
    items = build_items(codings, CODERS)
    assert kinds(items) == [("boundary", 0, 30, ["a1", "b1", "b2"])]
    assert items[0].by_coder(CODERS) == {"ann": [codings[0]], "bob": codings[1:]}


def test_touching_spans_do_not_overlap():
    codings = [ref("a1", "ann", "X", 0, 10), ref("b1", "bob", "X", 10, 20)]
    assert [i.kind for i in build_items(codings, CODERS)] == ["one_coder", "one_coder"]


def test_other_coders_codings_are_ignored():
    codings = [ref("a1", "ann", "X", 0, 10), ref("c1", "consensus", "X", 0, 10)]
    assert kinds(build_items(codings, CODERS)) == [("one_coder", 0, 10, ["a1"])]


def test_the_signature_changes_with_the_code_but_the_key_does_not():
    before = build_items([ref("a1", "ann", "X", 0, 10)], CODERS)[0]
    after = build_items([ref("a1", "ann", "Z", 0, 10)], CODERS)[0]
    assert before.key == after.key and before.signature != after.signature


def random_codings(rnd: random.Random) -> list[CodingRef]:
    seen, codings = set(), []
    for k in range(rnd.randint(0, 25)):
        coder, code = rnd.choice(CODERS), rnd.choice("XYZ")
        start = rnd.randint(0, 60)
        end = start + rnd.randint(1, 20)
        if (coder, code, start, end) not in seen:  # the database forbids exact duplicates
            seen.add((coder, code, start, end))
            codings.append(ref(f"g{k}", coder, code, start, end))
    return codings


@pytest.mark.parametrize("seed", range(300))
def test_every_coding_is_in_exactly_one_item_whatever_the_order(seed):
    rnd = random.Random(seed)
    codings = random_codings(rnd)
    items = build_items(codings, CODERS)
    guids = [c.guid for i in items for c in i.codings]
    assert sorted(guids) == sorted(c.guid for c in codings)
    for item in items:
        coders = {c.coder for c in item.codings}
        if item.kind == "agreed":
            assert coders == set(CODERS) and len({(c.code_guid, c.start, c.end) for c in item.codings}) == 1
        elif item.kind == "one_coder":
            assert len(coders) == 1 and len(item.codes) == 1
        elif item.kind == "boundary":
            assert coders == set(CODERS) and len(item.codes) == 1
        else:
            assert len(coders) == 2 and len(item.codes) >= 2
        assert item.start == min(c.start for c in item.codings) and item.end == max(c.end for c in item.codings)
    shuffled = list(codings)
    rnd.shuffle(shuffled)
    assert kinds(build_items(shuffled, CODERS)) == kinds(items)
