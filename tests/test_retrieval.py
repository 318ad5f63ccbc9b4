"""Coded retrieval on the sample study: a code's passages (with and without sub-codes), every
filter and order, the place people read, blindness for each role, the `retrieve` command's JSON
contract and errors, the codebook's counts against a hand count, and the page."""

import html
import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select

from tests.test_app import PAGE_SCRIPTS, app, sign_in  # noqa: F401  (app: the fixture)
from tests.test_cli import documented_keys
from workbench.access import LEAD_CLI, AccessDenied, actor_for
from workbench.analysis.retrieval import code_counts, context_around, retrieve, side_by_side
from workbench.places import clock, place
from workbench.cli import cli
from workbench.coding.assignments import assign, unblind
from workbench.coding.codings import add_coding, list_codings
from workbench.errors import NotFound, ValidationError
from workbench.privacy.anonymisation import release
from workbench.sample import UNBLINDED
from workbench.store.models import Participant, Transcript, Turn
from workbench.transcripts.study import FileInput, import_transcripts
from workbench.ui.common import md

THEME = "Trust, confidentiality and reliability"
LEAF = f"{THEME}/Reliability and being rung back"
CONTRACT = {"transcript", "start", "end", "code", "coder", "speaker", "text"}
CALL = ("Interviewer: Thanks for talking to me. How did the support start?\n"
        "Amy: My key worker rang me back the same day. That never happened before.\n"
        "Interviewer: And the group?\n"
        "Zoë: The group was on a Tuesday morning, so I couldn’t go. I work mornings.\n")


def people(study):
    with study.session() as session:
        return {name: actor_for(session, name) for name in ("morgan", "priya", "tom", "jo")}


def ids(passages):
    return {p.coding_id for p in passages}


def run(study, *args):
    url = study.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--db", url, *args])


# --- the domain function ----------------------------------------------------------------------

def test_a_codes_passages_with_and_without_its_sub_codes(sample_study):
    rows = list_codings(sample_study, LEAD_CLI)
    own = retrieve(sample_study, LEAD_CLI, [THEME])
    assert ids(own.passages) == {r.id for r in rows if r.code == THEME} != set()
    every = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True)
    assert ids(every.passages) == {r.id for r in rows if r.code == THEME or r.code.startswith(THEME + "/")}
    assert len(every.passages) > len(own.passages) and every.codes == [THEME] and every.subcodes
    by_id = {r.id: r for r in rows}
    for p in every.passages:  # the exact coded text, its code, coder and memo
        row = by_id[p.coding_id]
        assert (p.text, p.code, p.coder, p.memo, p.transcript, p.start, p.end) == (
            row.text, row.code, row.coder, row.memo, row.transcript, row.start, row.end)
    # several codes at once (by unique name too), each coding once
    two = retrieve(sample_study, LEAD_CLI, ["Reliability and being rung back", f"{THEME}/Continuity of key worker", LEAF])
    assert ids(two.passages) == {r.id for r in rows if r.code in (LEAF, f"{THEME}/Continuity of key worker")}
    assert len(two.passages) == len(ids(two.passages))


