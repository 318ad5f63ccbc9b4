"""The anonymisation review by distinct term: placeholders suggested from context and type,
one row per term with every occurrence, one decision for all of them (in one transaction),
speaker labels the participant key does not know added to it, and the page that does all this."""

import pytest

from tests.test_anonymisation import SECOND, STRAY
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.audit import audit_rows
from workbench.coding.workspace import transcript_view
from workbench.errors import ValidationError
from workbench.privacy.anonymisation import add_speaker_to_key, decide_terms
from workbench.privacy.identifiers import FILE_NAME
from workbench.privacy.private_key import PrivateKey
from workbench.privacy.review import (
    SPEAKER_RULE,
    TermDecision,
    decisions_for,
    group_findings,
    occurrence_rows,
    split_context,
    suggest,
)
from workbench.privacy.scan import (
    ScanFinding,
    review_terms,
    scan_transcripts,
    suggest_placeholder,
)
from workbench.transcripts.participants import add_participant, list_participants
from workbench.transcripts.study import FileInput, import_transcripts

# a speaker the key does not know, in two turns, and named once in the talk
UNKNOWN = """Interviewer: Thanks for coming, Leanne.
Leanne: That's alright.
Interviewer: How long have you lived there?
Leanne: Two years now.
"""


# --- suggestions (pure) --------------------------------------------------------------------

@pytest.mark.parametrize("text, type_, before, after, placeholder, read_as", [
    # a relation right before a name
    ("Kyle", "name", "Yeah. My son ", ", he's nine", "[son]", "name"),
    ("Mia", "name", "and her daughter, ", " came too", "[daughter]", "name"),
    ("Jayden", "name", "I mean my little boy ", " was", "[son]", "name"),
    ("Ruby", "name", "our youngest, ", " is", "[child]", "name"),
    ("Sarah", "name", "and our key worker ", " rang", "[key worker]", "name"),
    ("Sarah", "name", "then key worker ", " came", "[key worker]", "name"),
    ("Tracy", "name", "the social worker, ", " said", "[social worker]", "name"),
    ("Mrs Patel", "name", "Kyle's teacher ", " said", "[teacher]", "name"),
    ("Dave", "name", "it was my ex, ", " who", "[ex-partner]", "name"),
    # ... or after it
    ("Sarah", "name", "I rang ", ", the key worker, and", "[key worker]", "name"),
    ("Dave", "name", "", ", my ex-partner, was", "[ex-partner]", "name"),
    ("Kyle", "name", "and ", " who's my eldest", "[child]", "name"),
    ("Shannon", "name", "", " is her daughter", "[daughter]", "name"),
    # a child without a relation word
    ("Kyle", "name", "She talked to ", "'s school, and", "[child]", "name"),
    ("Kyle", "name", "and ", ", he's nine,", "[child]", "name"),
    # places are typed as places
    ("Kendal", "place", "she lives in ", ", near", "[town]", "place"),
    ("Kendal", "name", "then we moved to ", " in May", "[town]", "place"),
    ("Barrow", "place", "I grew up in ", "", "[town]", "place"),
    ("Kendal", "place", "", " town centre", "[town]", "place"),
    ("Lake District", "place", "a trip round the ", "", "[place]", "place"),
    ("Maple Road", "place", "we were on ", "", "[street]", "place"),
    ("Hillside Estate", "place", "on the ", "", "[estate]", "place"),
    # schools, dates, phones, organisations: their type
    ("Ashgrove Primary", "school", "struggling at ", ".", "[school]", "school"),
    ("Ashgrove", "name", "the school, ", " rang me", "[school]", "school"),
    ("Ashgrove", "organisation", "she goes to ", " school now", "[school]", "school"),
    ("Little Acorns Nursery", "school", "at ", "", "[nursery]", "school"),
    ("3 May", "date", "it was on ", ", a Friday", "[date]", "date"),
    ("12 March 2019", "date", "she was born on ", "", "[date of birth]", "date"),
    ("07700 900871", "phone", "they ring me on ", "", "[phone number]", "phone"),
    ("Greenway Motors", "organisation", "he works at ", "", "[organisation]", "organisation"),
    ("Westfield Hospital", "organisation", "in ", "", "[hospital]", "organisation"),
    ("amy@example.org", "email", "", "", "[e-mail address]", "email"),
    # a name in a file name: the word after it says whose
    ("Kirsten Vandermolen", FILE_NAME, "file name: ", "_mum_interview.txt", "[mother]", FILE_NAME),
    # a name with nothing around it: [name], the last resort
    ("Kyle", "name", "Teacher rang. ", " is calmer", "[name]", "name"),
    ("Kyle", "name", "the boys and ", " played", "[name]", "name"),
])
def test_placeholders_are_suggested_from_context_and_type(text, type_, before, after, placeholder, read_as):
    suggestion = suggest(text, type_, before, after)
    assert (suggestion.placeholder, suggestion.type) == (placeholder, read_as)


