"""Search, analysis views and memos on the sample study, with blindness."""

import json

import pytest
from click.testing import CliRunner

from tests.test_cli import documented_keys
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.analysis.crosstabs import report
from workbench.analysis.search import Filters, search
from workbench.cli import cli
from workbench.coding.assignments import unblind
from workbench.coding.codings import list_codings
from workbench.coding.memos import add_memo, delete_memo, edit_memo, list_memos
from workbench.errors import ValidationError
from workbench.sample import UNBLINDED
from workbench.transcripts.study import FileInput, import_transcripts


def people(study):
    with study.session() as session:
        return {name: actor_for(session, name) for name in ("morgan", "priya", "tom", "jo")}


def test_lemma_search_finds_every_form_of_the_word(sample_study):
    hits = search(sample_study, LEAD_CLI, "ring back").hits
    forms = {" ".join(h.match.lower().split()) for h in hits}
    assert {"rang back", "rung back"} <= forms
    assert all(" ".join(h.match.split()) in h.text for h in hits)  # the KWIC line shows the match
    with sample_study.session() as session:
        from sqlalchemy import select

        from workbench.store.models import Transcript

        texts = dict(session.execute(select(Transcript.title, Transcript.text)).all())
    for h in hits:
        assert texts[h.transcript][h.start:h.end] == h.match
    phrase = search(sample_study, LEAD_CLI, "rang back", "phrase").hits
    assert phrase and {" ".join(h.match.lower().split()) for h in phrase} == {"rang back"}
    assert len(phrase) < len(hits)


def test_interviewer_turns_and_labels_are_not_searched_by_default(sample_study):
    import_transcripts(sample_study, LEAD_CLI, [FileInput("x.txt", b"Interviewer: Did they ring you?\nAmy: No. Never.\n")])
    assert search(sample_study, LEAD_CLI, "ring", filters=Filters(transcripts=("x",))).hits == []
    asked = search(sample_study, LEAD_CLI, "ring", filters=Filters(transcripts=("x",), include_interviewer=True)).hits
    assert [h.speaker for h in asked] == ["Interviewer"]
    assert search(sample_study, LEAD_CLI, "Amy", "phrase", Filters(transcripts=("x",))).hits == []  # a label


def test_filters_by_role_age_speaker_and_code(sample_study):
    mothers = search(sample_study, LEAD_CLI, "school", filters=Filters(roles=("mother",))).hits
    assert mothers and {h.role for h in mothers} == {"mother"}
    young = search(sample_study, LEAD_CLI, "school", filters=Filters(min_age=12, max_age=18)).hits
    assert young and all(h.pseudonym in {"Maisie", "Jack", "Holly", "Isla"} for h in young)
    leo = search(sample_study, LEAD_CLI, "group", filters=Filters(speakers=("Leo",))).hits
    assert leo and {h.pseudonym for h in leo} == {"Leo"}
    coded = search(sample_study, LEAD_CLI, "believe", filters=Filters(code="Trust, confidentiality and reliability")).hits
    everywhere = search(sample_study, LEAD_CLI, "believe").hits
    assert 0 < len(coded) < len(everywhere)
    result = search(sample_study, LEAD_CLI, "school")
    assert sum(result.by_participant.values()) == len(result.hits)
    assert sum(v["hits"] for v in result.by_role.values()) == len(result.hits)


def test_code_filter_respects_blindness(sample_study):
    actors = people(sample_study)
    tom_only = Filters(code="Trust, confidentiality and reliability", coder="tom")
    with pytest.raises(AccessDenied):
        search(sample_study, actors["priya"], "believe", filters=tom_only)
    own = search(sample_study, actors["priya"], "believe", filters=Filters(code="Trust, confidentiality and reliability"))
    lead = search(sample_study, LEAD_CLI, "believe", filters=Filters(code="Trust, confidentiality and reliability",
                                                                      coder="priya"))
    assert [(h.transcript, h.start) for h in own.hits] == [(h.transcript, h.start) for h in lead.hits]


def test_bad_searches_are_clear_errors(sample_study):
    with pytest.raises(ValidationError, match="regular expression"):
        search(sample_study, LEAD_CLI, "(unclosed", "regex")
    with pytest.raises(ValidationError, match="empty"):
        search(sample_study, LEAD_CLI, "   ", "phrase")
    with pytest.raises(ValidationError, match="empty text"):
        search(sample_study, LEAD_CLI, "a*", "regex")


