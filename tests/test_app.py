"""The app starts on the sample study and shows it (coding screens come with their issue)."""

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture
def app(sample_study, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", sample_study.engine.url.render_as_string(hide_password=False))
    st.cache_resource.clear()
    yield AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    st.cache_resource.clear()


def test_overview_shows_counts_transcripts_and_a_transcript(app):
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Transcripts"] == "12" and metrics["Coders"] == "2"
    assert app.selectbox[0].value == "C01_Leo"
    app.selectbox[0].select("M01_Amy").run()
    assert any("I can see a big difference in my nine-year-old" in m.value for m in app.markdown)
    assert any(m.value.startswith("**Amy (mother)**") for m in app.markdown)
