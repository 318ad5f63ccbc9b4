"""The coding screen's HTML: escaped text, offsets on every piece, labels never as talk."""

from workbench.coding.workspace import SegmentView, TurnView
from workbench.ui.render import Mark, turns_html

TEXT = "CO01: First <b>line</b>.\nCO01: Second line. Third.\n"


def turn() -> TurnView:
    first = TEXT.index("First")
    second = TEXT.index("Second")
    third = TEXT.index("Third")
    return TurnView(0, "CO01", "staff", False, 3.0, 0, first, len(TEXT) - 1, (
        SegmentView(1, 1, first, TEXT.index("\n")), SegmentView(2, 2, second, third - 1),
        SegmentView(3, 3, third, len(TEXT) - 1)))


def test_text_is_escaped_and_every_piece_carries_its_offset():
    html = turns_html(TEXT, (turn(),), [])
    assert "&lt;b&gt;line&lt;/b&gt;" in html and "<b>" not in html
    assert f'data-o="{TEXT.index("First")}"' in html and f'data-o="{TEXT.index("Third")}"' in html


def test_a_repeated_speaker_label_is_not_shown_as_talk():
    html = turns_html(TEXT, (turn(),), [])
    assert html.count("CO01") == 1  # only the header's attribute
    assert "<br>" in html


def test_marks_cut_pieces_and_label_them():
    start = TEXT.index("Second")
    html = turns_html(TEXT, (turn(),), [Mark(7, start, start + 6, "#123456", "Trust")], focus=7)
    assert f'data-o="{start}" class="wb-mark" title="Trust" data-focus="1"' in html
    assert f'data-o="{start + 6}">' in html  # the rest of the segment is its own piece
