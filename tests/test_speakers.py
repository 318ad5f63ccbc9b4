"""Speaker-turn detection on canonical text, on its own (pure: text and hints in, spans out).

Expected spans are worked out by hand from each input: a turn is shown as its speaker, its label
(`text[start:text_start]`) and the text of each line's talk, or with explicit offsets.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.transcripts.formats import LineHint
from workbench.transcripts.speakers import (
    NOT_SPEAKERS,
    TurnSpan,
    detect_turns,
    is_interviewer,
    is_respondent,
)


def shown(text: str, turns: list[TurnSpan]) -> list[tuple]:
    return [(t.speaker, text[t.start:t.text_start], [text[a:b] for a, b in t.talk]) for t in turns]


def offsets(turns: list[TurnSpan]) -> list[tuple]:
    return [(t.speaker, t.start, t.text_start, t.end, t.time_start, t.time_end) for t in turns]


def assert_well_formed(text: str, turns: list[TurnSpan]) -> None:
    """What every caller relies on: ordered, non-overlapping turns whose talk spans are
    non-empty, stripped pieces of one line each, inside their turn."""
    previous_end = 0
    for turn in turns:
        assert previous_end <= turn.start <= turn.text_start <= turn.talk[0][0]
        assert turn.end == turn.talk[-1][1] <= len(text)
        last = turn.text_start
        for a, b in turn.talk:
            assert last <= a < b
            piece = text[a:b]
            assert piece and piece == piece.strip() and "\n" not in piece
            last = b
        previous_end = turn.end


@pytest.mark.parametrize("text, expected", [
    pytest.param("Interviewer: How are you?\nAmy: Fine.\n",
                 [("Interviewer", "Interviewer: ", ["How are you?"]), ("Amy", "Amy: ", ["Fine."])], id="basic"),
    pytest.param("Amy: one.\ntwo.\n\nAmy: three.\nInterviewer: ok",
                 [("Amy", "Amy: ", ["one.", "two.", "three."]), ("Interviewer", "Interviewer: ", ["ok"])],
                 id="continuation-blank-line-and-same-speaker-again"),
    pytest.param("Hello there.\nAmy: Hi.", [(None, "", ["Hello there."]), ("Amy", "Amy: ", ["Hi."])],
                 id="talk-before-any-label"),
    pytest.param("we talked.\nit was fine.\n", [(None, "", ["we talked.", "it was fine."])], id="no-labels"),
    pytest.param("", [], id="empty"),
    pytest.param("\n \n\t\n", [], id="blank-lines-only"),
    pytest.param("Amy:\n\nInterviewer:   \n", [], id="labels-without-talk"),
    pytest.param("I: Tell me.\nR: Well. It varies.", [("I", "I: ", ["Tell me."]), ("R", "R: ", ["Well. It varies."])],
                 id="i-and-r"),
    pytest.param("INTERVIEWER:\tSo?\nZOË: Hiya 😀\nSiobhán Ní Bhriain: Dia duit.",
                 [("INTERVIEWER", "INTERVIEWER:\t", ["So?"]), ("ZOË", "ZOË: ", ["Hiya 😀"]),
                  ("Siobhán Ní Bhriain", "Siobhán Ní Bhriain: ", ["Dia duit."])], id="capitals-and-non-ascii"),
    pytest.param("Participant 12: Yes.\nP2: No.", [("Participant 12", "Participant 12: ", ["Yes."]),
                                                  ("P2", "P2: ", ["No."])], id="numbered"),
    pytest.param("[Amy] Hello\n[Interviewer]: And?\n[support worker] rang me",
                 [("Amy", "[Amy] ", ["Hello"]), ("Interviewer", "[Interviewer]: ", ["And?", "[support worker] rang me"])],
                 id="bracket-labels-and-a-redaction"),
    pytest.param("Date: 3 May 2021\nLocation: Leeds\nAmy: Hi.",
                 [(None, "", ["Date: 3 May 2021", "Location: Leeds"]), ("Amy", "Amy: ", ["Hi."])],
                 id="document-headers-are-not-speakers"),
    pytest.param("Amy: I said: no.\nthen: yes\nAmy said: fine", [("Amy", "Amy: ", ["I said: no.", "then: yes",
                                                                             "Amy said: fine"])],
                 id="colons-that-are-not-labels"),
    pytest.param("Mary Ann Jo Smith: hi\nMary Ann Jo Lee Smith: hello",
                 [("Mary Ann Jo Smith", "Mary Ann Jo Smith: ", ["hi", "Mary Ann Jo Lee Smith: hello"])],
                 id="at-most-four-words"),
    pytest.param("Amy:hi\nBob :  there  ", [(None, "", ["Amy:hi"]), ("Bob", "Bob :  ", ["there"])],
                 id="a-label-needs-a-space-after-its-colon"),
])
def test_turns(text, expected):
    turns = detect_turns(text)
    assert shown(text, turns) == expected
    assert_well_formed(text, turns)


@pytest.mark.parametrize("text, hints, expected", [
    pytest.param("Interviewer: How are you?\nAmy: Fine.\n", None,
                 [("Interviewer", 0, 13, 25, None, None), ("Amy", 26, 31, 36, None, None)], id="basic"),
    pytest.param("[00:01:23] Amy: Hello\n[00:01:30] Interviewer: Go on", None,
                 [("Amy", 0, 16, 21, 83.0, None), ("Interviewer", 22, 46, 51, 90.0, None)], id="timestamp-labels"),
    pytest.param("Amy Smith   0:03\nHello, can you hear me?\nInterviewer   0:07\nYes. Go on.", None,
                 [("Amy Smith", 0, 17, 40, 3.0, None), ("Interviewer", 41, 60, 71, 7.0, None)], id="teams-headers"),
    pytest.param("[Amy Smith] 10:32:01\nHello.\n", None, [("Amy Smith", 0, 21, 27, 37921.0, None)],
                 id="bracketed-header"),
    pytest.param("Amy (0:03)\nHi.", None, [("Amy", 0, 11, 14, 3.0, None)], id="header-time-in-parentheses"),
    pytest.param("0:00:01.0 --> 0:00:04.0\nAmy\nHello there.\n\n0:00:05.0 --> 0:00:06.5\nInterviewer\nGood.", None,
                 [("Amy", 0, 28, 40, 1.0, 4.0), ("Interviewer", 42, 78, 83, 5.0, 6.5)], id="cue-time-then-name"),
    pytest.param("00:00:01.000 --> 00:00:02.000\nAmy: Hi.", None, [("Amy", 0, 35, 38, 1.0, 2.0)],
                 id="cue-time-then-label"),
    pytest.param("Amy:\nHello.", None, [("Amy", 0, 4, 11, None, None)], id="label-alone-on-its-line"),
    pytest.param("Date 10:00\nHello", None, [(None, 0, 0, 16, None, None)], id="not-a-speaker-header-is-talk"),
    pytest.param("Amy 0:03\n", None, [], id="header-with-no-talk"),
    pytest.param("Amy Bold.\nmore", {0: LineHint("Amy", 4)}, [("Amy", 0, 4, 14, None, None)], id="bold-hint"),
    pytest.param("Note: x", {0: LineHint("Zoë", 6)}, [("Zoë", 0, 6, 7, None, None)], id="hint-wins-over-text"),
    pytest.param("Amy Smith 0:03", {0: LineHint(None, 0, 5.0, 6.0)}, [(None, 0, 0, 14, 5.0, 6.0)],
                 id="a-hinted-line-is-never-a-header"),
    pytest.param("Amy: a.\nAmy: b.", {0: LineHint("Amy", 5, 1.0, 2.0), 1: LineHint("Amy", 5, 2.0, 3.5)},
                 [("Amy", 0, 5, 15, 1.0, 3.5)], id="cues-of-one-speaker-merge"),
    pytest.param("Leo: Yeah\nInterviewer: Ok", {0: LineHint(None, 0, 1.0, 2.0), 1: LineHint(None, 0, 2.5, 3.0)},
                 [("Leo", 0, 5, 9, 1.0, 2.0), ("Interviewer", 10, 23, 25, 2.5, 3.0)], id="cue-times-label-in-text"),
])
def test_turn_offsets_and_times(text, hints, expected):
    turns = detect_turns(text, hints)
    assert offsets(turns) == expected
    assert_well_formed(text, turns)


def test_a_label_alone_on_its_line_takes_the_talk_on_the_next():
    (turn,) = detect_turns("Amy:\nHello.")
    assert turn.talk == [(5, 11)]


def test_emoji_and_combined_letters_count_as_one_code_point_each():
    text = "😀😀: no\nZoë: 😀 yes 😀\n"  # not a label (no capital), then Zoë
    turns = detect_turns(text)
    assert offsets(turns) == [(None, 0, 0, 6, None, None), ("Zoë", 7, 12, 19, None, None)]
    assert text[12:19] == "😀 yes 😀"


@pytest.mark.parametrize("text, expected", [
    pytest.param("Interviewer: Where are you from?\nŁukasz: Gdańsk, then Leeds.\nÉlodie: Lyon.",
                 [("Interviewer", "Interviewer: ", ["Where are you from?"]), ("Łukasz", "Łukasz: ", ["Gdańsk, then Leeds."]),
                  ("Élodie", "Élodie: ", ["Lyon."])], id="polish-and-french"),
    pytest.param("Ömer Şahin: Evet.\nØrjan: Ja.", [("Ömer Şahin", "Ömer Şahin: ", ["Evet."]),
                                                  ("Ørjan", "Ørjan: ", ["Ja."])], id="two-words-turkish-norwegian"),
    pytest.param("ŁUKASZ:\tTak.", [("ŁUKASZ", "ŁUKASZ:\t", ["Tak."])], id="all-capitals"),
    pytest.param("Σοφία: Ναι.\nДмитрий: Да.", [("Σοφία", "Σοφία: ", ["Ναι."]), ("Дмитрий", "Дмитрий: ", ["Да."])],
                 id="greek-and-cyrillic"),
    pytest.param("ǅemal: Da.", [("ǅemal", "ǅemal: ", ["Da."])], id="titlecase-digraph"),
    pytest.param("[Łukasz] Cześć\n[Élodie Martin]: Salut", [("Łukasz", "[Łukasz] ", ["Cześć"]),
                                                           ("Élodie Martin", "[Élodie Martin]: ", ["Salut"])],
                 id="bracketed"),
    pytest.param("Łukasz   0:03\nHello.", [("Łukasz", "Łukasz   0:03\n", ["Hello."])], id="teams-header"),
    pytest.param("0:00:01.0 --> 0:00:04.0\nÉlodie\nBonjour.", [("Élodie", "0:00:01.0 --> 0:00:04.0\nÉlodie\n",
                                                                ["Bonjour."])], id="cue-then-name"),
    # what is not a label stays talk, as with ASCII letters
    pytest.param("Amy: hi\nłukasz: no\nétait: là", [("Amy", "Amy: ", ["hi", "łukasz: no", "était: là"])],
                 id="lower-case-initials-are-not-names"),
    pytest.param("Amy: hi\nNote: x\nÉlodie Ann Marie Jo Lee: too long", [("Amy", "Amy: ", [
        "hi", "Note: x", "Élodie Ann Marie Jo Lee: too long"])], id="not-speakers-and-five-words"),
])
def test_a_name_with_a_non_ascii_capital_is_a_speaker(text, expected):
    turns = detect_turns(text)
    assert shown(text, turns) == expected
    assert_well_formed(text, turns)


@pytest.mark.parametrize("text, expected", [
    pytest.param("00:00:01:12 --> 00:00:04:05\nAmy\nHello.", [("Amy", 0, 32, 38, 1.0, 4.0)], id="smpte-then-name"),
    pytest.param("00:00:01;12 --> 00:00:04;05\nAmy\nHello.", [("Amy", 0, 32, 38, 1.0, 4.0)], id="drop-frame"),
    pytest.param("01:00:00:00 --> 01:00:02:10\nAmy: Hi.", [("Amy", 0, 33, 36, 3600.0, 3602.0)],
                 id="smpte-then-label"),
    pytest.param("00:00:01:12 --> 0:00:04.5\nAmy\nHi.", [("Amy", 0, 30, 33, 1.0, 4.5)], id="smpte-and-clock"),
    # no time code a cue line may hold: talk, never a crash
    pytest.param("00:00:01:12.5 --> 00:00:04:05\nHi.", [(None, 0, 0, 33, None, None)], id="frames-and-milliseconds"),
    pytest.param("1:2:3:4 --> 5:6:7:8\nHi.", [(None, 0, 0, 23, None, None)], id="one-digit-fields"),
    pytest.param("00:00:01:02:03 --> 00:00:04:05:06\nHi.", [(None, 0, 0, 37, None, None)], id="five-fields"),
])
def test_a_cue_line_with_frame_timecodes_does_not_crash_turn_detection(text, expected):
    turns = detect_turns(text)
    assert offsets(turns) == expected
    assert_well_formed(text, turns)


@pytest.mark.parametrize("label", [
    "Interviewer", "INTERVIEWER", "interviewer", " Interviewer ", "Interviewer 2", "Interviewer2", "Int", "I", "i",
    "Q", "Facilitator", "Co-facilitator", "Moderator", "Researcher", "Researcher\t1",
])
def test_interviewer_labels(label):
    assert is_interviewer(label) and not is_respondent(label)


@pytest.mark.parametrize("label", ["Respondent", "R", "r", "A", "Interviewee", "INTERVIEWEE", "Participant", "P",
                                   " P "])
def test_respondent_labels(label):
    assert is_respondent(label) and not is_interviewer(label)


@pytest.mark.parametrize("label", [None, "", "  ", "Amy", "Ian", "Isla", "Interviewers", "Interviewer A", "Q&A",
                                   "Int.", "Rachel", "Pat", "Zoë"])
def test_other_labels_are_neither(label):
    assert not is_interviewer(label) and not is_respondent(label)


# --- properties -----------------------------------------------------------------------------

_NAME_WORD = st.tuples(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZŁÉÖØŞΣД"),
                       st.text("abcdefghijklmnopqrstuvwxyzëáó", max_size=7)).map("".join)
NAMES = st.lists(_NAME_WORD, min_size=1, max_size=3).map(" ".join).filter(lambda n: n.lower() not in NOT_SPEAKERS)
# talk that can never read as a label or a header: no capitals, digits, colons or brackets at the start
TALK = st.text("abcdefghijklmnopqrstuvwxyz ,.?!'’ëá😀", min_size=1, max_size=25).map(str.strip).filter(bool)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NAMES, st.lists(TALK, min_size=1, max_size=3), st.booleans()), max_size=8))
def test_labelled_talk_comes_back_as_the_turns_it_was_built_from(blocks):
    """Build a transcript of `Name: talk` blocks (continuation lines, blank lines between some)
    and compute the turns it must have, merging consecutive blocks of one speaker."""
    lines: list[str] = []
    expected: list[dict] = []
    position = 0
    for name, talk, blank_after in blocks:
        label = f"{name}: "
        start = position
        spans = []
        for k, piece in enumerate(talk):
            line = (label if k == 0 else "") + piece
            offset = position + (len(label) if k == 0 else 0)
            spans.append((offset, offset + len(piece)))
            lines.append(line)
            position += len(line) + 1
        if blank_after:
            lines.append("")
            position += 1
        if expected and expected[-1]["speaker"] == name:
            expected[-1]["talk"] += spans
        else:
            expected.append({"speaker": name, "start": start, "text_start": start + len(label), "talk": spans})
    text = "\n".join(lines)
    turns = detect_turns(text)
    assert [(t.speaker, t.start, t.text_start, t.talk, t.end) for t in turns] == [
        (e["speaker"], e["start"], e["text_start"], e["talk"], e["talk"][-1][1]) for e in expected]


LINE_PIECES = st.sampled_from([
    "Amy: ", "Interviewer: ", "I: ", "[Amy] ", "[00:01:23] Zoë: ", "[support worker] ", "Amy Smith   0:03",
    "0:00:01.0 --> 0:00:04.0", "00:00:01:12 --> 00:00:04:05", "00:00:01:12.5 --> 1:2:3:4", "Siobhán", "Łukasz: ", "Date: ", "😀", "é", "yes", "No.", " ", "\t", ":", "[", "]", "12:30",
    "Hello there.", "\n", "\n\n",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE_PIECES, max_size=30).map("".join), st.data())
def test_turns_are_ordered_and_never_overlap_on_any_text(text, data):
    lines = text.split("\n")
    hints = {}
    for number in data.draw(st.sets(st.integers(0, max(len(lines) - 1, 0)), max_size=3)):
        label_end = data.draw(st.integers(0, len(lines[number])))
        speaker = data.draw(st.sampled_from([None, "Amy", "Zoë"]))
        hints[number] = LineHint(speaker, label_end if speaker else 0, 1.0, 2.0)
    turns = detect_turns(text, hints)
    assert_well_formed(text, turns)
    # talk spans together never take a character twice and never take a line end
    taken = [p for t in turns for a, b in t.talk for p in range(a, b)]
    assert len(taken) == len(set(taken)) and all(text[p] != "\n" for p in taken)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_well_formed_turns(text):
    assert_well_formed(text, detect_turns(text))
