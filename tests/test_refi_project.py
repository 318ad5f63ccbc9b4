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
from workbench.codebook.study import list_codes
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


# --- leniency: what a project holds that the workbench cannot take is left out with a line in
# the report; only a file that is not a REFI-QDA project at all is refused ------------------------

ANA = "11111111-1111-4111-8111-111111111111"


def guid(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-000000000000"


def coded(n: int, start: int, end: int, code: int, name: str | None = None, user: str = ANA) -> str:
    """A PlainTextSelection at [start, end) coded with code `code` (a `guid`)."""
    return (f'<PlainTextSelection guid="{guid(9000 + n)}" startPosition="{start}" endPosition="{end}"'
            + (f' name="{name}"' if name else "") + f' creatingUser="{user}">'
            f'<Coding guid="{guid(8000 + n)}"><CodeRef targetGUID="{guid(code)}"/></Coding></PlainTextSelection>')


def project(body: str, files: dict[str, str | bytes] = (), *, qde: str = "project.qde",
            users: str = f'<User guid="{ANA}" name="Ana"/>', folders: tuple[str, ...] = ()) -> bytes:
    """A hand-made .qdpx: `body` is everything after Users (CodeBook, Cases, Sources, ...)."""
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{PROJECT_NS}" name="p">'
           f"<Users>{users}</Users>{body}</Project>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(qde, xml.encode("utf-8"))
        for folder in folders:
            archive.writestr(zipfile.ZipInfo(folder), b"")
        for name, content in dict(files).items():
            archive.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return buffer.getvalue()


def codebook(*codes: str) -> str:
    return f"<CodeBook><Codes>{''.join(codes)}</Codes></CodeBook>"


def code(n: int, name: str, *children: str, codable: str = "true", color: str = "", raw_guid: str | None = None) -> str:
    colour = f' color="{color}"' if color else ""
    return (f'<Code guid="{raw_guid or guid(n)}" name="{name}" isCodable="{codable}"{colour}>'
            f"{''.join(children)}</Code>")


def text_source(n: int, name: str, *selections: str, path: str | None = None, raw_guid: str | None = None) -> str:
    return (f'<TextSource guid="{raw_guid or guid(100 + n)}" name="{name}" '
            f'plainTextPath="internal://{path or f"t{n}.txt"}">{"".join(selections)}</TextSource>')


AMY = "Interviewer: How was it?\nAmy: She rang back every time.\n"
RANG = (AMY.index("She rang"), AMY.index("She rang") + len("She rang back"))


def codings_by_code(study) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in list_codings(study, LEAD_CLI):
        out.setdefault(row.code, []).append(row.text)
    return out


def test_sources_that_are_one_newline_are_skipped_and_the_project_imports(study):
    """NVivo 15 for Mac exports some sources as a single line end: the rest of the project imports."""
    data = project(codebook(code(1, "Support")) + "<Sources>" + text_source(1, "Amy", coded(1, *RANG, 1))
                   + text_source(2, "Memo 1", coded(2, 0, 1, 1)) + text_source(3, "Memo 2") + "</Sources>",
                   {"sources/t1.txt": AMY, "sources/t2.txt": "\n", "sources/t3.txt": "\ufeff\r\n"})
    report = import_project(study, LEAD_CLI, data, "nvivo-mac.qdpx")
    assert report.transcripts == 1 and report.codings == 1
    assert "Memo 1: its text is empty (skipped with its 1 selection)" in report.skipped
    assert "Memo 2: its text is empty (skipped)" in report.skipped
    assert codings_by_code(study) == {"Support": ["She rang back"]}


def test_the_specifications_own_example_imports_what_it_can(study):
    """`Project.qde` with a capital P, an empty `Sources/` folder (the text files are missing),
    PDF, picture, audio and video sources, Sets, Links and Graphs: each is reported, none fails."""
    other = "".join(
        f'<{tag} guid="{guid(200 + k)}" name="{name}" path="internal://{name}">'
        + (f'<{tag.removesuffix("Source")}Selection guid="{guid(300 + k)}" {extra}/>' if extra else "") + f"</{tag}>"
        for k, (tag, name, extra) in enumerate([
            ("PDFSource", "paper.pdf", ""),
            ("PictureSource", "photo.jpg", 'firstX="1" firstY="1" secondX="5" secondY="5"'),
            ("AudioSource", "call.mp3", 'begin="0" end="1000"'),
            ("VideoSource", "group.mp4", 'begin="0" end="1000"')]))
    body = (codebook(code(1, "Support"))
            + "<Sources>" + text_source(1, "Interview 1", coded(1, 0, 4, 1), coded(2, 5, 9, 1)) + other + "</Sources>"
            f'<Links><Link guid="{guid(400)}" originGUID="{guid(1)}" targetGUID="{guid(101)}"/></Links>'
            f'<Sets><Set guid="{guid(401)}" name="Group A"><MemberSource targetGUID="{guid(101)}"/></Set>'
            f'<Set guid="{guid(402)}" name="Group B"/></Sets>'
            f'<Graphs><Graph guid="{guid(403)}" name="Map"/></Graphs>')
    report = import_project(study, LEAD_CLI, project(body, qde="Project.qde", folders=("Sources/",)), "example.qdpx")
    assert (report.users, report.codes_added, report.transcripts) == (1, 1, 0)
    assert report.skipped == [
        "Interview 1: its text is missing from the file (skipped with its 2 selections)",
        "paper.pdf: a PDF; the workbench imports text sources only (skipped)",
        "photo.jpg: a picture; the workbench imports text sources only (skipped with its 1 selection)",
        "call.mp3: an audio recording; the workbench imports text sources only (skipped with its 1 selection)",
        "group.mp4: a video; the workbench imports text sources only (skipped with its 1 selection)",
        "2 sets: the workbench has no sets (groups of codes, sources or notes); not imported",
        "1 link: the workbench has no links (between codes, sources and notes); not imported",
        "1 graph: the workbench has no graphs (network diagrams); not imported",
    ]


def test_codes_are_read_leniently_and_codings_follow_their_guid(study):
    """A non-codable parent, the same name under different parents and twice under one parent,
    a '/' in a name, an empty name, a colour with alpha or none we read, a GUID that is not one."""
    tree = codebook(
        code(1, "Themes", code(2, "Support"), code(3, "Support"), codable="false"),
        code(4, "Barriers", code(5, "Support"), color="#11223344"),
        code(6, "Yes/No", color="red"), code(7, "", raw_guid="code-7"))
    text = "Amy: one two three four five six seven.\n"
    at = {word: (text.index(word), text.index(word) + len(word)) for word in text[5:-2].split()}
    selections = [coded(n, *at[word], c) for n, (word, c) in enumerate(
        [("one", 1), ("two", 2), ("three", 3), ("four", 5), ("five", 6)])]
    selections.append(f'<PlainTextSelection guid="{guid(9100)}" startPosition="{at["six"][0]}" '
                      f'endPosition="{at["six"][1]}"><Coding guid="{guid(8100)}"><CodeRef targetGUID="code-7"/>'
                      "</Coding></PlainTextSelection>")
    data = project(tree + "<Sources>" + text_source(1, "T1", *selections) + "</Sources>", {"sources/t1.txt": text})
    report = import_project(study, LEAD_CLI, data, "codes.qdpx")
    assert report.codes_added == 7 and report.codings == 6
    assert codings_by_code(study) == {"Themes": ["one"], "Themes/Support": ["two"], "Themes/Support (2)": ["three"],
                                      "Barriers/Support": ["four"], "Yes-No": ["five"], "(unnamed code)": ["six"]}
    lines = "\n".join(report.skipped)
    for expected in ("imported as 'Support (2)'", "renamed 'Yes-No'", "renamed '(unnamed code)'",
                     "colour 'red' is not #RGB or #RRGGBB", "GUID is missing or not a GUID",
                     "1 code marked not codable in the file (folders: 'Themes'): imported as ordinary codes"):
        assert expected in lines
    colours = {c["path"]: c["color"] for c in list_codes(study, LEAD_CLI)}
    assert colours["Barriers"] == "#112233"
    root, _archive = parts(export_project(study, LEAD_CLI))  # what was imported exports validly
    assert schema("Project.xsd").validate(root), schema("Project.xsd").error_log.last_error


def test_a_code_the_study_has_under_another_guid_takes_the_codings(study):
    first = project(codebook(code(1, "Support")) + "<Sources>" + text_source(1, "Amy", coded(1, *RANG, 1))
                    + "</Sources>", {"sources/t1.txt": AMY})
    import_project(study, LEAD_CLI, first, "first.qdpx")
    other = AMY.replace("Amy", "Bea")
    second = project(codebook(code(50, "Support")) + "<Sources>" + text_source(2, "Bea", coded(2, *RANG, 50))
                     + "</Sources>", {"sources/t2.txt": other})
    report = import_project(study, LEAD_CLI, second, "second.qdpx")
    assert (report.codes_added, report.codes_updated, report.codings) == (0, 1, 1) and report.skipped == []
    assert codings_by_code(study) == {"Support": ["She rang back", "She rang back"]}


def test_odd_users_positions_guids_and_text_files_are_reported_not_fatal(study):
    users = (f'<User guid="{ANA}" name="O\'Brien, Ann (RA)"/>'
             '<User guid="22222222-2222-4222-8222-222222222222" name="Ben"/>')
    selections = [coded(1, *RANG, 1), coded(2, 0, 4, 1, user="22222222-2222-4222-8222-222222222222"),
                  f'<PlainTextSelection guid="{guid(9003)}" startPosition="five" endPosition="9">'
                  f'<Coding guid="{guid(8003)}"><CodeRef targetGUID="{guid(1)}"/></Coding></PlainTextSelection>',
                  f'<PlainTextSelection guid="{guid(9004)}" startPosition="0" endPosition="4">'
                  "<Description>an annotation</Description></PlainTextSelection>"]
    body = (codebook(code(1, "Support")) + "<Sources>"
            + text_source(1, "Amy", *selections, raw_guid="source-1").replace(
                "</TextSource>", f'<Coding guid="{guid(8005)}"><CodeRef targetGUID="{guid(1)}"/></Coding></TextSource>')
            + text_source(2, "Scan", path="scan.txt") + "</Sources>"
            f'<Notes><Note guid="{guid(600)}" name="Field note" plainTextPath="internal://n1.txt"/>'
            f'<Note guid="{guid(601)}" name="Lost note" plainTextPath="internal://n2.txt"/></Notes>')
    files = {"sources/t1.txt": AMY, "sources/scan.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10,
             "sources/n1.txt": "Amy was nervous at first."}
    report = import_project(study, LEAD_CLI, project(body, files, users=users), "odd.qdpx")
    assert report.transcripts == 1 and report.codings == 2 and report.memos == 1
    assert {r.coder for r in list_codings(study, LEAD_CLI)} == {"O Brien Ann RA", "Ben"}
    lines = "\n".join(report.skipped)
    for expected in ("user \"O'Brien, Ann (RA)\": imported as 'O Brien Ann RA'",
                     "Amy: a selection at five–9 falls outside the text",
                     "Amy: 1 selection without a code (annotations); not imported as codings",
                     "Amy: 1 coding of the whole source (not of a selection); not imported",
                     "Scan: its text file sources/scan.txt: binary data, not a text file (skipped)",
                     "note 'Lost note': its text is missing from the file"):
        assert expected in lines
    root, _archive = parts(export_project(study, LEAD_CLI))  # a GUID that was not one is not carried over
    assert schema("Project.xsd").validate(root), schema("Project.xsd").error_log.last_error