def test_the_private_key_replacement_wins_over_the_context():
    assert suggest("Kyle", "name", "my son ", "", known="[child]").placeholder == "[child]"
    key = PrivateKey()
    key.remember("Kyle", "[child]")
    assert suggest_placeholder(finding("Kyle", 0, context="…my son ⟦Kyle⟧ said…"), key) == "[child]"
    assert suggest_placeholder(finding("Kyle", 0, context="…my son ⟦Kyle⟧ said…")) == "[son]"


def test_a_context_is_split_around_the_marked_finding():
    assert split_context("…he said my son ⟦Kyle⟧, he's nine…") == ("he said my son ", ", he's nine")
    assert split_context("no marks") == ("", "")


# --- grouping (pure) -----------------------------------------------------------------------

def finding(text, start, type_="name", context=None, rule="name list", where="text", transcript="T1",
            confidence=0.75) -> ScanFinding:
    return ScanFinding(transcript, start, start + len(text), text, type_, confidence, rule,
                       context or f"…⟦{text}⟧…", where)


def test_findings_are_grouped_by_distinct_term_with_counts_and_every_occurrence():
    findings = [
        finding("Kyle", 60, context="…is calmer. ⟦Kyle⟧ is back…"),
        finding("Ashgrove Primary", 30, "school", "…struggling at ⟦Ashgrove Primary⟧. Kyle's…", "school name"),
        finding("Kyle", 10, context="…Yeah. My son ⟦Kyle⟧, he's nine…", confidence=0.8),
        finding("KYLE", 90, context="…and ⟦KYLE⟧ said…"),
        finding("Kyle", 5, FILE_NAME, "file name: M05_⟦Kyle⟧_followup.txt", "name list, in the original file name",
                where="file"),
        finding("Kendal", 70, context="…we moved to ⟦Kendal⟧ in May…", rule="proper noun"),
    ]
    rows = group_findings(findings)
    assert [r.text for r in rows] == ["Kyle", "Ashgrove Primary", "Kendal"]  # first occurrence first
    kyle = rows[0]
    assert kyle.term == "kyle" and kyle.count == 4 and kyle.in_names == 1 and kyle.confidence == 0.8
    assert [f.start for f in kyle.occurrences] == [5, 10, 60, 90]  # the file name first, then text order
    assert kyle.placeholder == "[son]" and kyle.type == "name"  # one occurrence's context speaks for all
    assert rows[1].placeholder == "[school]" and rows[1].count == 1
    assert rows[2].type == "place" and rows[2].placeholder == "[town]"  # a place, typed as a place
    where = [r["where"] for r in occurrence_rows(kyle)]
    assert where[0] == "original file name" and all("⟦" in r["context"] for r in occurrence_rows(kyle))


def test_the_strongest_and_most_frequent_suggestion_of_a_term_wins():
    rows = group_findings([
        finding("Kyle", 10, context="…talked to ⟦Kyle⟧'s school…"),  # [child], a weak cue
        finding("Kyle", 20, context="…my son ⟦Kyle⟧ said…"),  # [son]
        finding("Kyle", 30, context="…my boy ⟦Kyle⟧ said…"),  # [son]
        finding("Kyle", 40, context="…and her brother ⟦Kyle⟧ said…"),  # [brother]
        finding("Kyle", 50, context="…⟦Kyle⟧ said…"),  # nothing
    ])
    assert len(rows) == 1 and rows[0].placeholder == "[son]"
    key = PrivateKey()
    key.remember("kyle", "Jake")
    assert group_findings([finding("Kyle", 20, context="…my son ⟦Kyle⟧ said…")], key)[0].placeholder == "Jake"


def test_speaker_labels_fold_into_one_row_per_label():
    rows = group_findings([
        finding("Leanne", 0, context="…⟦Leanne⟧: That's alright…", rule=SPEAKER_RULE, confidence=0.7),
        finding("Leanne", 40, context="…⟦Leanne⟧: Two years…", rule=SPEAKER_RULE, confidence=0.7),
        finding("Leanne", 25, context="…for coming, ⟦Leanne⟧.…", rule="known in this study", confidence=0.8),
        finding("Kyle", 60),
    ])
    assert [(r.text, r.count, r.speaker_turns, r.is_speaker) for r in rows] == [
        ("Leanne", 3, 2, True), ("Kyle", 1, 0, False)]


