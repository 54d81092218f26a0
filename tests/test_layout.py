"""The package layout keeps its one direction: ``ingest`` and ``ui`` use ``rag``, ``ui`` uses
``ingest``, and the library imports neither (read from the source, not from a running import).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"rag": {"ingest", "ui"}, "ingest": {"ui"}}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module a file imports, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_run_one_way(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = {
        str(f.relative_to(ROOT)): sorted(imported_packages(f) & FORBIDDEN[package]) for f in files
    }
    assert {f: names for f, names in wrong.items() if names} == {}


CHROMA_CALLS = {"get_collection", "create_collection", "PersistentClient", "HttpClient", "query"}


def chroma_uses(path: Path) -> list[str]:
    """Places that reach into a Chroma client or collection rather than through ``Store``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Attribute):
            continue
        owner = ast.unparse(node.value)
        if (
            node.attr in ("collection", "_collection", "_client")
            and not owner.endswith(("settings", "self"))
        ) or (node.attr in CHROMA_CALLS and owner.split(".")[-1] in ("chromadb", "client")):
            found.append(f"{path.name}:{node.lineno} {owner}.{node.attr}")
    return found


def test_only_the_store_touches_chroma() -> None:
    files = [
        f
        for package in ("rag", "ingest", "ui")
        for f in sorted((ROOT / package).rglob("*.py"))
        if f != ROOT / "rag" / "store.py"
    ]
    assert [use for f in files for use in chroma_uses(f)] == []
    assert chroma_uses(ROOT / "rag" / "store.py")  # the check sees real uses where they are


def test_no_test_module_imports_another() -> None:
    """Shared pieces live in tests/conftest.py (fixtures) and tests/helpers.py."""
    wrong = [
        f"{path.name}: {node.module}"
        for path in sorted((ROOT / "tests").glob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_")
    ]
    assert wrong == []