def test_every_filter(sample_study):
    everything = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True)
    priya = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, coder="priya")
    assert priya.passages and {p.coder for p in priya.passages} == {"priya"}
    assert ids(priya.passages) == {p.coding_id for p in everything.passages if p.coder == "priya"}
    amy = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, transcripts=["M01_Amy", "C01_Leo"])
    assert {p.transcript for p in amy.passages} == {"M01_Amy", "C01_Leo"}
    assert ids(amy.passages) == {p.coding_id for p in everything.passages if p.transcript in ("M01_Amy", "C01_Leo")}
    mothers = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, roles=["mother"])
    assert mothers.passages and {p.role for p in mothers.passages} == {"mother"}
    assert ids(mothers.passages) == {p.coding_id for p in everything.passages if p.role == "mother"}
    service = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, attributes={"group": "Service 4"})
    assert service.passages and {p.participant for p in service.passages} <= {"Amy", "Leo", "KW01"}
    group = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, attributes={"programme": "children's group"})
    assert group.passages and {p.participant for p in group.passages} <= {"Leo", "Ellie", "Grace", "Holly", "Isla"}
    aged = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, attributes={"age": "16"})
    assert {p.participant for p in aged.passages} == {"Jack"}
    nobody = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, roles=["mother"], attributes={"age": "16"})
    assert nobody.passages == [] and nobody.counts() == {"passages": 0, "transcripts": 0, "participants": 0}
    with pytest.raises(ValidationError, match="no transcript titled 'Nowhere'"):
        retrieve(sample_study, LEAD_CLI, [THEME], transcripts=["Nowhere"])
    with pytest.raises(NotFound, match="no code 'No such code'"):
        retrieve(sample_study, LEAD_CLI, ["No such code"])
    with pytest.raises(ValidationError, match="at least one code"):
        retrieve(sample_study, LEAD_CLI, [])


def test_orders(sample_study):
    def result(order):
        return retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, order=order).passages

    by_transcript = result("transcript")
    assert [(p.transcript, p.start) for p in by_transcript] == sorted((p.transcript, p.start) for p in by_transcript)
    by_participant = [p.participant for p in result("participant")]
    assert by_participant == sorted(by_participant) and len(set(by_participant)) > 5
    lengths = [p.end - p.start for p in result("length")]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1]
    assert ids(result("length")) == ids(by_transcript)
    with pytest.raises(ValidationError, match="unknown order"):
        result("colour")


def test_each_passage_has_its_place_speaker_and_context(sample_study):
    passages = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True).passages
    with sample_study.session() as session:
        texts = dict(session.execute(select(Transcript.title, Transcript.text)).all())
        turns = session.execute(select(Transcript.title, Turn.index, Turn.start, Turn.text_start, Turn.end,
                                       Turn.speaker, Turn.time_start, Participant.pseudonym)
                                .select_from(Turn).join(Transcript, Turn.transcript_id == Transcript.id)
                                .outerjoin(Participant, Turn.participant_id == Participant.id)).all()
    for p in passages:
        home = next(t for t in turns if t.title == p.transcript and t.start <= p.start < t.end)
        assert p.turn == home.index + 1 and p.time == home.time_start
        assert p.speaker == home.speaker and p.participant == home.pseudonym == p.attribution  # one speaker each
        text = texts[p.transcript]
        assert text[:p.start].endswith(p.before.removeprefix("…")) and text[p.end:].startswith(p.after.removesuffix("…"))
        assert 0 < len(p.before.removeprefix("…")) <= 120 or p.start == 0
        expected = f"{p.transcript}, turn {p.turn}" + (f", {clock(p.time)}" if p.time is not None else "")
        assert p.place == expected and not re.search(rf"\b{p.start}\b", p.place)
    timed = next(p for p in passages if p.time is not None)
    assert re.fullmatch(r"\w+, turn \d+, \d\d:\d\d:\d\d", timed.place)
    assert place("M03_Carla", 37, 845.2) == "M03_Carla, turn 37, 00:14:05" and clock(3725) == "01:02:05"
    assert place("M03_Carla", 37, None) == "M03_Carla, turn 37"


def test_context_is_cut_between_words():
    text = "one two three four five six seven eight nine ten"
    start = text.index("five")
    before, after = context_around(text, start, start + 4, 12)
    assert before == "…three four " and after == " six seven…"
    assert context_around(text, 0, 3, 200) == ("", text[3:])
    assert context_around(text, start, start + 4, 0) == ("", "")