def test_a_decision_on_a_row_stands_for_every_occurrence():
    row = group_findings([finding("Kyle", 10), finding("Kyle", 30), finding("Kyle", 50)])[0]
    replace = decisions_for(TermDecision(row, "replace", " [son] "))
    assert [(f.start, action, placeholder) for f, action, placeholder, _ in replace] == [
        (10, "replace", "[son]"), (30, "replace", "[son]"), (50, "replace", "[son]")]
    assert len(decisions_for(TermDecision(row, "ignore", reason="a footballer"))) == 3
    assert len(decisions_for(TermDecision(row, "allow", reason="a brand"))) == 1  # a term is allowed once


# --- on a study ----------------------------------------------------------------------------

@pytest.fixture
def stray(sample_study):
    import_transcripts(sample_study, LEAD_CLI, [FileInput("M05_Amy_followup.txt", STRAY.encode()),
                                                FileInput("M06_Dionne_followup.txt", SECOND.encode())])
    return sample_study


def test_a_transcript_reviews_as_one_row_per_term_and_one_decision_replaces_them_all(stray):
    rows = {r.text: r for r in review_terms(stray, LEAD_CLI, ["M05_Amy_followup"])}
    assert rows["Kyle"].count == 3 and rows["Kyle"].placeholder == "[son]"
    assert rows["Ashgrove Primary"].placeholder == "[school]"
    assert rows["07700 900871"].placeholder == "[phone number]"
    report = decide_terms(stray, LEAD_CLI, [TermDecision(rows["Kyle"], "replace", "[son]"),
                                            TermDecision(rows["07700 900871"], "ignore",
                                                         reason="the service's own line")])
    amy = transcript_view(stray, "M05_Amy_followup").text
    assert "Kyle" not in amy and amy.count("[son]") == 3 and "[son]'s teacher" in amy
    assert "talked to [son]'s school" in transcript_view(stray, "M06_Dionne_followup").text  # everywhere
    assert report.replaced == 4
    left = {r.text for r in review_terms(stray, LEAD_CLI, ["M05_Amy_followup"])}
    assert "Kyle" not in left and "07700 900871" not in left and "Ashgrove Primary" in left


def test_the_decisions_of_a_review_pass_commit_together_or_not_at_all(stray):
    rows = {r.text: r for r in review_terms(stray, LEAD_CLI, ["M05_Amy_followup"])}
    key = PrivateKey()
    key.remember("Kyle", "[child]")  # another session replaced Kyle with [child]
    with pytest.raises(ValidationError, match="already replaced"):
        decide_terms(stray, LEAD_CLI, [TermDecision(rows["07700 900871"], "ignore", reason="the service's line"),
                                       TermDecision(rows["Kyle"], "replace", "[son]")], key)
    left = {r.text for r in review_terms(stray, LEAD_CLI, ["M05_Amy_followup"])}
    assert {"Kyle", "07700 900871"} <= left  # the ignore was rolled back with the failed replacement
    with pytest.raises(AccessDenied):
        decide_terms(stray, people(stray)["priya"], [TermDecision(rows["Kyle"], "replace", "[son]")])


def people(study):
    with study.session() as session:
        return {name: actor_for(session, name) for name in ("morgan", "priya")}


@pytest.fixture
def unknown(sample_study):
    import_transcripts(sample_study, LEAD_CLI, [FileInput("M07_unknown.txt", UNKNOWN.encode())])
    return sample_study


def test_a_speaker_outside_the_key_is_one_row_and_adding_them_ends_the_finding(unknown):
    rows = [r for r in review_terms(unknown, LEAD_CLI, ["M07_unknown"]) if r.term == "leanne"]
    assert len(rows) == 1 and rows[0].is_speaker and rows[0].speaker_turns == 2 and rows[0].count == 3
    view = transcript_view(unknown, "M07_unknown")
    assert [r["where"] for r in occurrence_rows(rows[0], view.turns)] == [
        "turn 1", "turn 2 (speaker label)", "turn 4 (speaker label)"]
    with pytest.raises(AccessDenied):
        add_speaker_to_key(unknown, people(unknown)["priya"], "Leanne")
    done = add_speaker_to_key(unknown, LEAD_CLI, "Leanne", role="mother", group="Service 3")
    assert done.added and done.turns_linked == 2 and done.labels_replaced == 0
    person = next(p for p in list_participants(unknown) if p["pseudonym"] == "Leanne")
    assert (person["role"], person["group"]) == ("mother", "Service 3")
    assert not [f for f in scan_transcripts(unknown, LEAD_CLI, ["M07_unknown"]) if f.text == "Leanne"]
    with pytest.raises(ValidationError, match="outside the participant key"):
        add_speaker_to_key(unknown, LEAD_CLI, "Leanne")  # nothing left to add