def test_analysis_views_count_consistently_and_stay_blind(sample_study):
    actors = people(sample_study)
    frequencies = report(sample_study, LEAD_CLI, "frequencies", "priya")
    assert {r["role"] for r in frequencies} <= {"mother", "child", "young person", "staff"}
    assert all(r["participants"] <= r["passages"] or r["participants"] >= 1 for r in frequencies)
    codes = {r.code for r in list_codings(sample_study, LEAD_CLI, coder="priya")}
    assert {r["code"] for r in frequencies} <= codes
    presence = report(sample_study, LEAD_CLI, "presence", "priya")
    for row in frequencies:
        present = next(p for p in presence if p["code"] == row["code"])
        assert sum(v for k, v in present.items() if k != "code") >= row["participants"]
    pairs = report(sample_study, LEAD_CLI, "cooccurrence", "tom")
    assert all(r["code"] != r["with"] for r in pairs)
    with pytest.raises(AccessDenied):
        report(sample_study, actors["priya"], "frequencies", "tom")
    with pytest.raises(AccessDenied):
        report(sample_study, actors["jo"], "presence", "priya")
    assert report(sample_study, actors["priya"], "frequencies") == frequencies


def test_memos_are_blind_like_codings(sample_study):
    a = people(sample_study)
    project = add_memo(sample_study, a["morgan"], "Round 1 closes Friday.", title="Plan")
    private = add_memo(sample_study, a["priya"], "Trust = speed of reply?", code="Reliability and being rung back")
    on_amy = add_memo(sample_study, a["tom"], "Amy contrasts the cover worker.", transcript="M01_Amy")
    ours = {project, private, on_amy}
    seen = {who: {m.id for m in list_memos(sample_study, actor, include_codings=False)} & ours
            for who, actor in a.items()}
    assert seen["morgan"] == {project, private, on_amy}
    assert seen["priya"] == {project, private} and seen["tom"] == {project, on_amy} and seen["jo"] == {project}
    unblind(sample_study, LEAD_CLI, "M01_Amy")
    assert on_amy in {m.id for m in list_memos(sample_study, a["priya"], include_codings=False)}
    coding_memos = [m for m in list_memos(sample_study, a["priya"]) if m.kind == "coding"]
    assert coding_memos and {m.author for m in coding_memos} <= {"priya", "tom", "consensus"}
    assert {m.author for m in coding_memos if m.transcript not in {"M01_Amy", *UNBLINDED}} == {"priya"}
    assert [m.id for m in list_memos(sample_study, a["morgan"], search="closes FRIDAY")] == [project]
    with pytest.raises(AccessDenied):
        edit_memo(sample_study, a["priya"], on_amy, "changed")
    edit_memo(sample_study, a["tom"], on_amy, "Amy contrasts the cover worker with her key worker.")
    delete_memo(sample_study, a["morgan"], on_amy)
    with pytest.raises(AccessDenied):
        add_memo(sample_study, LEAD_CLI, "no author")


def test_cli_search_report_and_memos_have_documented_keys(sample_study):
    url = sample_study.engine.url.render_as_string(hide_password=False)

    def run(*args):
        result = CliRunner().invoke(cli, ["--db", url, *args])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    hits = run("search", "rung back", "--role", "mother", "--json")
    assert hits and set(hits[0]) == documented_keys("search") and {h["role"] for h in hits} == {"mother"}
    assert set(run("report", "frequencies", "--coder", "priya", "--json")[0]) == documented_keys("report frequencies") | {"role"}
    assert set(run("report", "cooccurrence", "--coder", "tom", "--json")[0]) == documented_keys("report cooccurrence")
    assert "code" in run("report", "presence", "--coder", "tom", "--json")[0]
    CliRunner().invoke(cli, ["--db", url, "--as", "priya", "memos", "add", "a thought", "--transcript", "M01_Amy"])
    memos = run("--as", "priya", "memos", "list", "--json")
    assert set(memos[0]) == documented_keys("memos list") and "a thought" in [m["text"] for m in memos]
    blind = CliRunner().invoke(cli, ["--db", url, "--as", "tom", "memos", "list", "--search", "thought", "--json"])
    assert json.loads(blind.stdout) == []


# --- results by sentence: place, highlighting, and the spans "Code this" offers --------------

# A combined emoji (3 code points, 5 UTF-16 units) and a combining mark NFC keeps (é + U+0331:
# 2 code points, one character on screen) come before the hits, so an offset counted in UTF-16
# units or in characters as seen would be wrong.
TALK = ("Interviewer: Did they ring you back?\n"
        "Amy: Rang straight away. 👩‍👧 Caf\u00e9\u0331 talk, then she rang me back. Then more. It rang and rang, it rang!\n"
        "Interviewer: And then?\n"
        "Amy: Nobody rang\n")