def test_a_passage_across_speakers_names_each_and_keeps_its_memo(sample_study):
    actors = people(sample_study)
    import_transcripts(sample_study, LEAD_CLI, [FileInput("Call.txt", CALL.encode())])
    release(sample_study, LEAD_CLI, ["Call"], override="written for this test")
    assign(sample_study, LEAD_CLI, ["Call"], ["priya", "tom"])
    start, end = CALL.index("My key worker"), CALL.index(" so I couldn")
    add_coding(sample_study, actors["priya"], "Call", LEAF, start, end, memo="both of them")
    (p,) = retrieve(sample_study, LEAD_CLI, [LEAF], transcripts=["Call"]).passages
    assert (p.speaker, p.participant, p.role, p.attribution) == ("Amy", "Amy", "mother", "Amy; Zoë")
    assert p.speakers == ("Amy", "Interviewer", "Zoë") and p.turn == 2 and p.time is None
    assert p.place == "Call, turn 2" and p.memo == "both of them" and p.round == 1
    assert p.before == CALL[:start] and p.after.startswith(" so I couldn’t go.")
    assert retrieve(sample_study, LEAD_CLI, [LEAF], transcripts=["Call"], roles=["mother"]).passages
    assert not retrieve(sample_study, LEAD_CLI, [LEAF], transcripts=["Call"], roles=["child"]).passages
    templated = retrieve(sample_study, LEAD_CLI, [LEAF], transcripts=["Call"], template="{pseudonym} ({group})")
    assert templated.passages[0].attribution == "Amy (Service 4); Zoë"
    # tom reads priya's passage (and its memo) only once the lead unblinds the transcript
    with pytest.raises(AccessDenied):
        retrieve(sample_study, actors["tom"], [LEAF], coder="priya", transcripts=["Call"])
    unblind(sample_study, LEAD_CLI, "Call", force=True)
    (seen,) = retrieve(sample_study, actors["tom"], [LEAF], coder="priya", transcripts=["Call"]).passages
    assert seen.memo == "both of them"


def test_reading_is_a_fixed_number_of_queries(sample_study):
    statements = []
    event.listen(sample_study.engine, "before_cursor_execute", lambda *args: statements.append(1))
    few = len(retrieve(sample_study, LEAD_CLI, [THEME]).passages)
    small, statements[:] = len(statements), []
    many = len(retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, order="length").passages)
    assert many > 5 * few > 0 and len(statements) == small <= 8


# --- blindness ----------------------------------------------------------------------------------

def test_a_coder_reads_only_their_own_passages_before_unblinding(sample_study):
    actors = people(sample_study)
    priya = actors["priya"]
    mine = retrieve(sample_study, priya, [THEME], subcodes=True)
    assert mine.passages and {p.coder for p in mine.passages} == {"priya"} and mine.coder == "priya"
    assert ids(mine.passages) == {r.id for r in list_codings(sample_study, priya, coder="priya")
                                  if r.code.startswith(THEME)}
    for refused in ({"coder": "tom"}, {"coder": "consensus"}, {"coder": "tom", "transcripts": ["M01_Amy"]},
                    {"coder": "tom", "transcripts": [UNBLINDED[0], "M01_Amy"]}):
        with pytest.raises(AccessDenied, match="cannot read"):
            retrieve(sample_study, priya, [THEME], subcodes=True, **refused)
    with pytest.raises(AccessDenied):
        code_counts(sample_study, priya, "tom")
    # after unblinding, the colleague's passages on that transcript, and only there
    theirs = retrieve(sample_study, priya, [THEME], subcodes=True, coder="tom", transcripts=[UNBLINDED[0]])
    assert theirs.passages and {(p.coder, p.transcript) for p in theirs.passages} == {("tom", UNBLINDED[0])}
    # a code another coder proposed does not exist for her
    with pytest.raises(NotFound):
        retrieve(sample_study, priya, ["Court and family proceedings"])
    assert retrieve(sample_study, LEAD_CLI, ["Court and family proceedings"]).passages