def test_a_speaker_added_under_a_new_pseudonym_is_relabelled_everywhere(unknown, tmp_path):
    key = PrivateKey(path=tmp_path / "key.csv")
    done = add_speaker_to_key(unknown, LEAD_CLI, "Leanne", pseudonym="Nadia", role="mother", key=key,
                              everywhere=True)
    assert done.added and done.labels_replaced == 3 and done.turns_linked == 2  # two labels, one mention
    view = transcript_view(unknown, "M07_unknown")
    assert "Leanne" not in view.text and "Thanks for coming, Nadia." in view.text
    assert {t.speaker for t in view.turns} == {"Interviewer", "Nadia"}
    assert key.lookup("Leanne") == "Nadia" and "Leanne" not in str(audit_rows(unknown, LEAD_CLI))
    assert not scan_transcripts(unknown, LEAD_CLI, ["M07_unknown"])


def test_a_speaker_label_can_name_an_existing_participant(unknown):
    done = add_speaker_to_key(unknown, LEAD_CLI, "Leanne", pseudonym="amy")  # any case
    assert not done.added and done.labels_replaced == 2
    view = transcript_view(unknown, "M07_unknown")
    assert [t.speaker for t in view.turns if not t.interviewer] == ["Amy", "Amy"]
    assert "Thanks for coming, Leanne." in view.text  # only the labels, unless asked for everywhere
    assert len([p for p in list_participants(unknown) if p["pseudonym"].casefold() == "amy"]) == 1


def test_adding_a_participant_checks_the_pseudonym_and_who_asks(sample_study):
    with pytest.raises(ValidationError, match="already in the participant key"):
        add_participant(sample_study, LEAD_CLI, "AMY")
    with pytest.raises(ValidationError, match="pseudonym"):
        add_participant(sample_study, LEAD_CLI, "  ")
    with pytest.raises(AccessDenied):
        add_participant(sample_study, people(sample_study)["priya"], "P20")
    add_participant(sample_study, LEAD_CLI, " P20 ", "father", "Service 9", 41)
    assert {"pseudonym": "P20", "role": "father", "group": "Service 9", "age": 41, "linked_to": [],
            "attributes": {}} in list_participants(sample_study)


# --- the page ------------------------------------------------------------------------------

def test_the_anonymisation_page_reviews_terms_and_adds_a_speaker_to_the_key(stray, monkeypatch):
    from tests.test_app import PAGE_SCRIPTS, new_app, sign_in

    import_transcripts(stray, LEAD_CLI, [FileInput("M07_unknown.txt", UNKNOWN.encode())])
    at = sign_in(new_app(stray, monkeypatch), "morgan")
    at.switch_page(PAGE_SCRIPTS["anonymisation"]).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="anonymisation-transcript").value == "M05_Amy_followup"
    shown = " ".join(m.value for m in at.markdown)
    assert "**Kyle** · name · 3 occurrences" in shown  # one row for the three occurrences
    assert "My son **Kyle**, he" in shown  # the whole term, with its context
    slot = "term-M05_Amy_followup-kyle"
    assert at.text_input(key=f"{slot}-placeholder").value == "[son]"
    assert at.text_input(key="term-M05_Amy_followup-07700 900871-placeholder").value == "[phone number]"
    at.radio(key=f"{slot}-action").set_value("replace")
    next(b for b in at.button if b.label == "Apply decisions").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any("1 decision(s) applied; 4 replacement(s) made" in t.value for t in at.toast)
    assert transcript_view(stray, "M05_Amy_followup").text.count("[son]") == 3
    assert "**Kyle**" not in " ".join(m.value for m in at.markdown)

    at.selectbox(key="anonymisation-transcript").select("M07_unknown").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "**Leanne** · 3 occurrences, 2 as a speaker label" in shown
    slot = "speaker-M07_unknown-leanne"
    assert at.text_input(key=f"{slot}-pseudonym").value == "Leanne"
    at.text_input(key=f"{slot}-role").input("mother")
    at.checkbox(key=f"{slot}-everywhere").uncheck()
    next(b for b in at.button if b.label == "Add to the participant key").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Leanne is added to the participant key: 2 turn(s) linked" in t.value for t in at.toast)
    assert "Leanne" in {p["pseudonym"] for p in list_participants(stray)}
    assert not any("Leanne" in m.value for m in at.markdown if "·" in m.value)
