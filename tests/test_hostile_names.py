"""Names that survive anonymisation (issue "Hardening", findings 3 and 8): a given name left
bare after its full name was replaced, and people's names in titles and file names — end to
end on real SQLite files, through the CLI where the report used it."""

import json
from pathlib import Path

import pytest

from tests.test_cli import ok, run
from workbench.access import LEAD_CLI, Actor
from workbench.audit import audit_rows
from workbench.coding.workspace import transcript_view
from workbench.errors import ValidationError
from workbench.privacy.anonymisation import Decision, apply_decisions, ignore_finding, release
from workbench.privacy.identifiers import FILE_NAME, Terms, name_parts, scan_title, title_words
from workbench.privacy.private_key import PrivateKey, load_private_key
from workbench.privacy.redaction import Replacement, redact
from workbench.privacy.scan import scan_transcripts, vocabulary
from workbench.transcripts.participants import import_participants
from workbench.transcripts.study import FileInput, import_transcripts, list_transcripts
from workbench.users import add_user

KEY = b"pseudonym,role\nAmy,mother\n"
REPORTED = """Interviewer: Who lives at home with you?
Amy: Me and my daughter, Kirsten Baker. She's eleven now.
Interviewer: And how has she been since?
Amy: Kirsten was scared when Darius came round again. She hid upstairs.
"""


def url_of(study):
    return study.engine.url.render_as_string(hide_password=False)


def text_of(study, title):
    return transcript_view(study, title).text


def scanned(url, *titles):
    return json.loads(ok(url, "scan", *titles, "--json").stdout)


