"""Residual identifiers on their own (pure: text in, findings out), without a database.

Expected findings are worked out by hand from each text, the pattern rules and the name lists in
`workbench/data/` (e.g. `kyle`, `amy`, `florence` are listed given names; `hope`, `con` are names
that are also words; `patel`, `leeds`, `kingsmere` are in neither list). The spaCy path is fed a
hand-built `Doc` (words, tags, entities, sentence starts), so no trained pipeline is involved.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.nlp import tagged
from workbench.privacy.identifiers import (
    TYPES,
    Finding,
    Terms,
    context,
    first_names,
    inside_brackets,
    joined_runs,
    normalise_term,
    scan_text,
    scan_title,
    term_pattern,
    word_names,
)


def scan(text: str, terms: Terms | None = None, talk=None, doc=None) -> list[tuple]:
    talk = [(0, len(text))] if talk is None else talk
    return [(f.type, f.text, f.confidence, f.rule)
            for f in scan_text(text, talk, terms or Terms(), None if doc is None else [tagged(d) for d in doc])]


# --- patterns and name lists, through scan_text (no spaCy) ----------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Ring me on 07700 900123 after six.", ("phone", "07700 900123", 0.95, "phone pattern")),
    ("Call +44 7700 900123 today.", ("phone", "+44 7700 900123", 0.95, "phone pattern")),
    ("The office is (0161) 496 0000 I think.", ("phone", "(0161) 496 0000", 0.95, "phone pattern")),
    ("My number is 07700\n900123, ok", ("phone", "07700\n900123", 0.95, "phone pattern")),
    ("We live at LS1 4AP now.", ("postcode", "LS1 4AP", 0.9, "postcode pattern")),
    ("It was sw1a 1aa I think", ("postcode", "sw1a 1aa", 0.9, "postcode pattern")),
    ("Look at https://www.kingsmere.org.uk/about.", ("url", "https://www.kingsmere.org.uk/about", 0.95, "URL pattern")),
    ("It's on greenway.co.uk/jobs, have a look", ("url", "greenway.co.uk/jobs", 0.95, "URL pattern")),
    ("Email me at amy.smith+kw@example.co.uk please.",  # the lower-case "amy" inside loses to the e-mail
     ("email", "amy.smith+kw@example.co.uk", 0.99, "e-mail pattern")),
    ("He was born on 3rd of May 2021 at home.", ("date", "3rd of May 2021", 0.85, "date pattern")),
    ("On 12/03/2019 she left.", ("date", "12/03/2019", 0.85, "date pattern")),
    ("Since March 2020 really.", ("date", "March 2020", 0.85, "date pattern")),
    ("On June 5th, 2019 we moved.", ("date", "June 5th, 2019", 0.85, "date pattern")),
    ("Back on 4 Sept\n2018 it was.", ("date", "4 Sept\n2018", 0.85, "date pattern")),
    ("Mrs Patel came round.", ("name", "Mrs Patel", 0.9, "title and surname")),
    ("I saw Dr. Okafor-Jones there.", ("name", "Dr. Okafor-Jones", 0.9, "title and surname")),
    ("He goes to St Mary's Primary now.", ("school", "St Mary's Primary", 0.9, "school name")),
    ("She's at Kingsmere Academy.", ("school", "Kingsmere Academy", 0.9, "school name")),
    ("We lived on Elm Road for years.", ("place", "Elm Road", 0.8, "street or estate")),
    ("He plays for Kingsmere Rovers FC.", ("organisation", "Kingsmere Rovers FC", 0.75, "organisation name")),
    ("She works at Greenway Motors in town.", ("organisation", "Greenway Motors", 0.75, "organisation name")),
    ("I asked Kyle about it.", ("name", "Kyle", 0.75, "name list")),
    ("I asked Hope about it.", ("name", "Hope", 0.6, "name list")),  # a word name, capitalised mid-sentence
    ("then jayden came", ("name", "jayden", 0.55, "name list")),  # a given name in lower case
    ("I asked Siobhán Kyle.", ("name", "Kyle", 0.75, "name list")),  # "siobhan" is not in the list
])
def test_one_finding(text, expected):
    assert scan(text) == [expected]
    (finding,) = scan_text(text, [(0, len(text))], Terms())
    assert text[finding.start:finding.end] == finding.text


@pytest.mark.parametrize("text", [
    "", "   \n ", "in 2019 and 2020 it was hard.", "about 12345678 of them", "it was 3.5 out of 10",
    "I may go in the summer.", "Ring 0770 123", "Hope that helps.", "i hope so", "Mum and Nan came, yeah.",
    "We use Facebook and WhatsApp on Mondays.", "the high school was rough", "My [Kyle's school] is near.",
    "Ring [phone number] or e-mail [e-mail].", "Then in May we went.", "See you at 10:30 on the 3rd.",
])
def test_nothing_to_find(text):
    assert scan(text) == []


def test_findings_keep_their_place_in_the_text_and_only_talk_is_scanned():
    text = "Amy: Ring 07700 900123.\nInterviewer: Thanks Kyle."
    # "Amy: " is a label (0-5); talk is "Ring 07700 900123." (5-23) and "Thanks Kyle." (37-49)
    findings = scan_text(text, [(5, 23), (37, 49)], Terms())
    assert findings == [Finding(10, 22, "07700 900123", "phone", 0.95, "phone pattern"),
                        Finding(44, 48, "Kyle", "name", 0.75, "name list")]
    assert scan_text("Kyle: I told Amy.\n", [(6, 17)], Terms()) == [Finding(13, 16, "Amy", "name", 0.75, "name list")]
    assert scan_text("Kyle: I told Amy.\n", [], Terms()) == []


def test_a_bracketed_redaction_is_not_a_finding_but_the_same_name_outside_is():
    text = "I told [Kyle] about Kyle."
    assert scan_text(text, [(0, len(text))], Terms()) == [Finding(20, 24, "Kyle", "name", 0.75, "name list")]


def test_emoji_before_a_finding_count_as_one_code_point():
    text = "😀😀 Ring 07700 900123 😀"
    assert scan_text(text, [(0, len(text))], Terms()) == [Finding(8, 20, "07700 900123", "phone", 0.95,
                                                                   "phone pattern")]


@pytest.mark.parametrize("terms, text, expected", [
    (Terms(known={"jayden": "name"}), "then jayden came", [("name", "jayden", 0.8, "known in this study")]),
    (Terms(known={"mary smith": "name"}), "I saw Mary\nSmith.", [("name", "Mary\nSmith", 0.8, "known in this study")]),
    (Terms(known={"kingsmere": "place"}), "near kingsmere", [("place", "kingsmere", 0.8, "known in this study")]),
    (Terms(known={"hope": "name"}), "I asked Hope.", [("name", "Hope", 0.8, "known in this study")]),
    (Terms(known={"hope": "name"}), "i hope so", []),  # a known word name in lower case is the word
    (Terms(known={"kyle": "name"}), "Skyler and O'Kyle", []),  # whole words only
    (Terms(pseudonyms={"amy"}), "I told Amy.", []),
    (Terms(pseudonyms={"amy"}), "I told Amy’s mum.", []),
    (Terms(pseudonyms={"amy"}), "I saw Dr Amy there.", []),  # every word a pseudonym or a title
    (Terms(allowed={"kingsmere academy"}), "She's at Kingsmere   Academy.", []),
    (Terms(allowed={"kyle"}), "I asked Kyle and Amy.", [("name", "Amy", 0.75, "name list")]),
])
def test_the_studys_terms(terms, text, expected):
    assert scan(text, terms) == expected


@pytest.mark.parametrize("terms, text, excluded", [
    (Terms(pseudonyms={"amy"}), "Amy's", True),
    (Terms(pseudonyms={"amy"}), "AMY", True),
    (Terms(allowed={"kingsmere academy"}), "Kingsmere\nAcademy", True),
    (Terms(), "Service 4", True),
    (Terms(), "LA01", True),
    (Terms(), "KW02 and LA01", True),
    (Terms(), "Site 3, Area 2 & School 12", True),
    (Terms(), "service4", True),
    (Terms(), "Service 4 Trust", False),
    (Terms(), "Amy", False),
    (Terms(), "LS1 4AP", False),
])
def test_excluded_terms(terms, text, excluded):
    assert terms.excluded(text) is excluded


# --- line breaks, non-ASCII letters, accents and ß -------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("He goes to Kingsmere\nAcademy now.", ("school", "Kingsmere\nAcademy", 0.9, "school name")),
    ("He goes to St Mary's\nPrimary now.", ("school", "St Mary's\nPrimary", 0.9, "school name")),
    ("We lived on Elm\nRoad then.", ("place", "Elm\nRoad", 0.8, "street or estate")),
    ("We lived on Elm \n Road then.", ("place", "Elm \n Road", 0.8, "street or estate")),
    ("She works at Greenway\tMotors.", ("organisation", "Greenway\tMotors", 0.75, "organisation name")),
    ("He plays for Kingsmere\nRovers FC.", ("organisation", "Kingsmere\nRovers FC", 0.75, "organisation name")),
    # a generic first word is still trimmed when a line break follows it
    ("She's at The\nKingsmere Academy.", ("school", "Kingsmere Academy", 0.9, "school name")),
    ("We're at My\tElm Road place.", ("place", "Elm Road", 0.8, "street or estate")),
])
def test_a_name_split_across_a_line_is_still_found(text, expected):
    assert scan(text) == [expected]
    (finding,) = scan_text(text, [(0, len(text))], Terms())
    assert text[finding.start:finding.end] == finding.text


@pytest.mark.parametrize("text, expected", [
    ("Mrs Özdemir came.", ("name", "Mrs Özdemir", 0.9, "title and surname")),
    ("Dr Łukaszewicz rang.", ("name", "Dr Łukaszewicz", 0.9, "title and surname")),
    ("Ms\nÉlodie Dubois came.", ("name", "Ms\nÉlodie Dubois", 0.9, "title and surname")),
    ("Mr Şahin-Øberg rang.", ("name", "Mr Şahin-Øberg", 0.9, "title and surname")),
    ("She's at Łąki Academy.", ("school", "Łąki Academy", 0.9, "school name")),
    ("We lived on Ørsted Road.", ("place", "Ørsted Road", 0.8, "street or estate")),
    ("She works at Çelik Motors.", ("organisation", "Çelik Motors", 0.75, "organisation name")),
])
def test_names_with_a_non_ascii_initial(text, expected):
    assert scan(text) == [expected]


@pytest.mark.parametrize("text, expected", [
    ("I asked Zoë about it.", [("name", "Zoë", 0.75, "name list")]),
    ("I asked ZOË about it.", [("name", "ZOË", 0.75, "name list")]),
    ("I asked Chloé, Joël and André.", [("name", "Chloé", 0.75, "name list"), ("name", "Joël", 0.75, "name list"),
                                        ("name", "André", 0.75, "name list")]),
    ("I asked Léon and Seán.", [("name", "Léon", 0.75, "name list"), ("name", "Seán", 0.75, "name list")]),
    ("then zoë came", [("name", "zoë", 0.55, "name list")]),  # a given name in lower case
    ("I asked Élodie.", []),  # not a listed name (no longer read as "lodie" either)
    ("a naïve café", []),
    ("I asked Hopé.", [("name", "Hopé", 0.6, "name list")]),  # a word name, written with an accent
])
def test_a_listed_name_written_with_accents(text, expected):
    assert scan(text) == expected


@pytest.mark.parametrize("title, found", [
    ("Zoë_mum_interview", "Zoë"),
    ("2021_ChloéInterview", "Chloé"),
    ("interview with JOËL", "JOËL"),
])
def test_a_listed_name_with_accents_in_a_title(title, found):
    start = title.index(found)
    assert scan_title(title, Terms()) == [
        Finding(start, start + len(found), found, "file name", 0.75, "name list, in the title")]


@pytest.mark.parametrize("name, text, found", [
    ("Weiß", "I told Weiß.", "Weiß"),
    ("Weiß", "I told WEISS.", "WEISS"),
    ("Weiss", "I told Weiß.", "Weiß"),
    ("Straße", "near Strasse 4", "Strasse"),
    ("Zoë", "then ZOË said", "ZOË"),
    ("Zoe\u0308", "then Zoë said", "Zoë"),  # the key typed decomposed, the text composed
    ("Ǆemal", "then ǆemal said", "ǆemal"),
])
def test_a_known_name_is_found_again_whatever_its_case_folding(name, text, found):
    terms = Terms(known={normalise_term(name): "name"})
    start = text.index(found)
    assert scan_text(text, [(0, len(text))], terms) == [
        Finding(start, start + len(found), found, "name", 0.8, "known in this study")]


# --- the tagged (spaCy) path, on hand-built documents ---------------------------------------

@pytest.fixture(scope="module")
def make_doc():
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc

    vocab = spacy.blank("en").vocab

    def build(tokens: list[tuple[str, str, str]], sentence_starts: set[int] = frozenset({0})):
        """tokens: (word, POS, IOB entity tag); a word is followed by a space unless the next is
        punctuation."""
        words = [w for w, _, _ in tokens]
        spaces = [i + 1 < len(tokens) and tokens[i + 1][1] != "PUNCT" for i in range(len(tokens))]
        return Doc(vocab, words=words, spaces=spaces, pos=[p for _, p, _ in tokens], ents=[e for _, _, e in tokens],
                   sent_starts=[i in sentence_starts for i in range(len(tokens))])

    return build


def test_entities_and_proper_nouns(make_doc):
    doc = make_doc([("I", "PRON", "O"), ("met", "VERB", "O"), ("John", "PROPN", "B-PERSON"),
                    ("Smith", "PROPN", "I-PERSON"), ("in", "ADP", "O"), ("Leeds", "PROPN", "B-GPE"),
                    ("with", "ADP", "O"), ("Okonkwo", "PROPN", "B-PERSON"), (".", "PUNCT", "O")])
    text = doc.text
    assert text == "I met John Smith in Leeds with Okonkwo."
    assert scan_text(text, [(0, len(text))], Terms(), [tagged(doc)]) == [
        Finding(6, 16, "John Smith", "name", 0.7, "entity PERSON"),
        Finding(20, 25, "Leeds", "place", 0.75, "entity GPE"),  # beats the 0.45 proper-noun guess
        Finding(31, 38, "Okonkwo", "name", 0.6, "entity PERSON"),  # one unknown word: shown, not spread
    ]


def test_a_given_name_mistaken_for_a_place_is_a_name(make_doc):
    doc = make_doc([("We", "PRON", "O"), ("went", "VERB", "O"), ("to", "ADP", "O"), ("see", "VERB", "O"),
                    ("Florence", "PROPN", "B-GPE"), (".", "PUNCT", "O")])
    assert scan_text(doc.text, [(0, len(doc.text))], Terms(), [tagged(doc)]) == [
        Finding(15, 23, "Florence", "name", 0.75, "name list")]


def test_vague_dates_and_short_acronyms_are_not_findings(make_doc):
    doc = make_doc([("It", "PRON", "O"), ("was", "AUX", "O"), ("last", "ADJ", "B-DATE"), ("year", "NOUN", "I-DATE"),
                    (",", "PUNCT", "O"), ("in", "ADP", "O"), ("2019", "NUM", "B-DATE"), (",", "PUNCT", "O"),
                    ("the", "DET", "B-DATE"), ("summer", "NOUN", "I-DATE"), ("of", "ADP", "I-DATE"),
                    ("2019", "NUM", "I-DATE"), (";", "PUNCT", "O"), ("the", "DET", "O"), ("GP", "PROPN", "B-ORG"),
                    ("rang", "VERB", "O"), (".", "PUNCT", "O")])
    assert scan_text(doc.text, [(0, len(doc.text))], Terms(), [tagged(doc)]) == []


def test_a_specific_date_entity_drops_its_article(make_doc):
    # "the 14th" alone is no pattern date, but the entity names a month further on
    doc = make_doc([("Since", "SCONJ", "O"), ("the", "DET", "B-DATE"), ("14th", "ADJ", "I-DATE"),
                    ("in", "ADP", "I-DATE"), ("Oct", "PROPN", "I-DATE"), ("we", "PRON", "O"),
                    ("moved", "VERB", "O"), (".", "PUNCT", "O")])
    assert doc.text == "Since the 14th in Oct we moved."
    assert scan_text(doc.text, [(0, len(doc.text))], Terms(), [tagged(doc)]) == [
        Finding(10, 21, "14th in Oct", "date", 0.7, "entity DATE")]


@pytest.mark.parametrize("pos, known, expected", [
    ("PROPN", set(), [Finding(8, 12, "Hope", "name", 0.6, "name list")]),
    ("PROPN", {"hope"}, [Finding(8, 12, "Hope", "name", 0.8, "name list")]),
])
def test_a_word_name_inside_a_sentence(make_doc, pos, known, expected):
    doc = make_doc([("I", "PRON", "O"), ("asked", "VERB", "O"), ("Hope", pos, "O"), (".", "PUNCT", "O")])
    terms = Terms(known={k: "name" for k in known})
    assert scan_text(doc.text, [(0, len(doc.text))], terms, [tagged(doc)]) == expected


@pytest.mark.parametrize("tokens, starts, expected", [
    ([("Hope", "VERB", "O"), ("that", "SCONJ", "O"), ("helps", "VERB", "O"), (".", "PUNCT", "O")], {0}, []),
    ([("Hope", "PROPN", "O"), ("rang", "VERB", "O"), (".", "PUNCT", "O")], {0},
     [Finding(0, 4, "Hope", "name", 0.55, "name list")]),
    ([("Con", "PROPN", "O"), (".", "PUNCT", "O")], {0}, [Finding(0, 3, "Con", "name", 0.6, "name list")]),  # alone
    ([("It", "PRON", "O"), ("was", "AUX", "O"), ("NHS", "PROPN", "O"), (".", "PUNCT", "O")], {0}, []),
])
def test_a_word_name_at_a_sentence_start(make_doc, tokens, starts, expected):
    doc = make_doc(tokens, starts)
    assert scan_text(doc.text, [(0, len(doc.text))], Terms(), [tagged(doc)]) == expected


# --- helpers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, key", [
    ("  Mrs   PATEL ", "mrs patel"),
    ("Kyle's", "kyle"),
    ("Kyle’s", "kyle"),
    ("KYLE'S", "kyle"),
    ("St Mary's", "st mary"),
    ("Chris'", "chris'"),
    ("Zoë", "zoë"),
    ("Siobhán\nMurphy", "siobhán murphy"),
    ("ZOË", "zoë"),
    ("Straße", "strasse"),
    ("Weiß", "weiss"),
    ("Zoe\u0308", "zoë"),  # decomposed: the same key as the composed spelling
    ("ǰ", "ǰ"),  # casefolds to j + combining caron: composed again
    ("", ""),
    (" \t\n", ""),
])
def test_normalise_term(raw, key):
    assert normalise_term(raw) == key


WORD = st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=8).filter(
    lambda w: w.split() == [w])


@settings(max_examples=200, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=4), st.lists(st.sampled_from([" ", "  ", "\n", "\t", " \r\n "]),
                                                        min_size=4, max_size=4))
def test_normalise_term_ignores_spacing(words, gaps):
    spaced = "".join(w + g for w, g in zip(words, gaps))
    assert normalise_term(spaced) == normalise_term(" ".join(words))
    assert normalise_term(spaced) == normalise_term("\t" + spaced + "\n")


@pytest.mark.parametrize("term, text, found", [
    ("kyle", "I told Kyle. KYLE! kyle's", ["Kyle", "KYLE", "kyle"]),
    ("kyle", "Kyler, Skyle, o'kyle, o’kyle, kyle_2", []),
    ("kyle", "Kyle-Jo and (kyle)", ["Kyle", "kyle"]),
    ("mary smith", "Mary Smith, MARY   SMITH, mary\nsmith", ["Mary Smith", "MARY   SMITH", "mary\nsmith"]),
    ("mary smith", "Mary-Smith, Mary Smithson", []),
    ("zoë", "ZOË and Zoë and Zoe", ["ZOË", "Zoë"]),
    ("weiss", "Weiß, WEISS, weiss and Weißer", ["Weiß", "WEISS", "weiss"]),  # full case folding, whole words
    ("zoe\u0308", "Zoë", ["Zoë"]),
    ("siobhán", "SIOBHÁN's", ["SIOBHÁN"]),
    ("a.b", "axb a.b", ["a.b"]),  # the term is literal, not a regular expression
    ("c++", "c++ c+", ["c++"]),
    ("😀", "x 😀 y", ["😀"]),
])
def test_term_pattern(term, text, found):
    assert [m.group(0) for m in term_pattern(term).finditer(text)] == found


LETTERS = "abcdefghijklmnopqrstuvwxyzéëáóçñ"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(LETTERS, min_size=1, max_size=8), min_size=1, max_size=3), st.text(LETTERS + " .,\n", max_size=20),
       st.text(LETTERS + " .,\n", max_size=20), st.data())
def test_term_pattern_finds_a_term_in_any_case_and_spacing(words, before, after, data):
    term = " ".join(words)
    written = data.draw(st.sampled_from([str.upper, str.title, str.lower]))
    gap = data.draw(st.sampled_from([" ", "  ", "\n", "\t"]))
    occurrence = gap.join(written(w) for w in words)
    text = before + " " + occurrence + " " + after
    start = len(before) + 1
    found = term_pattern(term).match(text, start)  # (finditer may take an earlier, overlapping one)
    assert found and found.span() == (start, start + len(occurrence))
    assert term_pattern(term).match(text, start + 1) is None  # never from inside a word


@pytest.mark.parametrize("text, start, end, inside", [
    ("My [Kyle's school] is near.", 4, 8, True),     # Kyle
    ("My [Kyle's school] is near.", 4, 18, True),    # up to and including the closing bracket
    ("My [Kyle's school] is near.", 11, 17, True),   # school
    ("My [Kyle's school] is near.", 19, 21, False),  # is
    ("My [Kyle's school] is near.", 0, 2, False),    # My
    ("[Kyle]", 0, 6, False),                         # the brackets themselves are not inside
    ("[support worker] and Kyle went", 21, 25, False),
    ("[a] Kyle [b]", 4, 8, False),
    ("[note\nKyle]", 6, 10, False),                  # a bracket never spans lines
    ("[ Kyle", 2, 6, False),                         # never closed
    ("😀[😀 Kyle]", 4, 8, True),
])
def test_inside_brackets(text, start, end, inside):
    assert inside_brackets(text, start, end) is inside


@pytest.mark.parametrize("text, start, end, width, shown", [
    ("abc Kyle def", 4, 8, 50, "…abc ⟦Kyle⟧ def…"),
    ("Kyle went", 0, 4, 50, "…⟦Kyle⟧ went…"),
    ("met Kyle", 4, 8, 50, "…met ⟦Kyle⟧…"),
    ("one two three Kyle", 14, 18, 5, "…hree ⟦Kyle⟧…"),
    ("I said\nKyle\nwas  there", 7, 11, 50, "…I said ⟦Kyle⟧ was there…"),
    ("ring 07700\n900123 now", 5, 17, 50, "…ring ⟦07700 900123⟧ now…"),
    ("😀Kyle😀", 1, 5, 50, "…😀⟦Kyle⟧😀…"),
    ("x" * 100 + "Kyle" + "y" * 100, 100, 104, 3, "…xxx⟦Kyle⟧yyy…"),
])
def test_context(text, start, end, width, shown):
    assert context(text, start, end, width) == shown


def test_the_name_lists_are_lower_case_words_without_their_comments():
    names, words = first_names(), word_names()
    assert {"kyle", "amy", "jayden", "zoe", "florence", "con", "hope"} <= names
    assert {"hope", "will", "grace", "con", "may"} <= words
    for listed in (names, words):
        assert all(w == w.lower() and w.strip() == w and not w.startswith("#") for w in listed)
    assert not {"england", "ons", "common", "given"} & names  # words of the comment lines


# --- properties of scan_text ----------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "Kyle", "kyle", "Amy", "Hope", "hope", "Zoë", "Siobhán", "Mrs Patel", "Mrs\nPatel", "07700 900123", "07700\n900123",
    "+44 7700 900123", "LS1 4AP", "amy@example.org", "www.example.com/x.", "3rd of May 2021", "12/03/2019",
    "St Mary's Primary", "Kingsmere Academy", "Elm Road", "Greenway Motors", "[Kyle]", "[support worker]", "[",
    "]", "Service 4", "LA01", "😀", "and", "the", "The", "I", ".", ",", " ", " ", " ", "\n", "'s", "’", ":",
])


@st.composite
def scanned(draw):
    text = "".join(draw(st.lists(FRAGMENTS, max_size=25)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=6)))
    talk = [(a, b) for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
    terms = Terms(pseudonyms=draw(st.sets(st.sampled_from(["amy", "kyle"]), max_size=1)),
                  allowed=draw(st.sets(st.sampled_from(["elm road", "hope"]), max_size=1)),
                  known=draw(st.dictionaries(st.sampled_from(["jayden", "hope", "mary smith", "zoë"]),
                                             st.sampled_from(TYPES), max_size=2)))
    return text, talk, terms


@settings(max_examples=200, deadline=None)
@given(scanned())
def test_every_finding_is_a_span_of_the_talk_and_they_never_overlap(case):
    text, talk, terms = case
    findings = scan_text(text, talk, terms)
    previous_end = 0
    for f in findings:
        assert 0 <= f.start < f.end <= len(text)
        assert text[f.start:f.end] == f.text and f.text.strip()
        # within the talk (a pattern may run across a line break between two spans of talk)
        assert any(a <= f.start and f.end <= b for a, b in joined_runs(text, talk))
        assert previous_end <= f.start  # sorted, not overlapping
        previous_end = f.end
        assert f.type in TYPES and 0 < f.confidence <= 1 and f.rule
        assert not terms.excluded(f.text) and not inside_brackets(text, f.start, f.end)
        assert normalise_term(f.text) not in terms.pseudonyms | terms.allowed


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.integers(0, 60), st.integers(0, 60), st.integers(0, 10))
def test_context_is_one_line_with_the_finding_marked(text, a, b, width):
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    shown = context(text, start, end, width)
    assert shown.startswith("…") and shown.endswith("…")
    assert "\n" not in shown
    assert f"⟦{' '.join(text[start:end].split())}⟧" in shown
    assert re.fullmatch(r"….*⟦.*⟧.*…", shown, re.DOTALL)


def test_a_phone_number_wrapped_onto_the_next_line_of_a_turn_is_one_finding_but_a_label_divides():
    text = "Amy: my number was 07700\n900871, I think.\nAmy: Call 0161\nBen: 496 0000 then."
    first_line, second_line = (5, 24), (25, 41)
    third, fourth = (text.index("Call"), text.index("0161") + 4), (text.index("496"), len(text))
    assert joined_runs(text, [first_line, second_line, third, fourth]) == [(5, 41), third, fourth]
    found = scan_text(text, [first_line, second_line, third, fourth], Terms())
    phones = [f.text for f in found if f.type == "phone"]
    assert "07700\n900871" in phones
    assert not any("0161" in p and "496" in p for p in phones)  # "Ben:" stands between them
