"""Text edits carry positions correctly (pure), whatever the edits."""

import random
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import ValidationError
from workbench.privacy.textedit import Edit, EditMap

TEXT = "My son Kyle goes to St Mary's. Ring 07700 900123."


def test_a_worked_example():
    edits = EditMap([Edit(7, 11, "[child]"), Edit(20, 29, "[school]"), Edit(36, 48, "[phone number]")], len(TEXT))
    new = edits.apply(TEXT)
    assert new == "My son [child] goes to [school]. Ring [phone number]."
    start, end, cut = edits.map_coding(0, 11)  # "My son Kyle": the coding keeps the placeholder
    assert new[start:end] == "My son [child]" and not cut
    start, end, cut = edits.map_coding(9, 30)  # starts inside "Kyle": cut, snapped to the placeholder
    assert new[start:end] == "[child] goes to [school]." and cut
    assert new[slice(*edits.map_structural(31, 49))] == "Ring [phone number]."


def test_overlapping_or_outside_edits_are_refused():
    with pytest.raises(ValidationError, match="overlap"):
        EditMap([Edit(0, 5, "x"), Edit(3, 8, "y")], 20)
    with pytest.raises(ValidationError, match="outside"):
        EditMap([Edit(15, 25, "x")], 20)


@pytest.mark.parametrize("seed", range(200))
def test_positions_outside_edits_keep_their_character(seed):
    rnd = random.Random(seed)
    text = "".join(rnd.choice("abc \n") for _ in range(rnd.randint(5, 80)))
    edits, position = [], 0
    while position < len(text) and len(edits) < 5:
        start = rnd.randint(position, len(text) - 1)
        end = min(len(text), start + rnd.randint(1, 6))
        edits.append(Edit(start, end, rnd.choice(["", "X", "[child]", "YYYYYYYYYY"])))
        position = end + 1
    edit_map = EditMap(edits, len(text))
    new = edit_map.apply(text)
    assert len(new) == len(text) + sum(e.delta for e in edits)
    inside = {p for e in edits for p in range(e.start, e.end)}
    for p in range(len(text)):
        if p not in inside:
            mapped, cut = edit_map.position(p, "start")
            assert not cut and new[mapped] == text[p]
    for a in range(0, len(text), 3):  # every coding survives with its untouched text around the edits
        for b in range(a + 1, len(text) + 1, 4):
            start, end, cut = edit_map.map_coding(a, b)
            assert 0 <= start <= end <= len(new)
            if start == end:  # only possible when the coding lay inside a deletion
                assert any(e.start <= a and b <= e.end and not e.replacement for e in edits)
                continue
            touched = [e for e in edits if e.start < b and a < e.end]
            if not touched and not cut:
                assert new[start:end] == text[a:b]
            for e in edits:  # an edit wholly inside the coding shows up whole in it
                if a <= e.start and e.end <= b and e.replacement:
                    assert e.replacement in new[start:end]


# --- table-driven: where single positions and spans go ------------------------------------------
# Text "0123456789" (length 10); expected values worked out by hand from each edit.

DIGITS = "0123456789"


@pytest.mark.parametrize("edit, new_text, positions", [
    # replace "234" by "XY" (delta -1): 2 is the edit's start and stays; 3 and 4 are cut; 5 moves back by one
    (Edit(2, 5, "XY"), "01XY56789", {0: (0, 0, False), 2: (2, 2, False), 3: (2, 4, True), 4: (2, 4, True),
                                      5: (4, 4, False), 10: (9, 9, False)}),
    # delete "234": a cut position collapses to the deletion point whichever side it snaps to
    (Edit(2, 5, ""), "0156789", {1: (1, 1, False), 3: (2, 2, True), 5: (2, 2, False), 9: (6, 6, False)}),
    # insert "ab" at 3: a position at the insertion point stays before the inserted text
    (Edit(3, 3, "ab"), "012ab3456789", {2: (2, 2, False), 3: (3, 3, False), 4: (6, 6, False), 10: (12, 12, False)}),
    # an edit at the very start, and one at the very end
    (Edit(0, 2, "[child]"), "[child]23456789", {0: (0, 0, False), 1: (0, 7, True), 2: (7, 7, False),
                                                 10: (15, 15, False)}),
    (Edit(8, 10, "!"), "01234567!", {8: (8, 8, False), 9: (8, 9, True), 10: (9, 9, False)}),
    (Edit(10, 10, "!"), "0123456789!", {9: (9, 9, False), 10: (10, 10, False)}),  # appended: the end stays
    (Edit(0, 0, ">"), ">0123456789", {0: (0, 0, False), 1: (2, 2, False)}),  # prepended: 0 stays before it
    (Edit(0, 10, "gone"), "gone", {0: (0, 0, False), 5: (0, 4, True), 10: (4, 4, False)}),
])
def test_single_positions(edit, new_text, positions):
    edit_map = EditMap([edit], len(DIGITS))
    assert edit_map.apply(DIGITS) == new_text
    for position, (at_start, at_end, cut) in positions.items():
        assert edit_map.position(position, "start") == (at_start, cut)
        assert edit_map.position(position, "end") == (at_end, cut)


