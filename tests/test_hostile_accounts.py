"""Accounts and sessions against a hostile user: guessing passwords, telling which names exist,
taking over a study without a lead, keeping a session after a password reset, and hiding CLI
actions behind a coder's name."""

from __future__ import annotations

import statistics
import time

import pytest
from click.testing import CliRunner

from tests.conftest import SAMPLE_PASSWORDS
from tests.test_app import new_app, sign_in
from workbench.access import LEAD_CLI
from workbench.audit import audit_rows
from workbench.cli import cli
from workbench.users import SignInThrottle, TooManyAttempts, authenticate, set_password
from workbench.users import sign_in as check_sign_in


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_throttle_makes_a_name_wait_after_five_failures_and_doubles(sample_study):
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    for _ in range(5):
        assert check_sign_in(sample_study, "priya", "wrong password", "10.0.0.1", throttle) is None
    with pytest.raises(TooManyAttempts, match="try again in 30 seconds"):
        check_sign_in(sample_study, "priya", SAMPLE_PASSWORDS["priya"], "10.0.0.1", throttle)
    with pytest.raises(TooManyAttempts):  # from another computer too: the name is throttled
        check_sign_in(sample_study, "priya", SAMPLE_PASSWORDS["priya"], "10.0.0.2", throttle)
    assert check_sign_in(sample_study, "tom", SAMPLE_PASSWORDS["tom"], "10.0.0.2", throttle) is not None
    clock.now += 31
    assert check_sign_in(sample_study, "priya", "wrong again", "10.0.0.1", throttle) is None
    assert throttle.wait("priya", "10.0.0.1") == pytest.approx(60)  # doubled
    clock.now += 61
    assert check_sign_in(sample_study, "priya", SAMPLE_PASSWORDS["priya"], "10.0.0.1", throttle).name == "priya"
    assert throttle.wait("priya", "10.0.0.9") == 0  # a success clears the name
    failures = [e for e in audit_rows(sample_study, LEAD_CLI, limit=50) if e["action"] == "sign_in.failed"]
    assert len(failures) == 6 and all("password" not in str(e["detail"]) for e in failures)


def test_one_client_trying_many_names_is_throttled_and_unknown_names_are_not_audited(sample_study):
    throttle = SignInThrottle(clock=Clock())
    for k in range(20):
        check_sign_in(sample_study, f"guess{k}", "x", "10.9.9.9", throttle)
    with pytest.raises(TooManyAttempts):
        check_sign_in(sample_study, "morgan", SAMPLE_PASSWORDS["morgan"], "10.9.9.9", throttle)
    assert not [e for e in audit_rows(sample_study, LEAD_CLI, limit=50) if e["action"] == "sign_in.failed"]


def test_an_unknown_name_costs_as_much_time_as_a_wrong_password(sample_study):
    def median_time(name):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert authenticate(sample_study, name, "not the password") is None
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    known, unknown = median_time("priya"), median_time("nobody-by-this-name")
    assert 0.5 < unknown / known < 2, (known, unknown)  # both one argon2 verification


def test_the_app_throttles_sign_in(app):
    at = app()
    for _ in range(5):
        sign_in(at, "priya", "wrong password")
    sign_in(at, "priya")  # the right password, too soon
    assert "too many failed sign-ins" in at.error[0].value.replace("\\", "")  # shown escaped: inert text
    assert [t.value for t in at.title] == ["Sign in"]


@pytest.fixture
def app(sample_study, monkeypatch):
    import streamlit as st

    from workbench.users import SIGN_IN_THROTTLE

    SIGN_IN_THROTTLE._failures.clear()
    yield lambda: new_app(sample_study, monkeypatch)
    SIGN_IN_THROTTLE._failures.clear()
    st.cache_resource.clear()


def test_a_password_reset_ends_the_accounts_sessions(app, sample_study):
    at = sign_in(app(), "priya")
    assert "**priya** (coder)" in at.sidebar.markdown[0].value
    set_password(sample_study, LEAD_CLI, "priya", "a brand new password")
    at.run()
    assert [t.value for t in at.title] == ["Sign in"] and "password was changed" in at.info[0].value


def test_cli_actions_as_a_user_are_marked_in_the_audit_trail(sample_study):
    url = sample_study.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "--as", "priya", "memos", "add", "A note made at the terminal"])
    assert result.exit_code == 0, result.output
    entry = audit_rows(sample_study, LEAD_CLI, limit=1)[0]
    assert (entry["action"], entry["actor"]) == ("memo.add", "priya (via the command line)")