def whole_database(study) -> bytes:
    database = Path(study.engine.url.database)
    study.close()
    wal = Path(f"{database}-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def reported(study):
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    import_transcripts(study, LEAD_CLI, [FileInput("M10_interview.txt", REPORTED.encode())])
    return study


def test_a_bare_given_name_left_after_its_full_name_was_replaced_is_reported_and_blocks_release(
        reported, tmp_path, monkeypatch):
    """The reported scenario, through the CLI: scan, replace the full name, scan again."""
    monkeypatch.setenv("WORKBENCH_PRIVATE_KEY", str(tmp_path / "private" / "key.csv"))  # scan, redact, release
    url = url_of(reported)
    before = {(f["text"], f["type"]) for f in scanned(url)}
    assert {("Kirsten Baker", "name"), ("Kirsten", "name")} <= before  # the bare name too, from the first scan

    replaced = ok(url, "redact", "--replace", "Kirsten Baker=[daughter]", "--replace", "Darius=[ex-partner]")
    assert "'kirsten', a word of a replaced name, still occurs 1 time" in replaced.stderr
    text = text_of(reported, "M10_interview")
    assert "my daughter, [daughter]." in text and "Kirsten was scared when [ex-partner] came" in text

    left = scanned(url)  # a new process: the check knows the name from the private key file
    assert [(f["text"], f["type"]) for f in left] == [("Kirsten", "name")]
    refused = run(url, "release", "M10_interview")
    assert refused.exit_code == 1 and "still has findings" in refused.stderr
    assert refused.stderr.count("\n") == 1

    ok(url, "redact", "--replace", "Kirsten=[daughter]")
    assert "Kirsten" not in text_of(reported, "M10_interview")
    assert "[daughter] was scared when [ex-partner] came round again" in text_of(reported, "M10_interview")
    assert scanned(url) == []
    ok(url, "release", "M10_interview")
    assert b"Kirsten" not in whole_database(reported)


def test_without_a_key_file_the_redaction_warns_about_the_words_left(reported):
    url = url_of(reported)
    done = ok(url, "redact", "--replace", "Kirsten Baker=[daughter]")
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "'kirsten'" in warnings[0] and "--key" in warnings[0]
    assert "Kirsten was scared" in text_of(reported, "M10_interview")  # reported, not replaced unasked


def test_the_private_key_makes_every_name_like_word_of_a_real_name_known(reported):
    key = PrivateKey({"Kirsten Baker": "[daughter]"})
    texts = {f.text for f in scan_transcripts(reported, LEAD_CLI, key=key)}
    assert "Kirsten" in texts
    with pytest.raises(ValidationError, match="still has findings"):
        release(reported, LEAD_CLI, ["M10_interview"], key=key)


def test_replace_takes_every_whole_word_occurrence_and_warns_about_terms_that_occur_nowhere(study):
    text = ("Interviewer: Where did you live?\nAmy: Up oakfield way, near the oakfields shop. "
            "Then Oakfield again.\n")
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    import_transcripts(study, LEAD_CLI, [FileInput("M11_interview.txt", text.encode())])
    url = url_of(study)
    assert not [f for f in scanned(url) if f["text"] == "oakfield"]  # the check does not report it
    done = ok(url, "redact", "--replace", "oakfield=[estate]", "--replace", "Zebedee=[child]", "--json")
    assert json.loads(done.stdout)["replaced"] == 2
    assert done.stderr.strip() == "warning: no occurrence of 'Zebedee' in the study (not replaced)"
    assert "Up [estate] way, near the oakfields shop. Then [estate] again." in text_of(study, "M11_interview")

    nowhere = run(url, "redact", "--replace", "Zebedee=[child]")
    assert nowhere.exit_code == 1 and nowhere.stderr.count("\n") == 1 and "nothing replaced" in nowhere.stderr


def test_overlapping_replacements_prefer_the_longest(study):
    text = ("Interviewer: Who is at home?\nAmy: Kirsten Vandermolen, my eldest.\n"
            "Amy: Kirsten is doing her exams.\n")
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    import_transcripts(study, LEAD_CLI, [FileInput("M12_interview.txt", text.encode())])
    full, bare = text.index("Kirsten Vandermolen"), text.rindex("Kirsten")
    redact(study, LEAD_CLI, [Replacement("M12_interview", bare, bare + 7, "[daughter]"),
                             Replacement("M12_interview", full, full + 19, "[daughter]")])
    after = text_of(study, "M12_interview")
    assert "Amy: [daughter], my eldest." in after and "Vandermolen" not in after
    assert "[daughter] is doing her exams" in after

    second = text.replace("M", "N").replace("exams", "GCSEs")  # and through the CLI, shorter term first
    import_transcripts(study, LEAD_CLI, [FileInput("M13_interview.txt", second.encode())])
    ok(url_of(study), "redact", "--replace", "Kirsten=[daughter]", "--replace", "Kirsten Vandermolen=[daughter]")
    assert "Amy: [daughter], my eldest." in text_of(study, "M13_interview")


def test_a_name_in_the_file_name_is_a_finding_renaming_removes_it_everywhere(study):
    """Finding 8: the original file name stays in source_filename, the audit trail and listings."""
    add_user(study, LEAD_CLI, "priya", "coder")
    priya = Actor("priya", "coder", 2)
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    text = "Interviewer: How are things?\nAmy: Better. The children are settled.\n"
    import_transcripts(study, LEAD_CLI, [FileInput("Kirsten_Vandermolen_mum_interview.txt", text.encode())])
    title = "Kirsten_Vandermolen_mum_interview"
    assert list_transcripts(study, LEAD_CLI)[0]["file"] == "Kirsten_Vandermolen_mum_interview.txt"  # until release

    findings = scan_transcripts(study, LEAD_CLI)
    assert [(f.text, f.type, f.where) for f in findings] == [("Kirsten_Vandermolen", FILE_NAME, "title")]
    with pytest.raises(ValidationError, match="still has findings"):
        release(study, LEAD_CLI, [title])
    with pytest.raises(ValidationError, match="cannot be ignored"):
        ignore_finding(study, LEAD_CLI, title, findings[0].start, findings[0].end, FILE_NAME, "a reason")

    key = PrivateKey()
    apply_decisions(study, LEAD_CLI, [Decision(findings[0], "replace", "[daughter]")], key)
    assert key.entries == {"Kirsten Vandermolen": "[daughter]"}
    (row,) = list_transcripts(study, LEAD_CLI)
    assert (row["title"], row["file"]) == ("[daughter]_mum_interview", "[daughter]_mum_interview.txt")
    assert scan_transcripts(study, LEAD_CLI, key=key) == []
    release(study, LEAD_CLI, ["[daughter]_mum_interview"], key=key)

    audit = audit_rows(study, LEAD_CLI)
    assert {"transcript.import", "transcript.rename", "transcript.release"} <= {e["action"] for e in audit}
    assert not any(n in json.dumps(e, default=str) for e in audit for n in ("Kirsten", "Vandermolen"))
    assert list_transcripts(study, priya)[0]["file"] is None  # coders never see the stored file name
    raw = whole_database(study)
    assert b"Vandermolen" not in raw and b"Kirsten" not in raw


def test_a_name_in_the_file_name_is_looked_for_in_the_talk(study):
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    text = "Interviewer: How is everyone?\nAmy: Kirsten was scared when he came round again.\n"
    import_transcripts(study, LEAD_CLI, [FileInput("Kirsten_Vandermolen_mum_interview.txt", text.encode())])
    found = {(f.text, f.type, f.where) for f in scan_transcripts(study, LEAD_CLI)}
    assert found == {("Kirsten", "name", "text"), ("Kirsten_Vandermolen", FILE_NAME, "title")}


def test_a_name_only_in_the_file_name_is_reported_and_not_kept_past_release(study, tmp_path):
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    text = "Interviewer: How are things?\nAmy: Better, thanks.\n"
    import_transcripts(study, LEAD_CLI, [FileInput("Kirsten_Vandermolen.txt", text.encode())], title="Interview 7")
    (finding,) = scan_transcripts(study, LEAD_CLI)
    assert (finding.text, finding.type, finding.where) == ("Kirsten_Vandermolen", FILE_NAME, "file")
    assert "Kirsten" in finding.context
    url = url_of(study)
    done = ok(url, "redact", "--replace", "Kirsten Vandermolen=[daughter]", "--key", str(tmp_path / "k.csv"))
    assert "renamed 1 transcript(s): Interview 7" in done.stdout  # the title had nothing to replace
    assert list_transcripts(study, LEAD_CLI)[0]["file"] == "Interview 7.txt"
    ok(url, "release", "Interview 7")
    assert not any("Vandermolen" in json.dumps(e, default=str) for e in audit_rows(study, LEAD_CLI))


def test_an_overridden_release_still_drops_the_original_file_name(study):
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    text = "Interviewer: How are things?\nAmy: Better, thanks.\n"
    import_transcripts(study, LEAD_CLI, [FileInput("Kirsten_Vandermolen.txt", text.encode())], title="Interview 8")
    release(study, LEAD_CLI, ["Interview 8"], override="checked by the lead")
    assert list_transcripts(study, LEAD_CLI)[0]["file"] == "Interview 8.txt"
    assert not any("Vandermolen" in json.dumps(e, default=str) for e in audit_rows(study, LEAD_CLI))


def test_renaming_refuses_to_give_two_transcripts_one_title_and_writes_nothing(study):
    import_participants(study, LEAD_CLI, KEY, "key.csv")
    import_transcripts(study, LEAD_CLI, [FileInput("Kirsten_interview.txt", b"Amy: Fine.\n"),
                                         FileInput("Zebedee_interview.txt", b"Amy: Good.\n")])
    with pytest.raises(ValidationError, match="both be titled"):
        redact(study, LEAD_CLI, [Replacement("Kirsten_interview", 0, 7, "[child]", "title"),
                                 Replacement("Zebedee_interview", 0, 7, "[child]", "title")])
    assert [r["title"] for r in list_transcripts(study, LEAD_CLI)] == ["Kirsten_interview", "Zebedee_interview"]


def test_renaming_rewrites_the_old_title_inside_audit_values_too(study):
    """Audit values that hold a renamed title among other words are rewritten, not only values
    equal to it; an occurrence inside a longer word is no occurrence of the title."""
    from workbench.audit import record
    from workbench.codebook.versions import create_version

    import_participants(study, LEAD_CLI, KEY, "key.csv")
    import_transcripts(study, LEAD_CLI, [FileInput("Kirsten_interview.txt", b"Amy: Fine.\n"),
                                         FileInput("Kirsten_interview2.txt", b"Amy: Good.\n")])
    create_version(study, LEAD_CLI, "before Kirsten_interview was coded")
    values = {  # as recorded -> after the renames
        "exact": ("Kirsten_interview", "[child]_interview"),
        "inside": ("coded Kirsten_interview on Monday", "coded [child]_interview on Monday"),
        "twice": ("Kirsten_interview, then Kirsten_interview.", "[child]_interview, then [child]_interview."),
        "file name": ("read from Kirsten_interview.txt", "read from [child]_interview.txt"),
        "the other title": ("Kirsten_interview2 is next", "[child]_interview2 is next"),
        "in brackets": ("(Kirsten_interview)", "([child]_interview)"),
        "list": (["x", "see Kirsten_interview"], ["x", "see [child]_interview"]),
        "nested": ({"note": "Kirsten_interview: done", "count": 3}, {"note": "[child]_interview: done", "count": 3}),
        "no title": ("Kirsten_interviews", "Kirsten_interviews"),  # a longer word, no transcript's title
    }
    with study.transaction() as session:
        record(session, "morgan", "test.values", **{k: was for k, (was, _) in values.items()})

    report = redact(study, LEAD_CLI, [Replacement("Kirsten_interview", 0, 7, "[child]", "title")])
    assert sorted(report.renamed) == ["[child]_interview", "[child]_interview2"]
    audit = audit_rows(study, LEAD_CLI)
    (entry,) = [e["detail"] for e in audit if e["action"] == "test.values"]
    assert entry == {k: now for k, (_, now) in values.items()}
    (version,) = [e["detail"] for e in audit if e["action"] == "codebook.version"]
    assert version["version"] == "before [child]_interview was coded"
    left = [e for e in audit if e["action"] != "test.values" and "Kirsten" in json.dumps(e, default=str)]
    assert left == []


def test_sample_titles_and_the_evaluation_corpora_titles_are_not_findings():
    terms = Terms(pseudonyms={"amy", "jack", "ken", "kirsty", "dev"}, vocabulary=vocabulary())
    for title in ("M05_Amy_followup", "FG01_Girls_Service5", "S01_KW01", "C03_Jack", "A03_keyworker_staff",
                  "H04_grandad_ken", "H06_mothers_focus_group", "Interview 7", "A10_keyworker_dev"):
        assert scan_title(title, terms) == [], title


@pytest.mark.parametrize("name, parts", [
    ("Kirsten Baker", ["kirsten"]),  # baker is an English word
    ("Kirsten Vandermolen", ["kirsten", "vandermolen"]),
    ("Mrs Patel", ["patel"]),
    ("Auntie Shaz", ["shaz"]),
    ("Grace Baker", ["grace"]),  # a listed given name, though also a word
    ("Kirsten", []),  # one word: known as a whole already
    ("Kirsten O'Brien-Hale", ["kirsten", "o'brien-hale"]),
])
def test_name_parts(name, parts):
    assert name_parts(name, vocabulary()) == parts


def test_name_parts_of_a_found_name_must_be_written_as_names_but_the_keys_need_not():
    assert name_parts("kirsten vandermolen", vocabulary()) == []
    assert name_parts("kirsten vandermolen", vocabulary(), as_written=False) == ["kirsten", "vandermolen"]


def test_title_words_split_at_separators_and_camel_case():
    assert [w for _, _, w in title_words("KirstenVandermolen-McDonald_O'Brien KWInterview2.docx")] == [
        "Kirsten", "Vandermolen", "McDonald", "O'Brien", "KW", "Interview", "docx"]


def test_key_names_written_in_a_title_are_found_word_for_word():
    terms = Terms(known={"kirsten vandermolen": "name", "ashgrove primary": "school"}, vocabulary=vocabulary())
    assert [(f.text, f.type) for f in scan_title("ashgrove_primary_kirsten_vandermolen_2", terms)] == [
        ("ashgrove_primary_kirsten_vandermolen", FILE_NAME)]
    assert scan_title("[daughter]_mum_interview", terms) == []


def test_a_key_file_round_trip_keeps_the_name_known_in_a_later_session(reported, tmp_path):
    path = tmp_path / "key.csv"
    first = load_private_key(path)
    found = next(f for f in scan_transcripts(reported, LEAD_CLI, key=first) if f.text == "Kirsten Baker")
    redact(reported, LEAD_CLI, [Replacement(found.transcript, found.start, found.end, "[daughter]")], first)
    later = load_private_key(path)
    assert "Kirsten" in {f.text for f in scan_transcripts(reported, LEAD_CLI, key=later)}
