"""Selections snapped to whole words and characters, what the coding surface shows of a turn,
in-vivo names, and distinct code colours (pure functions)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.canonical import canonicalize
from workbench.codebook.colours import distinct_colours, shade
from workbench.coding.spans import in_vivo_name, snap_to_words, turn_parts, turn_talk
from workbench.transcripts.speakers import detect_turns

TEXT = "Well okay, that's it. Café 👩\u200d👧 done. Mother-in-law's key."


def picked(text: str, start: int, end: int) -> str:
    a, b = snap_to_words(text, start, end)
    return text[a:b]


@pytest.mark.parametrize("selected, expected", [
    ("okay, tha", "okay, that's"),          # ends inside "that's": the whole word
    ("ay, that", "okay, that's"),           # starts inside "okay"
    ("that'", "that's"),                    # the apostrophe inside a word
    (" it. ", "it."),                       # white space trimmed, punctuation kept
    ("Caf", "Café"),
    ("other-in", "Mother-in-law's"),        # hyphens and apostrophes inside a word
    ("done.", "done."),
])
def test_a_selection_is_widened_to_whole_words(selected, expected):
    start = TEXT.index(selected)
    assert picked(TEXT, start, start + len(selected)) == expected


def test_an_emoji_sequence_and_a_combining_accent_are_never_cut():
    family = TEXT.index("👩")
    assert picked(TEXT, family + 1, family + 2) == "👩\u200d👧"  # inside the zero-width-joined pair
    decomposed = "Zoe\u0301 said no"  # e + combining acute: two code points, one character
    assert picked(decomposed, 0, 3) == "Zoe\u0301"
    assert picked(decomposed, 3, 4) == "Zoe\u0301"
    skin = "ok 👍🏽 then"
    assert picked(skin, 3, 4) == "👍🏽"


def test_white_space_only_gives_an_empty_span_and_reversed_offsets_are_put_in_order():
    assert snap_to_words("a   b", 1, 4) == (1, 1) or snap_to_words("a   b", 1, 4)[0] == snap_to_words("a   b", 1, 4)[1]
    assert snap_to_words(TEXT, 9, 5) == snap_to_words(TEXT, 5, 9)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab c'-\u0301\u200d😀é\n.")), max_size=40), st.data())
def test_snapping_only_widens_within_the_text_and_is_idempotent(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    a, b = snap_to_words(text, start, end)
    assert 0 <= a <= b <= len(text)
    if text[start:end].strip():
        assert a <= len(text[:start]) + (len(text[start:end]) - len(text[start:end].lstrip()))
        assert text[a:b].strip() == text[a:b] and b > a
        assert snap_to_words(text, a, b) == (a, b)


@pytest.mark.parametrize("selected, name", [
    ("  “I just wanted someone to listen.”  ", "I just wanted someone to listen"),
    ("rang\nback", "rang back"),
    ("word " * 30, ("word " * 12).strip()),
])
def test_in_vivo_names_come_from_the_selected_words(selected, name):
    assert in_vivo_name(selected) == name
    assert len(in_vivo_name(selected)) <= 60


class _Segment:
    def __init__(self, number, start, end):
        self.number, self.start, self.end = number, start, end


class _Turn:
    def __init__(self, text_start, end, segments):
        self.text_start, self.end, self.segments = text_start, end, segments


def test_turn_parts_hide_repeated_labels_and_cover_every_shown_character_at_its_offset():
    source = "Amy: I rang 😀 them.\r\nAmy: Then café\u0301 again. And again.\r\nBen: No.\r\n"
    text, _ = canonicalize(source)  # CRLF becomes LF; offsets are code points of this text
    turn = detect_turns(text)[0]
    segments, k = [], 1
    for a, b in turn.talk:  # one sentence per line here, two on the second line
        piece = text[a:b]
        cut = piece.find(". ") + 1 if ". " in piece else len(piece)
        segments.append(_Segment(k, a, a + cut))
        k += 1
        if cut < len(piece):
            segments.append(_Segment(k, a + cut + 1, b))
            k += 1
    parts = turn_parts(text, _Turn(turn.text_start, turn.end, segments))
    assert None in parts  # the line break, where the repeated "Amy:" label is not shown
    shown = "".join(text[p[0]:p[1]] for p in parts if p)
    assert "Amy:" not in shown and "😀" in shown and "\r" not in text
    for p in parts:
        if p and len(p) == 3:
            assert text[p[0]:p[1]].strip() == text[p[0]:p[1]]
    assert turn_talk(_Turn(turn.text_start, turn.end, segments)) == (segments[0].start, segments[-1].end)
    assert text[segments[0].start:segments[0].end] == "I rang 😀 them."


def test_every_code_gets_a_distinct_colour_and_keeps_its_own_when_unique():
    codes = [("A", "#1f77b4"), ("A/x", "#1f77b4"), ("A/y", "#1f77b4"), ("B", "#2ca02c"), ("B/z", None)]
    colours = distinct_colours(codes)
    assert colours["A"] == "#1f77b4" and colours["B"] == "#2ca02c"
    assert len(set(colours.values())) == len(codes)
    assert distinct_colours(list(reversed(codes))) == colours  # the same whatever the order
    assert all(len(c) == 7 and c.startswith("#") for c in colours.values())
    assert shade("#abc", 0) == "#aabbcc"
