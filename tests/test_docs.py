"""The docs match the code: README quick start, architecture, CI."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quick_start_has_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./run.sh", "./test.sh"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\n./test.sh" in ci and "WORKBENCH_TEST_POSTGRES_URL" in ci


def test_setup_installs_cpu_torch_before_anything_else():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert setup.index('"torch==2.13.0"') < setup.index("-e \".[test]\"")


def test_architecture_names_every_module():
    architecture = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for path in (ROOT / "workbench").glob("*.py"):
        if path.stem not in ("__init__", "cli"):
            assert f"{path.stem}.py" in architecture, path.name


def test_streamlit_configuration_keeps_everything_on_the_machine():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 200
