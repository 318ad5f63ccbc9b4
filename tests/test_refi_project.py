"""REFI-QDA project exchange: the export is valid against the standard's schema and carries
everything; a round trip through a fresh database gives the same codes, codings and texts;
files that count offsets as NVivo (UTF-16) or ATLAS.ti (\\r\\n) do import at the right place."""

import io
import json
import zipfile

import pytest
from lxml import etree

from tests.test_cli import documented_keys, ok, sample_url
from workbench.access import LEAD_CLI
from workbench.coding.codings import list_codings
from workbench.coding.workspace import transcript_view
from workbench.refi import PROJECT_NS, schema
from workbench.refi.project import export_project, import_project
from workbench.store import Study
from workbench.transcripts.participants import list_participants

Q = {"q": PROJECT_NS}


def parts(data: bytes):
    archive = zipfile.ZipFile(io.BytesIO(data))
    return etree.fromstring(archive.read("project.qde")), archive


def summary(data: bytes):
    root, archive = parts(data)
    codes = sorted((c.get("guid"), c.get("name")) for c in root.iterfind(".//q:Code", Q))
    selections = sorted((s.getparent().get("name"), int(s.get("startPosition")), int(s.get("endPosition")),
                         s.find("q:Coding/q:CodeRef", Q).get("targetGUID"),
                         next(u.get("name") for u in root.iterfind(".//q:User", Q) if u.get("guid") == s.get("creatingUser")))
                        for s in root.iterfind(".//q:PlainTextSelection", Q))
    texts = sorted(archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("sources/"))
    return codes, selections, texts


def test_the_export_is_valid_and_carries_users_codes_cases_codings_and_notes(sample_study):
    data = export_project(sample_study, LEAD_CLI)
    root, archive = parts(data)
    assert schema("Project.xsd").validate(root), schema("Project.xsd").error_log.last_error
    assert {u.get("name") for u in root.iterfind(".//q:User", Q)} == {"morgan", "priya", "tom", "jo", "consensus"}
    codings = list_codings(sample_study, LEAD_CLI)
    selections = list(root.iterfind(".//q:PlainTextSelection", Q))
    assert len(selections) == len(codings)
    texts = {t.get("name"): archive.read(t.get("plainTextPath").replace("internal://", "sources/")).decode()
             for t in root.iterfind(".//q:TextSource", Q)}
    for s in selections:  # offsets are code points into the exported text
        title = s.getparent().get("name")
        assert texts[title][int(s.get("startPosition")):int(s.get("endPosition"))] == s.get("name")
    cases = {c.get("name"): c for c in root.iterfind(".//q:Case", Q)}
    assert set(cases) == {p["pseudonym"] for p in list_participants(sample_study)}
    variables = {v.get("guid"): v.get("name") for v in root.iterfind(".//q:Variable", Q)}
    jack = {variables[v.find("q:VariableRef", Q).get("targetGUID")]: v[-1].text
            for v in cases["Jack"].iterfind("q:VariableValue", Q)}
    assert jack["age"] == "16" and jack["role"] == "young person" and jack["programme"] == "recovery toolkit"
    assert len(root.findall(".//q:Note", Q)) >= 3


def test_a_round_trip_through_a_fresh_database_gives_the_same_codes_codings_and_texts(sample_study, tmp_path):
    first = export_project(sample_study, LEAD_CLI)
    fresh = Study.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    report = import_project(fresh, LEAD_CLI, first, "sample.qdpx")
    assert report.skipped == [] and report.transcripts == 12 and set(report.conventions.values()) == {"code points"}
    second = export_project(fresh, LEAD_CLI)
    assert summary(second) == summary(first)
    people = {p["pseudonym"]: p for p in list_participants(fresh)}
    assert people["Maisie"]["age"] == 12 and people["Amy"]["attributes"]["programme"]
    fresh.close()


def handmade(text: str, selections: list[tuple[int, int, str | None]], *, namespace: bool = True,
             folder: str = "sources", inline: bool = False) -> bytes:
    """A small project as another tool would write it (optionally without a namespace, with
    the text inline or in a differently cased folder)."""
    ns = f' xmlns="{PROJECT_NS}"' if namespace else ""
    selection_xml = "".join(
        f'<PlainTextSelection guid="{i:08d}-0000-4000-8000-000000000000" startPosition="{a}" endPosition="{b}"'
        + (f' name="{name}"' if name else "") + ' creatingUser="11111111-1111-4111-8111-111111111111">'
        f'<Coding guid="{i:08d}-1111-4111-8111-000000000000"><CodeRef targetGUID="22222222-2222-4222-8222-222222222222"/>'
        "</Coding></PlainTextSelection>" for i, (a, b, name) in enumerate(selections))
    body = f"<PlainTextContent>{text}</PlainTextContent>" if inline else ""
    path = "" if inline else ' plainTextPath="internal://t1.txt"'
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project{ns} name="p">'
           '<Users><User guid="11111111-1111-4111-8111-111111111111" name="Ana"/></Users>'
           '<CodeBook><Codes><Code guid="22222222-2222-4222-8222-222222222222" name="Support" isCodable="true"/>'
           '</Codes></CodeBook>'
           f'<Sources><TextSource guid="33333333-3333-4333-8333-333333333333" name="T1"{path}>{body}{selection_xml}'
           "</TextSource></Sources></Project>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", xml.encode("utf-8"))
        if not inline:
            archive.writestr(f"{folder}/t1.txt", text.encode("utf-8"))
    return buffer.getvalue()