def test_a_viewer_reads_only_the_consensus_and_a_lead_reads_anyone(sample_study):
    jo = people(sample_study)["jo"]
    seen = retrieve(sample_study, jo, [THEME], subcodes=True)
    assert seen.passages and {p.coder for p in seen.passages} == {"consensus"}
    assert {p.transcript for p in seen.passages} <= set(UNBLINDED)
    assert ids(seen.passages) == ids(retrieve(sample_study, jo, [THEME], subcodes=True, coder="consensus").passages)
    for name in ("priya", "tom"):
        with pytest.raises(AccessDenied):
            retrieve(sample_study, jo, [THEME], coder=name)
    lead = retrieve(sample_study, people(sample_study)["morgan"], [THEME], subcodes=True)
    assert {p.coder for p in lead.passages} == {"priya", "tom", "consensus"}


def test_two_coders_side_by_side_only_on_unblinded_transcripts_and_only_for_a_lead(sample_study):
    actors = people(sample_study)
    result = side_by_side(sample_study, actors["morgan"], [THEME], ("priya", "tom"), subcodes=True)
    assert result.transcripts and {t for t, _a, _b in result.transcripts} <= set(UNBLINDED)
    for title, first, second in result.transcripts:
        assert {(p.coder, p.transcript) for p in first} <= {("priya", title)}
        assert {(p.coder, p.transcript) for p in second} <= {("tom", title)}
    everything = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, coder="priya", transcripts=list(UNBLINDED))
    assert ids(p for _t, first, _s in result.transcripts for p in first) == ids(everything.passages)
    for name in ("priya", "jo"):
        with pytest.raises(AccessDenied, match="only a lead"):
            side_by_side(sample_study, actors[name], [THEME], ("priya", "tom"))
    with pytest.raises(ValidationError, match="two different coders"):
        side_by_side(sample_study, LEAD_CLI, [THEME], ("priya", "priya"))


# --- the codebook's counts ---------------------------------------------------------------------

def test_counts_per_code_match_a_hand_count(sample_study):
    rows = list_codings(sample_study, LEAD_CLI, coder="priya")
    with sample_study.session() as session:
        turns = session.execute(select(Transcript.title, Turn.text_start, Turn.end, Turn.participant_id)
                                .select_from(Turn).join(Transcript, Turn.transcript_id == Transcript.id)
                                .where(Turn.is_interviewer.is_(False))).all()
    hand: dict[str, list] = {}
    for r in rows:
        entry = hand.setdefault(r.code, [0, set(), set()])
        entry[0] += 1
        entry[1].add(r.transcript)
        entry[2] |= {t.participant_id for t in turns if t.title == r.transcript and t.participant_id
                     and t.text_start < r.end and r.start < t.end}
    counts = code_counts(sample_study, LEAD_CLI, "priya")
    assert {path: (c.passages, c.transcripts, c.participants) for path, c in counts.items()} == {
        path: (n, len(titles), len(persons)) for path, (n, titles, persons) in hand.items()}
    # the same counts as reading the passages
    leaf = retrieve(sample_study, LEAD_CLI, [LEAF], coder="priya")
    assert (counts[LEAF].passages, counts[LEAF].transcripts) == (leaf.counts()["passages"], leaf.counts()["transcripts"])
    # a coder counts their own by default; a viewer the consensus; everyone's for a lead
    actors = people(sample_study)
    assert code_counts(sample_study, actors["priya"]) == counts
    consensus = code_counts(sample_study, LEAD_CLI, "consensus")
    assert code_counts(sample_study, actors["jo"]) == consensus
    assert sum(c.passages for c in consensus.values()) == len(list_codings(sample_study, LEAD_CLI, coder="consensus"))
    assert sum(c.passages for c in code_counts(sample_study, LEAD_CLI).values()) == len(list_codings(sample_study, LEAD_CLI))


# --- the command --------------------------------------------------------------------------------

