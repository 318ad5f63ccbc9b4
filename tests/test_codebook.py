"""Codebook import/export in CSV, YAML and REFI-QDA .qdc; invalid codebooks are refused."""

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workbench.access import LEAD_CLI
from workbench.codebook.study import CodeIndex, export_codebook, import_codebook, list_codes
from workbench.errors import InputError, NotFound, ValidationError
from workbench.refi import schema
from workbench.sample import CODEBOOK
from workbench.store.models import Code

CSV = (
    "path,definition,inclusion,exclusion,example,color,guid\n"
    "Trust,Trust in the service.,,,,#1f77b4,\n"
    "Trust/Being believed,Feeling believed.,When believed.,Not for doubt.,‘She believed me.’,,"
    "0b9c8a7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d\n"
    "Trust/Being rung back,Reliability of contact.,,,,#abc,\n"
    "Endings,The 12-week limit and endings.,,,,,\n"
)


def paths(study) -> list[str]:
    return [c["path"] for c in list_codes(study, LEAD_CLI)]


def test_csv_import_builds_the_hierarchy(study):
    report = import_codebook(study, LEAD_CLI, CSV.encode(), "codes.csv")
    assert (report.added, report.updated) == (4, 0)
    assert paths(study) == ["Trust", "Trust/Being believed", "Trust/Being rung back", "Endings"]
    codes = {c["path"]: c for c in list_codes(study, LEAD_CLI)}
    believed = codes["Trust/Being believed"]
    assert believed["guid"] == "0b9c8a7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d"
    assert (believed["inclusion"], believed["exclusion"], believed["example"]) == (
        "When believed.", "Not for doubt.", "‘She believed me.’")
    assert codes["Trust/Being rung back"]["color"] == "#aabbcc"
    assert believed["color"] == "#1f77b4"  # inherits its theme's colour


def test_every_format_round_trips_the_sample_codebook(study, tmp_path):
    import_codebook(study, LEAD_CLI, CODEBOOK.read_bytes(), CODEBOOK.name)
    before = list_codes(study, LEAD_CLI)
    assert len([c for c in before if c["depth"] == 0]) >= 5
    assert len([c for c in before if c["depth"] == 1]) >= 15
    assert all(c["definition"] for c in before)
    from workbench.store import Study

    for fmt in ("csv", "yaml", "qdc"):
        exported = export_codebook(study, fmt)
        other = Study.open(f"sqlite:///{tmp_path / (fmt + '.db')}")
        import_codebook(other, LEAD_CLI, exported, f"codebook.{fmt}")
        assert list_codes(other, LEAD_CLI) == before, fmt
        other.close()


def test_qdc_export_is_valid_against_the_refi_schema(study):
    import_codebook(study, LEAD_CLI, CSV.encode(), "codes.csv")
    root = etree.fromstring(export_codebook(study, "qdc"))
    assert schema("Codebook.xsd").validate(root)
    ns = {"q": "urn:QDA-XML:codebook:1.0"}
    believed = root.find(".//q:Code[@name='Being believed']", ns)
    assert believed.getparent().get("name") == "Trust"
    assert "Inclusion: When believed." in believed.findtext("q:Description", namespaces=ns)


def test_qdc_from_another_tool_reads_plain_descriptions(study):
    qdc = b"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="NVivo">
  <Codes>
    <Code guid="{11111111-2222-3333-4444-555555555555}" name="Trust" isCodable="true" color="#FF0000">
      <Description>Anything about trust.</Description>
      <Code guid="aaaaaaaa-2222-3333-4444-555555555555" name="Believed" isCodable="true"/>
    </Code>
  </Codes>
</CodeBook>"""
    import_codebook(study, LEAD_CLI, qdc, "nvivo.qdc")
    codes = {c["path"]: c for c in list_codes(study, LEAD_CLI)}
    assert codes["Trust"]["definition"] == "Anything about trust."
    assert codes["Trust"]["guid"] == "11111111-2222-3333-4444-555555555555"
    assert codes["Trust"]["color"] == "#ff0000"
    assert "Trust/Believed" in codes


def test_reimport_updates_by_guid_and_path(study):
    import_codebook(study, LEAD_CLI, CSV.encode(), "codes.csv")
    change = ("path,definition,guid\n"
              "Trust/Believed at last,Renamed by GUID.,0b9c8a7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d\n"
              "Endings,New definition.,\n")
    report = import_codebook(study, LEAD_CLI, change.encode(), "change.csv")
    assert (report.added, report.updated) == (0, 2)
    codes = {c["path"]: c for c in list_codes(study, LEAD_CLI)}
    assert codes["Trust/Believed at last"]["definition"] == "Renamed by GUID."
    assert codes["Endings"]["definition"] == "New definition."
    assert codes["Trust/Being rung back"]["definition"] == "Reliability of contact."  # untouched


YAML_BAD_PARENT = """\
- name: Trust
  children:
    - name: Believed