TEXT = "Interviewer: How was it? 😊\r\nAmy: She rang back every time.\r\nAmy: It made all the difference.\r\n"


def _utf16(text: str, index: int, crlf_as_one: bool = False) -> int:
    piece = text[:index].replace("\r\n", "\n") if crlf_as_one else text[:index]
    return len(piece.encode("utf-16-le")) // 2


@pytest.mark.parametrize("convention", ["code points", "code points, CRLF as one", "UTF-16 units",
                                        "UTF-16 units, CRLF as one"])
def test_offsets_in_each_tools_convention_land_on_the_same_words(study, convention):
    wanted = ["She rang back every time.", "It made all the difference."]
    selections = []
    for phrase in wanted:
        a = TEXT.index(phrase)
        b = a + len(phrase)
        if convention.startswith("UTF-16"):
            a, b = _utf16(TEXT, a, "CRLF" in convention), _utf16(TEXT, b, "CRLF" in convention)
        elif "CRLF" in convention:
            a, b = len(TEXT[:a].replace("\r\n", "\n")), len(TEXT[:b].replace("\r\n", "\n"))
        selections.append((a, b, phrase))
    report = import_project(study, LEAD_CLI, handmade(TEXT, selections, namespace=convention != "code points",
                                                      folder="Sources"), "nvivo.qdpx")
    assert report.conventions == {"T1": convention} and report.skipped == []
    text = transcript_view(study, "T1").text
    assert [text[r.start:r.end] for r in list_codings(study, LEAD_CLI, transcript="T1")] == wanted
    assert {r.coder for r in list_codings(study, LEAD_CLI, transcript="T1")} == {"Ana"}


def test_selections_that_do_not_fit_are_reported_not_imported(study):
    a = TEXT.index("She rang")
    data = handmade(TEXT, [(a, a + 8, "She rang"), (a, a + 8, "Somebody else"), (5000, 5010, None)], inline=True)
    report = import_project(study, LEAD_CLI, data, "odd.qdpx")
    assert report.codings == 1 and len(report.skipped) == 2
    assert any("does not match its stored text" in s for s in report.skipped)
    assert any("outside the text" in s for s in report.skipped)


def test_not_a_project_is_refused_and_writes_nothing(study):
    from workbench.errors import InputError

    with pytest.raises(InputError, match="not well-formed"):
        import_project(study, LEAD_CLI, b"<Project", "broken.qde")
    with pytest.raises(InputError, match="not a REFI-QDA project"):
        import_project(study, LEAD_CLI, b"<CodeBook/>", "codebook.qde")
    assert list_codings(study, LEAD_CLI) == []


def test_commands_export_and_import(sample_study, tmp_path):
    url = sample_url(sample_study)
    out = tmp_path / "p.qdpx"
    ok(url, "export", "refi", "--out", str(out))
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    report = json.loads(ok(fresh, "import-refi", str(out), "--json").stdout)
    assert set(report) == documented_keys("import-refi") and report["transcripts"] == 12


def test_a_text_already_in_the_study_is_skipped_with_a_reason(sample_study):
    data = export_project(sample_study, LEAD_CLI)
    report = import_project(sample_study, LEAD_CLI, data, "again.qdpx")
    assert report.transcripts == 0 and len(report.skipped) == 12
    assert all("already" in line for line in report.skipped)


def test_leads_prepare_the_project_file_on_the_export_page(sample_study, monkeypatch):
    from tests.test_app import PAGE_SCRIPTS, new_app, sign_in

    at = sign_in(new_app(sample_study, monkeypatch), "morgan")
    at.switch_page(PAGE_SCRIPTS["export"]).run()
    at.button(key="export-refi-prepare").click().run()
    assert not at.exception, at.exception
    data = at.session_state["refi-project-file"][1]  # (study version, file)
    root, _archive = parts(data)
    assert schema("Project.xsd").validate(root)
    viewer = sign_in(new_app(sample_study, monkeypatch), "jo")
    viewer.switch_page(PAGE_SCRIPTS["export"]).run()
    assert not [b for b in viewer.button if b.key == "export-refi-prepare"]