@pytest.mark.parametrize("edits, span, coding, structural", [
    # "0123456789", edits 2-5 -> "XY" and 7-8 -> "" give "01XY5689"
    ([Edit(2, 5, "XY"), Edit(7, 8, "")], (0, 10), (0, 8, False), (0, 8)),
    ([Edit(2, 5, "XY"), Edit(7, 8, "")], (3, 4), (2, 4, True), (4, 4)),  # inside a replacement: all of it / nothing
    ([Edit(2, 5, "XY"), Edit(7, 8, "")], (3, 9), (2, 7, True), (4, 7)),  # from inside one edit across another
    ([Edit(2, 5, "XY"), Edit(7, 8, "")], (5, 7), (4, 6, False), (4, 6)),  # between the edits, touching both
    ([Edit(2, 5, "XY"), Edit(7, 8, "")], (2, 5), (2, 4, False), (2, 4)),  # exactly the replaced stretch
    ([Edit(2, 5, "")], (3, 4), (2, 2, True), (2, 2)),  # inside a deletion: empty (drop it)
    ([Edit(3, 3, "ab")], (3, 5), (3, 7, False), (3, 7)),  # starts at an insertion: takes the inserted text
    ([Edit(3, 3, "ab")], (1, 3), (1, 3, False), (1, 3)),  # ends at an insertion: does not
])
def test_coding_and_structural_spans(edits, span, coding, structural):
    edit_map = EditMap(edits, len(DIGITS))
    assert edit_map.map_coding(*span) == coding
    assert edit_map.map_structural(*span) == structural


def test_edits_given_in_any_order_and_adjacent_edits():
    edit_map = EditMap([Edit(5, 7, "b"), Edit(0, 2, "a"), Edit(2, 5, ""), Edit(7, 7, "+")], len(DIGITS))
    assert [(e.start, e.end) for e in edit_map.edits] == [(0, 2), (2, 5), (5, 7), (7, 7)]
    assert edit_map.apply(DIGITS) == "ab+789"
    assert edit_map.position(7, "start") == (2, False)  # at the insertion after "b": stays before "+"
    assert edit_map.position(8, "start") == (4, False)


@pytest.mark.parametrize("edits, message", [
    ([Edit(3, 3, "a"), Edit(3, 3, "b")], "overlap"),  # two insertions at one point: their order is unknown
    ([Edit(3, 3, "a"), Edit(3, 5, "b")], "overlap"),  # an insertion where a replacement starts
    ([Edit(2, 6, "a"), Edit(3, 4, "b")], "overlap"),  # nested
    ([Edit(-1, 2, "a")], "outside"),
    ([Edit(5, 3, "a")], "outside"),  # end before start
    ([Edit(10, 11, "a")], "outside"),
])
def test_more_refused_edits(edits, message):
    with pytest.raises(ValidationError, match=message):
        EditMap(edits, len(DIGITS))


def test_no_edits_and_the_empty_text():
    identity = EditMap([], 0)
    assert identity.apply("") == "" and identity.position(0, "start") == (0, False)
    assert identity.map_coding(0, 0) == (0, 0, False) and not identity.touches(0, 0)
    inserted = EditMap([Edit(0, 0, "[name]")], 0)
    assert inserted.apply("") == "[name]"
    assert inserted.position(0, "end") == (0, False)
    assert EditMap([], 10).apply(DIGITS) == DIGITS


