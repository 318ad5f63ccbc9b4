"""Text edits carry positions correctly (pure), whatever the edits."""

import random

import pytest

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