- name: Endings
  children: oops
"""


@pytest.mark.parametrize("name, data, message, where", [
    ("dup.csv", "path\nTrust\nTrust/Believed\ntrust/believed\n", "duplicate code 'trust/believed'", "dup.csv, row 4"),
    ("empty.csv", "path,definition\nTrust,x\n,y\n", "empty path", "empty.csv, row 3"),
    ("blankname.csv", "path\nTrust\nTrust/ \n", "a code name is empty", "blankname.csv, row 3"),
    ("orphan.csv", "path\nTrust\nMissing/Child\n", "parent 'Missing' of 'Child' does not exist", "orphan.csv, row 3"),
    ("colour.csv", "path,color\nTrust,red\n", "colour 'red'", "colour.csv, row 2"),
    ("guid.csv", "path,guid\nTrust,not-a-guid\n", "GUID", "guid.csv, row 2"),
    ("dupguid.csv", "path,guid\nA,0b9c8a7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d\nB,0b9c8a7e-1d2f-4a3b-9c8d-7e6f5a4b3c2d\n",
     "used twice", "dupguid.csv, row 3"),
    ("nopath.csv", "name\nTrust\n", "missing column(s): path", "nopath.csv"),
    ("dup.yaml", "- name: Trust\n- name: Trust\n", "duplicate code 'Trust'", "dup.yaml, line 2"),
    ("slash.yaml", "- name: Trust\n  children:\n    - name: A/B\n", "contains '/'", "slash.yaml, line 3"),
    ("noname.yaml", "- name: Trust\n- definition: x\n", "has no `name`", "noname.yaml, line 2"),
    ("children.yaml", YAML_BAD_PARENT, "expected a list of codes", "children.yaml, line 5"),
    ("syntax.yaml", "- name: [unclosed\n", "not valid YAML", "syntax.yaml, line 2"),
    ("invalid.qdc", b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code name="x"/></Codes></CodeBook>',
     "not a valid REFI-QDA codebook", "invalid.qdc, line 1"),
    ("broken.qdc", b"<CodeBook", "not well-formed XML", "broken.qdc, line 1"),
])
def test_invalid_codebooks_are_refused_with_the_place_at_fault(study, name, data, message, where):
    import_codebook(study, LEAD_CLI, b"path\nExisting\n", "first.csv")
    with pytest.raises((ValidationError, InputError)) as error:
        import_codebook(study, LEAD_CLI, data.encode() if isinstance(data, str) else data, name)
    assert message in error.value.message
    assert error.value.where == where
    assert paths(study) == ["Existing"]


def test_moving_a_code_under_its_own_descendant_is_a_cycle(study):
    import_codebook(study, LEAD_CLI, b"path,guid\nA,aaaaaaaa-0000-0000-0000-000000000001\n"
                           b"A/B,aaaaaaaa-0000-0000-0000-000000000002\n", "tree.csv")
    cycle = b"path,guid\nA/B/A,aaaaaaaa-0000-0000-0000-000000000001\n"
    with pytest.raises(ValidationError, match="cycle"):
        import_codebook(study, LEAD_CLI, cycle, "cycle.csv")
    assert paths(study) == ["A", "A/B"]


def test_sibling_clash_with_an_existing_code(study):
    import_codebook(study, LEAD_CLI, b"path,guid\nA,aaaaaaaa-0000-0000-0000-000000000001\nB,\n", "tree.csv")
    with pytest.raises(ValidationError, match="already named 'B'"):
        import_codebook(study, LEAD_CLI, b"path,guid\nB,aaaaaaaa-0000-0000-0000-000000000001\n", "rename.csv")


def test_codes_are_found_by_path_unique_name_or_guid(study):
    import_codebook(study, LEAD_CLI, (CSV + "Endings/Being believed,Other.,,,,,\n").encode(), "codes.csv")
    with study.session() as session:
        index = CodeIndex(session)
        assert index.path(index.resolve("Trust/Being believed")) == "Trust/Being believed"
        assert index.path(index.resolve("being rung back")) == "Trust/Being rung back"
        assert index.path(index.resolve("{0B9C8A7E-1D2F-4A3B-9C8D-7E6F5A4B3C2D}")) == "Trust/Being believed"
        with pytest.raises(ValidationError, match="ambiguous"):
            index.resolve("Being believed")
        with pytest.raises(NotFound):
            index.resolve("Nothing")


def test_names_with_slash_are_refused_by_the_database_too(study):
    with pytest.raises(IntegrityError), study.transaction() as session:
        session.add(Code(name="A/B", color="#000000"))
    with study.session() as session:
        assert session.scalars(select(Code)).all() == []
