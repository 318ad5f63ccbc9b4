"""The shape ARCHITECTURE.md promises: packages by domain, pure cores, no import cycles, and a
module table that matches the tree."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"

# Pure modules: functions on plain data. No database, no Streamlit, and only other pure modules.
PURE = {
    "workbench.errors", "workbench.canonical", "workbench.csvio", "workbench.nlp", "workbench.places",
    "workbench.transcripts.formats", "workbench.transcripts.speakers",
    "workbench.privacy.identifiers", "workbench.privacy.textedit", "workbench.privacy.private_key",
    "workbench.privacy.review",
    "workbench.codebook.spec", "workbench.codebook.io", "workbench.codebook.colours", "workbench.coding.spans",
    "workbench.refi", "workbench.refi.codebook",
    "workbench.agreement", "workbench.agreement.coefficients", "workbench.agreement.unitizing",
    "workbench.agreement.units", "workbench.agreement.report",
    "workbench.reconcile.items", "workbench.suggest.ranking", "workbench.suggest.model",
    "workbench.suggest.torch_backend", "workbench.suggest.onnx_backend",
}
IMPURE_LIBRARIES = {"sqlalchemy", "alembic", "psycopg", "psycopg2", "sqlite3", "streamlit"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """(workbench modules, top-level outside libraries) that `name` imports, anywhere in it."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    local, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("workbench"):
                outside.add(target.split(".")[0])
                continue
            for alias in node.names:
                local.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                (local if alias.name in MODULES else outside).add(alias.name if alias.name in MODULES
                                                                  else alias.name.split(".")[0])
    return local - {name}, outside


GRAPH = {name: imports_of(name)[0] for name in MODULES}


def test_the_import_graph_has_no_cycles():
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [node, nxt]) if nxt in trail else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [])
    assert cycles == []


def test_pure_modules_touch_no_database_or_streamlit_and_only_pure_modules():
    for name in sorted(PURE):
        local, outside = imports_of(name)
        assert not outside & IMPURE_LIBRARIES, (name, outside & IMPURE_LIBRARIES)
        assert local <= PURE, (name, local - PURE)


def test_only_the_ui_imports_streamlit():
    for name in MODULES:
        if not name.startswith("workbench.ui"):
            assert "streamlit" not in imports_of(name)[1], name


def test_architecture_md_lists_every_module_and_only_existing_ones():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    table = text[text.index("## Modules"):text.index("## Data model")]
    named = set(re.findall(r"`([\w/]+\.py|[\w/]+/)`", table))
    files = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
             if "migrations" not in p.parts and p.name != "__init__.py" and "ui" not in p.parts[:-1]}
    folders = {str(p.relative_to(PACKAGE)) + "/" for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    missing = files - named
    assert missing == set(), "modules ARCHITECTURE.md does not describe"
    assert folders - {"data/"} <= named, "packages ARCHITECTURE.md does not describe"
    for entry in named:
        assert (PACKAGE / entry).exists() or (ROOT / entry).exists(), f"ARCHITECTURE.md names {entry}, which does not exist"
