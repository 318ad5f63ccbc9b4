import pytest

from workbench.access import LEAD_CLI
from workbench.codebook.study import import_codebook
from workbench.coding.codings import coding_rows, import_codings, locate_quote
from workbench.errors import InputError, NotFound, ValidationError
from workbench.status import study_status
from workbench.transcripts.study import FileInput, import_transcripts
from workbench.users import add_user

TEXT = ("Interviewer: What helped?\n"
        "Zo\u00eb: She rang me back \U0001F600 the same day.   It meant\neverything. She rang me back.\n")


@pytest.fixture
def coded(study):
    import_transcripts(study, LEAD_CLI, [FileInput("zoe.txt", TEXT.encode())])
    import_codebook(study, LEAD_CLI, b"path\nTrust\nTrust/Rung back\nEndings\n", "codes.csv")
    add_user(study, LEAD_CLI, "priya", "coder")
    return study


def rows(study):
    with study.session() as session:
        return coding_rows(session, LEAD_CLI)


def test_quote_is_located_with_whitespace_normalised(coded):
    csv = ("transcript,coder,code,memo,quote\n"
           'zoe,priya,Trust/Rung back,first,"the same day. It meant everything."\n')
    report = import_codings(coded, LEAD_CLI, csv.encode(), "c.csv")
    assert report.added == 1
    (row,) = rows(coded)
    assert row["text"] == "the same day.   It meant\neverything."
    assert TEXT[row["start"]:row["end"]] == row["text"]
    assert (row["coder"], row["code"], row["memo"]) == ("priya", "Trust/Rung back", "first")


def test_offsets_count_code_points_and_win_over_the_quote(coded):
    start = TEXT.index("\U0001F600")
    csv = f"transcript,coder,code,start,end,quote\nzoe,priya,Rung back,{start},{start + 14},\U0001F600 the same day\n"
    import_codings(coded, LEAD_CLI, csv.encode(), "c.csv")
    (row,) = rows(coded)
    assert row["text"] == "\U0001F600 the same day"


def test_unknown_coders_are_created_without_password(coded):
    report = import_codings(coded, LEAD_CLI, b"transcript,coder,code,quote\nzoe,tom,Endings,What helped?\n", "c.csv")
    assert report.created_coders == ["tom"]
    assert study_status(coded, LEAD_CLI)["codings"] == {"priya": 0, "tom": 1}


def test_duplicates_are_skipped_and_extra_columns_ignored(coded):
    csv = ("transcript,coder,code,quote,colour\n"
           "zoe,priya,Trust,What helped?,red\nzoe,priya,Trust,What helped?,blue\n")
    report = import_codings(coded, LEAD_CLI, csv.encode(), "c.csv")
    assert (report.added, report.duplicates) == (1, 1)


@pytest.mark.parametrize("line, message", [
    ("zoe,priya,Trust,,,She rang me back", "ambiguous: found 2 times"),
    ("zoe,priya,Trust,,,She never rang", "quote not found"),
    ("zoe,priya,Trust,5,2,", "outside the transcript"),
    ("zoe,priya,Trust,0,9999,", "outside the transcript"),
    ("zoe,priya,Trust,a,b,", "whole numbers"),
    ("zoe,priya,Trust,0,5,What helped", "does not match"),
    ("zoe,priya,Trust,,,", "give start and end, or a quote"),
    ("nobody,priya,Trust,,,What helped?", "no transcript titled 'nobody'"),
    ("zoe,priya,Nothing,,,What helped?", "no code 'Nothing'"),
    ("zoe,,Trust,,,What helped?", "no coder given"),
])
def test_bad_rows_name_the_row_and_write_nothing(coded, line, message):
    csv = "transcript,coder,code,start,end,quote\nzoe,priya,Endings,,,What helped?\n" + line + "\n"
    with pytest.raises((ValidationError, InputError, NotFound)) as error:
        import_codings(coded, LEAD_CLI, csv.encode(), "c.csv")
    assert message in error.value.message
    assert error.value.where == "c.csv, row 3"
    assert rows(coded) == []


def test_locate_quote_finds_every_occurrence():
    assert locate_quote("a b  a\nb", "a b") == [(0, 3), (5, 8)]
    assert locate_quote("abc", "   ") == []


def test_each_kind_of_change_can_be_undone_and_each_undo_is_audited(coded):
    from workbench.access import actor_for
    from workbench.audit import audit_rows
    from workbench.coding.assignments import assign, submit
    from workbench.coding.codings import (CodingStep, add_coding, delete_coding, list_codings, undo_step,
                                          update_coding)
    from workbench.access import AccessDenied
    from workbench.privacy.anonymisation import release

    release(coded, LEAD_CLI, ["zoe"], override="written for this test")
    assign(coded, LEAD_CLI, ["zoe"], ["priya"])
    with coded.session() as session:
        priya = actor_for(session, "priya")
    start = TEXT.index("She rang")
    first = add_coding(coded, priya, "zoe", "Trust", start, start + 16, memo="a note")
    assert undo_step(coded, priya, CodingStep("add", first)) is None
    assert list_codings(coded, priya, "zoe") == []

    kept = add_coding(coded, priya, "zoe", "Trust", start, start + 16, memo="a note")
    update_coding(coded, priya, kept, code="Endings", memo="changed")
    undo_step(coded, priya, CodingStep("change", kept, {"code": "Trust", "memo": "a note"}))
    (row,) = list_codings(coded, priya, "zoe")
    assert (row.code, row.memo, row.start, row.end) == ("Trust", "a note", start, start + 16)

    before = {"transcript": "zoe", "code": row.code, "start": row.start, "end": row.end, "memo": row.memo,
              "origin": row.origin}
    delete_coding(coded, priya, kept)
    again = undo_step(coded, priya, CodingStep("delete", kept, before))
    (back,) = list_codings(coded, priya, "zoe")
    assert back.id == again and (back.code, back.memo, back.start, back.end) == ("Trust", "a note", start, start + 16)

    undone = [e for e in reversed(audit_rows(coded, LEAD_CLI)) if e["action"] == "coding.undo"]
    assert [e["detail"]["undone"] for e in undone] == ["add", "change", "delete"]
    assert all(e["actor"].startswith("priya") for e in undone)

    submit(coded, priya, "zoe")  # frozen: undo obeys the same rules as coding
    with pytest.raises(AccessDenied, match="submitted"):
        undo_step(coded, priya, CodingStep("add", again))