def test_the_command_prints_the_documented_json(sample_study):
    result = run(sample_study, "retrieve", "--code", LEAF, "--code", f"{THEME}/Continuity of key worker",
                 "--transcript", "M01_Amy", "--transcript", "M02_Bethan", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data and CONTRACT <= set(data[0]) and set(data[0]) == documented_keys("retrieve")
    assert {d["transcript"] for d in data} == {"M01_Amy", "M02_Bethan"}
    assert {d["code"] for d in data} == {LEAF, f"{THEME}/Continuity of key worker"}
    domain = retrieve(sample_study, LEAD_CLI, [LEAF, f"{THEME}/Continuity of key worker"],
                      transcripts=["M01_Amy", "M02_Bethan"])
    assert data == json.loads(json.dumps([p.as_dict() for p in domain.passages]))


def test_the_command_filters_orders_and_reads_as_the_acting_user(sample_study):
    def passages(*args, who=None):
        result = run(sample_study, *(["--as", who] if who else []), "retrieve", "--code", THEME, *args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert {d["code"] for d in passages()} == {THEME}
    assert len(passages("--subcodes")) > len(passages())
    assert {d["role"] for d in passages("--subcodes", "--role", "mother")} == {"mother"}
    assert {d["participant"] for d in passages("--subcodes", "--attribute", "group=Service 4")} <= {"Amy", "Leo", "KW01"}
    lengths = [d["end"] - d["start"] for d in passages("--subcodes", "--order", "length")]
    assert lengths == sorted(lengths, reverse=True)
    assert {d["coder"] for d in passages("--subcodes", "--coder", "tom")} == {"tom"}
    assert {d["coder"] for d in passages("--subcodes", who="priya")} == {"priya"}
    assert {d["coder"] for d in passages("--subcodes", who="jo")} == {"consensus"}
    assert passages("--subcodes", "--context", "0")[0]["before"] == ""


def test_the_readable_listing_shows_places_not_offsets(sample_study):
    result = run(sample_study, "retrieve", "--code", LEAF, "--transcript", "C03_Jack", "--transcript", "M01_Amy")
    assert result.exit_code == 0, result.output
    domain = retrieve(sample_study, LEAD_CLI, [LEAF], transcripts=["C03_Jack", "M01_Amy"]).passages
    heads = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert heads[:-1] == [f"{p.place} · {p.attribution} · {p.code} · coded by {p.coder}" for p in domain]
    assert any(re.match(r"C03_Jack, turn \d+, \d\d:\d\d:\d\d · Jack · ", h) for h in heads)
    assert any(re.match(r"M01_Amy, turn \d+ · Amy · ", h) for h in heads)  # no times in this source
    assert heads[-1].startswith(f"{len(domain)} passages in 2 transcripts")
    assert " ".join(domain[0].text.split()) in " ".join(result.stdout.split())
    assert not re.search(r"\b\d+[-–]\d+\b", "\n".join(heads))


@pytest.mark.parametrize("args, message", [
    (["--code", "No such code"], "error: no code 'No such code' in the codebook"),
    (["--code", THEME, "--transcript", "Nowhere"], "error: no transcript titled 'Nowhere'"),
    (["--code", THEME, "--attribute", "group"], "error: --attribute takes KEY=VALUE, not 'group'"),
    (["--code", THEME, "--coder", "nobody"], "error: no user named 'nobody'"),
])
def test_the_command_refuses_in_one_line(sample_study, args, message):
    result = run(sample_study, "retrieve", *args)
    assert result.exit_code == 1 and result.stderr == message + "\n" and "Traceback" not in result.output


def test_the_command_keeps_blindness(sample_study):
    result = run(sample_study, "--as", "priya", "retrieve", "--code", THEME, "--coder", "tom")
    assert result.exit_code == 1
    assert result.stderr == "error: priya cannot read tom's codings before the transcript is unblinded\n"
    result = run(sample_study, "--as", "jo", "retrieve", "--code", THEME, "--coder", "priya")
    assert result.exit_code == 1 and result.stderr == "error: jo cannot read priya's codings\n"


# --- the page (AppTest) -------------------------------------------------------------------------

def open_page(at, codes, subcodes=True):
    at.switch_page(PAGE_SCRIPTS["retrieve"]).run()
    at.multiselect(key="retrieve-codes").set_value(codes).run()
    if subcodes:
        at.checkbox(key="retrieve-subcodes").check().run()
    assert not at.exception, at.exception
    return at


def cards(at) -> list[str]:
    return [m.value for m in at.markdown if " · coded by " in m.value]


def test_a_lead_filters_pages_exports_and_opens_a_passage(app, sample_study):  # noqa: F811
    at = open_page(sign_in(app(), "morgan"), [THEME])
    everything = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True)
    assert f"**{len(everything.passages)}** passages" in at.markdown[0].value
    assert len(cards(at)) == 50 < len(everything.passages)  # drawn 50 at a time
    at.button(key="retrieve-more").click().run()
    assert len(cards(at)) == min(100, len(everything.passages))
    at.multiselect(key="retrieve-roles").set_value(["mother"]).run()
    at.selectbox(key="retrieve-coder").select("tom").run()
    mothers = retrieve(sample_study, LEAD_CLI, [THEME], subcodes=True, roles=["mother"], coder="tom")
    assert len(cards(at)) == len(mothers.passages) > 0 and all("coded by tom" in c for c in cards(at))
    assert {b.label for b in at.get("download_button")} == {"Download CSV", "Download Excel"}
    first = mothers.passages[0]
    at.button(key=f"open-{first.coding_id}").click().run()
    assert not at.exception and [t.value for t in at.title] == ["Code"]
    assert at.selectbox(key="transcript-choice").value == first.transcript


def test_a_coders_page_holds_only_their_own_passages(app, sample_study):  # noqa: F811
    at = open_page(sign_in(app(), "priya"), [THEME])
    assert at.selectbox(key="retrieve-coder").options == ["priya"]
    assert not [r for r in at.radio if r.key == "retrieve-view"]  # side by side is a lead's
    at.button(key="retrieve-more").click().run()
    mine = retrieve(sample_study, people(sample_study)["priya"], [THEME], subcodes=True).passages
    assert len(cards(at)) == len(mine) and all(c.endswith("coded by priya") for c in cards(at))
    marked = [html.unescape(m).replace("<br>", "\n") for e in at.get("html")
              for m in re.findall(r"<mark[^>]*>(.*?)</mark>", e.proto.body, re.S)]
    assert sorted(marked) == sorted(p.text for p in mine)
    memos = {r.memo for r in list_codings(sample_study, LEAD_CLI, coder="tom") if r.memo}
    shown = " ".join([e.proto.body for e in at.get("html")] + [c.value for c in at.caption])
    assert memos and not [m for m in memos if md(m) in shown or m in shown]
    assert any(md(p.memo) in shown for p in mine if p.memo)


def test_the_codebook_shows_colours_and_counts_for_a_chosen_coder(app, sample_study):  # noqa: F811
    at = sign_in(app(), "morgan")
    at.switch_page(PAGE_SCRIPTS["codebook"]).run()
    at.selectbox(key="codebook-counts-coder").select("tom").run()
    assert not at.exception, at.exception
    table = next(t.value for t in at.dataframe if "participants" in t.value.columns)
    counts = code_counts(sample_study, LEAD_CLI, "tom")
    row = table[table["code"].str.strip() == LEAF.split("/")[-1]].iloc[0]
    assert (row["passages"], row["transcripts"], row["participants"]) == (
        counts[LEAF].passages, counts[LEAF].transcripts, counts[LEAF].participants)
    assert re.fullmatch(r"#[0-9a-f]{6}", row["colour"])
    jo = sign_in(app(), "jo")
    jo.switch_page(PAGE_SCRIPTS["codebook"]).run()
    assert jo.selectbox(key="codebook-counts-coder").options == ["consensus"]