def test_offsets_are_code_points_with_emoji_and_non_ascii_names():
    text = "😀 Zoë told Siobhán 😀"  # 0 😀, 2-4 Zoë, 6-9 told, 11-17 Siobhán, 19 😀
    edit_map = EditMap([Edit(2, 5, "[child]"), Edit(11, 18, "[worker]")], len(text))
    new = edit_map.apply(text)
    assert new == "😀 [child] told [worker] 😀"
    assert edit_map.map_coding(0, len(text)) == (0, len(new), False)
    assert new[slice(*edit_map.map_coding(6, 10)[:2])] == "told"
    assert edit_map.position(19, "start") == (len(new) - 1, False) and new[-1] == "😀"


@pytest.mark.parametrize("start, end, touches", [
    (0, 4, False), (0, 5, True), (5, 5, True), (6, 7, True), (8, 10, True), (9, 10, False), (0, 10, True),
])
def test_touches_includes_the_edges(start, end, touches):
    assert EditMap([Edit(5, 8, "x")], len(DIGITS)).touches(start, end) is touches


# --- properties -------------------------------------------------------------------------------

CHARS = st.sampled_from(["a", "b", " ", "\n", "é", "ë", "😀"])
REPLACEMENTS = st.sampled_from(["", "X", "[child]", "😀😀", "Siobhán"])


@st.composite
def edited(draw):
    """A text and non-overlapping edits of it, insertions included (never two at one point, nor
    one where a replacement starts)."""
    text = "".join(draw(st.lists(CHARS, max_size=40)))
    edits, position = [], 0
    while position <= len(text) and draw(st.booleans()):
        start = draw(st.integers(position, len(text)))
        end = draw(st.integers(start, min(len(text), start + 6)))
        edits.append(Edit(start, end, draw(REPLACEMENTS)))
        position = end + 1
    return text, edits


def reference_apply(text: str, edits: list[Edit]) -> str:
    """Apply edits from the last to the first with plain slicing."""
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[:edit.start] + edit.replacement + text[edit.end:]
    return text


@settings(max_examples=200, deadline=None)
@given(edited())
def test_apply_matches_slicing_and_every_untouched_character_keeps_its_place(case):
    text, edits = case
    edit_map = EditMap(edits, len(text))
    new = edit_map.apply(text)
    assert new == reference_apply(text, edits)
    replaced = {p for e in edits for p in range(e.start, e.end)}
    for p in range(len(text)):
        mapped, cut = edit_map.position(p, "start")
        if p not in replaced:  # a position at an insertion stays before the inserted text
            inserted = "".join(e.replacement for e in edits if e.start == e.end == p)
            assert not cut and new[mapped:mapped + len(inserted) + 1] == inserted + text[p]
        elif p > next(e for e in edits if e.start <= p < e.end).start:
            assert cut
    for edit in edits:  # an edit's start lands on its replacement, the end of a replaced stretch just after it
        at, _ = edit_map.position(edit.start, "start")
        assert new[at:at + len(edit.replacement)] == edit.replacement
        if edit.end > edit.start:
            assert edit_map.position(edit.end, "end")[0] == at + len(edit.replacement)
    appended = "".join(e.replacement for e in edits if e.start == e.end == len(text))
    assert edit_map.position(len(text), "end") == (len(new) - len(appended), False)  # the end stays before it


@settings(max_examples=200, deadline=None)
@given(edited())
def test_positions_never_move_backwards(case):
    text, edits = case
    edit_map = EditMap(edits, len(text))
    for inside in ("start", "end"):
        mapped = [edit_map.position(p, inside)[0] for p in range(len(text) + 1)]
        assert mapped == sorted(mapped) and all(0 <= m <= len(edit_map.apply(text)) for m in mapped)


@settings(max_examples=200, deadline=None)
@given(edited(), st.data())
def test_structural_spans_stay_ordered_and_codings_stay_inside(case, data):
    """Consecutive spans (turns, sentences) never overlap after an edit that joins them, and a
    coding is cut exactly when one of its ends lies strictly inside an edit."""
    text, edits = case
    edit_map = EditMap(edits, len(text))
    new_length = len(edit_map.apply(text))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    bounds = [0, *cuts, len(text)]
    mapped = [edit_map.map_structural(a, b) for a, b in pairwise(bounds)]
    for (a, b), (c, d) in pairwise(mapped):
        assert a <= b <= c <= d
    for a, b in pairwise(bounds):
        start, end, cut = edit_map.map_coding(a, b)
        assert 0 <= start <= end <= new_length
        assert cut == any(e.start < p < e.end for e in edits for p in (a, b))