@pytest.fixture
def talk(study):
    import_transcripts(study, LEAD_CLI, [FileInput("Talk.txt", TALK.encode())])
    return study


def passages(study, query, mode="phrase"):
    from workbench.analysis.search import search as run

    return run(study, LEAD_CLI, query, mode, Filters(transcripts=("Talk",))).passages


def test_coding_spans_are_the_sentence_the_turn_and_the_match():
    from workbench.analysis.search import coding_spans

    sentences = [(10, 20), (21, 30), (31, 40)]
    inside = coding_spans((10, 40), sentences, 23, 26)
    assert (inside.sentence, inside.turn, inside.exact) == ((21, 30), (10, 40), (23, 26))
    across = coding_spans((10, 40), sentences, 18, 23)  # a hit across a sentence boundary takes both
    assert across.sentence == (10, 30)
    assert coding_spans((10, 40), sentences, 10, 13).sentence == (10, 20)  # the very start of the turn
    assert coding_spans((10, 40), sentences, 37, 40).sentence == (31, 40)  # the very end
    assert coding_spans((10, 40), sentences, 19, 21).sentence == (10, 21)  # into a gap: widened to the hit
    assert coding_spans((10, 40), [], 12, 15).sentence == (12, 15)  # no sentences: the match
    with pytest.raises(ValidationError, match="not inside the turn"):
        coding_spans((10, 40), sentences, 5, 12)  # into the speaker label


def test_hits_in_one_sentence_are_one_result_listing_the_terms():
    from workbench.analysis.search import CodingSpans, merge_by_sentence

    def at(sentence, exact):
        return CodingSpans(sentence, (0, 100), exact)

    # sentences 10-20, 21-30 and 31-40; the last hit runs across the first two, which become one passage
    spans = [at((10, 20), (12, 14)), at((31, 40), (31, 33)), at((10, 20), (15, 18)), at((10, 20), (11, 12)),
             at((10, 30), (19, 22))]
    assert merge_by_sentence(spans) == [[3, 0, 2, 4], [1]]
    assert merge_by_sentence(spans[:4]) == [[3, 0, 2], [1]]
    assert merge_by_sentence([]) == []


def test_results_are_sentences_with_their_place_in_code_points(talk):
    import unicodedata

    with talk.session() as session:
        from sqlalchemy import select

        from workbench.store.models import Transcript

        text = session.scalar(select(Transcript.text).where(Transcript.title == "Talk"))
    assert text == TALK and unicodedata.combining("\u0331")  # the canonical text keeps the combining mark
    found = passages(talk, "rang")
    assert [p.text for p in found] == ["Rang straight away.", "👩‍👧 Caf\u00e9\u0331 talk, then she rang me back.",
                                       "It rang and rang, it rang!", "Nobody rang"]
    for p in found:
        assert text[p.start:p.end] == p.text  # offsets are code points of the canonical text
        assert all(text[h.start:h.end].lower() == "rang" for h in p.hits)
    first, emoji, three, last = found
    assert first.hits[0].start == first.turn_start == text.index("Rang straight")  # the very start of a turn
    assert last.hits[0].end == last.turn_end == text.index("Nobody rang") + len("Nobody rang")  # ... its end
    assert emoji.start == text.index("👩") and emoji.hits[0].start == text.index("she rang") + 4
    assert len(text[:emoji.hits[0].start].encode("utf-16-le")) // 2 > emoji.hits[0].start  # UTF-16 would differ
    assert len(three.hits) == 3 and three.terms == ["rang"]  # three matches, one result
    assert [(p.place, p.turn, p.speaker) for p in (first, last)] == [("Talk, turn 2", 2, "Amy"), ("Talk, turn 4", 4, "Amy")]
    assert first.turn_text == text[first.turn_start:first.turn_end] and first.turn_text.startswith("Rang straight")
    assert not first.turn_text.startswith("Amy")  # the turn's talk, not its label
    assert three.pieces() == [("It ", False), ("rang", True), (" and ", False), ("rang", True), (", it ", False),
                              ("rang", True), ("!", False)]


