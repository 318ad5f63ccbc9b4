import pytest

from workbench.access import LEAD_CLI
from workbench.errors import InputError, ValidationError
from workbench.sample import PARTICIPANT_KEY
from workbench.transcripts.participants import export_participants, import_participants, list_participants

KEY = ("pseudonym,role,group,age,linked_to,programme\n"
       "Amy,mother,Service 4,,Leo,Freedom\n"
       "Leo,child,Service 4,9,Amy,children's group\n"
       "Jack,young person,Service 6,16,,\n")


def test_import_keeps_columns_links_and_attributes(study):
    report = import_participants(study, LEAD_CLI, KEY.encode(), "key.csv")
    assert (report.added, report.updated, report.links) == (3, 0, 1)
    people = {p["pseudonym"]: p for p in list_participants(study)}
    assert people["Leo"] == dict(pseudonym="Leo", role="child", group="Service 4", age=9,
                                 linked_to=["Amy"], attributes={"programme": "children's group"})
    assert people["Amy"]["linked_to"] == ["Leo"] and people["Amy"]["age"] is None
    assert people["Jack"]["linked_to"] == [] and people["Jack"]["attributes"] == {}


def test_export_round_trips(study, tmp_path):
    from workbench.store import Study

    import_participants(study, LEAD_CLI, PARTICIPANT_KEY.read_bytes(), PARTICIPANT_KEY.name)
    exported = export_participants(study)
    assert exported.splitlines()[0].startswith("pseudonym,role,group,age,linked_to,")
    other = Study.open(f"sqlite:///{tmp_path / 'other.db'}")
    import_participants(other, LEAD_CLI, exported.encode(), "exported.csv")
    assert list_participants(other) == list_participants(study)
    other.close()


def test_reimport_updates_and_replaces_links(study):
    import_participants(study, LEAD_CLI, KEY.encode(), "key.csv")
    report = import_participants(study, LEAD_CLI, b"pseudonym,role,linked_to,extra\nLeo,child,,x\n", "fix.csv")
    assert (report.added, report.updated) == (0, 1)
    people = {p["pseudonym"]: p for p in list_participants(study)}
    assert people["Leo"]["linked_to"] == [] and people["Amy"]["linked_to"] == []
    assert people["Leo"]["attributes"] == {"extra": "x"}


@pytest.mark.parametrize("data, message, where", [
    ("pseudonym,age\nAmy,nine\n", "age 'nine' is not a whole number", "key.csv, row 2"),
    ("pseudonym,age\nAmy,200\n", "out of range", "key.csv, row 2"),
    ("pseudonym\nAmy\namy\n", "already on row 2", "key.csv, row 3"),
    ("pseudonym,role\n,mother\n", "empty pseudonym", "key.csv, row 2"),
    ("pseudonym,linked_to\nAmy,Nobody\n", "'Nobody', who is not in the key", "key.csv, row 2"),
    ("pseudonym,linked_to\nAmy,Amy\n", "linked to themselves", "key.csv, row 2"),
    ("role,group\nmother,Service 1\n", "missing column(s): pseudonym", "key.csv"),
])
def test_bad_keys_are_refused_and_nothing_is_written(study, data, message, where):
    with pytest.raises((ValidationError, InputError)) as error:
        import_participants(study, LEAD_CLI, data.encode(), "key.csv")
    assert message in error.value.message and error.value.where == where
    assert list_participants(study) == []