def test_a_hit_across_a_sentence_boundary_offers_both_sentences(talk):
    (across,) = passages(talk, "back. Then")
    assert across.text == "👩‍👧 Caf\u00e9\u0331 talk, then she rang me back. Then more."
    assert across.sentences == 2
    choices = {c.kind: (c.label, TALK[c.start:c.end]) for c in across.choices()}
    assert choices["sentence"] == ("2 sentences", across.text)
    assert choices["turn"] == ("Whole turn", across.turn_text)
    assert choices["match"] == ("Exact match: “back. Then”", "back. Then")
    assert [c.kind for c in across.choices()][:2] == ["sentence", "turn"]  # the sentence is the default


def test_terms_list_each_matched_form_once(talk):
    (one,) = [p for p in passages(talk, r"\brang\b|\bthen\b", "regex") if "she rang" in p.text]
    assert one.terms == ["then", "rang"]
    assert [c.label for c in one.choices()][2:] == ["Exact match 1: “then”", "Exact match 2: “rang”"]


def test_the_place_names_the_turn_and_the_time(study):
    vtt = ("WEBVTT\n\n00:14:05.000 --> 00:14:09.000\n<v Interviewer>Did she ring?\n\n"
           "01:02:03.500 --> 01:02:08.000\n<v Carla>She rang me at four.\n")
    import_transcripts(study, LEAD_CLI, [FileInput("Times.vtt", vtt.encode())])
    from workbench.analysis.search import search as run

    (p,) = run(study, LEAD_CLI, "rang", "phrase").passages
    assert p.place == "Times, turn 2, 01:02:03" and p.speaker == "Carla"


def test_highlighting_escapes_the_transcript(study):
    from workbench.ui.search_page import passage_html

    hostile = "Amy: I typed <img src=x onerror=alert(1)> & [a link](http://example.com/x) and rang <b>back</b>.\n"
    import_transcripts(study, LEAD_CLI, [FileInput("Hostile.txt", hostile.encode())])
    from workbench.analysis.search import search as run

    (p,) = run(study, LEAD_CLI, "rang", "phrase").passages
    shown = passage_html(p)
    assert "<img" not in shown and "<b>" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "<mark>rang</mark>" in shown and "&amp;" in shown
    assert shown.count("<") == shown.count("</") * 2  # only the page's own <div> and <mark>, each closed


def test_code_this_on_the_search_page_codes_the_sentence_as_the_coder(sample_study, monkeypatch):
    """Through the page: the sentence is the default span, the coding is the coder's own (made by
    add_coding, origin "search"); "Code this" shows only on transcripts the coder may code now,
    and never for a viewer."""
    from tests.test_app import PAGE_SCRIPTS, new_app, sign_in
    from workbench.coding.assignments import assign
    from workbench.privacy.anonymisation import release

    import_transcripts(sample_study, LEAD_CLI, [FileInput("Talk.txt", TALK.encode())])
    release(sample_study, LEAD_CLI, ["Talk"], override="written for this test")
    assign(sample_study, LEAD_CLI, ["Talk"], ["priya"])
    at = sign_in(new_app(sample_study, monkeypatch), "priya")
    at.switch_page(PAGE_SCRIPTS["search"]).run()
    at.radio[0].set_value("phrase").run()
    at.text_input[0].input("rang").run()
    assert not at.exception
    shown = " ".join(h.proto.body for h in at.html)
    assert "<mark>rang</mark>" in shown and "Talk, turn 2" in " ".join(m.value for m in at.markdown)
    applies = [b.key for b in at.button if (b.key or "").startswith("apply-")]
    assert applies and all(key.startswith("apply-Talk-") for key in applies)  # her only open transcript
    sentence = next(p for p in passages(sample_study, "rang") if "she rang me back" in p.text)
    key = f"Talk-{sentence.start}"
    assert at.radio(key=f"span-{key}").value == 0  # the sentence, by default
    at.selectbox(key=f"code-{key}").set_value("Trust, confidentiality and reliability/Reliability and being rung back")
    at.button(key=f"apply-{key}").click().run()
    assert not at.exception and not at.error
    (coding,) = list_codings(sample_study, LEAD_CLI, transcript="Talk")
    assert (coding.coder, coding.start, coding.end, coding.text) == ("priya", sentence.start, sentence.end, sentence.text)
    assert coding.origin == "search"

    jo = sign_in(new_app(sample_study, monkeypatch), "jo")  # a viewer searches but cannot code
    jo.switch_page(PAGE_SCRIPTS["search"]).run()
    jo.text_input[0].input("school").run()
    assert not jo.exception and any("hits" in m.value for m in jo.markdown)
    assert not [b for b in jo.button if (b.key or "").startswith("apply-")]
