"""The documents cite files, tests and Python names that exist: a move or a rename that leaves a
document behind fails here, not in a reader's hands."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    {
        ROOT / "README.md",
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("bench/**/*.md"),
    }
)
# Made by a test run or an install, not kept in the repository.
GENERATED = ("artifacts/", ".venv/")

_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_FILE = re.compile(r"^[A-Za-z0-9_.\-/]+(?:/|\.(?:py|md|csv|yaml|yml|toml|sh|json|ini|txt|png))$")
_TEST = re.compile(r"^([A-Za-z0-9_.\-/]+\.py)::([A-Za-z0-9_]+)$")
_NAME = re.compile(r"^(?:bot|handlers|storage|migrations)(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _cited(document: Path) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    text = document.read_text(encoding="utf-8")
    files: set[str] = set(_LINK.findall(text))
    tests: set[tuple[str, str]] = set()
    names: set[str] = set()
    for code in _CODE.findall(text):
        code = code.strip().removesuffix("()")
        if found := _TEST.match(code):
            tests.add((found.group(1), found.group(2)))
        elif _NAME.match(code):
            names.add(code)
        elif _FILE.match(code):
            files.add(code)  # the whole span names a file: `bench/RESULTS.md`, `test_races.py`
        else:
            # A command line cites the files it runs: `python bench/bench_matching.py --json`.
            files.update(
                token for token in code.split() if "/" in token.rstrip("/") and _FILE.match(token)
            )
    files = {f for f in files if "://" not in f and not f.startswith(("/", "mailto:"))}
    return files, tests, names


def _exists(document: Path, cited: str) -> bool:
    if cited.startswith(GENERATED):
        return True
    if (ROOT / cited).exists() or (document.parent / cited).exists():
        return True
    # A bare name ("test_crashes.py", "admin/") names a file or folder somewhere in the project.
    name = cited.rstrip("/")
    return "/" not in name and any(".venv" not in p.parts for p in ROOT.glob(f"**/{name}"))


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_a_document_cites_exists(document: Path) -> None:
    files, tests, _ = _cited(document)
    missing = sorted(f for f in files if not _exists(document, f))
    assert not missing, f"{document.name} cites files that do not exist: {missing}"
    for path, test in sorted(tests):
        source = ROOT / path
        assert source.exists(), f"{document.name} cites {path}, which does not exist"
        defined = {
            node.name
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert test in defined, f"{document.name} cites {path}::{test}, which does not exist"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_name_a_document_cites_exists(document: Path) -> None:
    _, _, names = _cited(document)
    missing = sorted(n for n in names if not _resolves(n))
    assert not missing, f"{document.name} cites Python names that do not exist: {missing}"


def test_the_check_sees_a_missing_file_and_a_missing_name(tmp_path: Path) -> None:
    """The checks above can fail: a document citing things that are not there is caught."""
    document = tmp_path / "NOTES.md"
    document.write_text(
        "See `bot/no_such_module.py`, [the guide](docs/NO_SUCH.md), "
        "`tests/bot/test_matching.py::test_that_was_never_written` and "
        "`bot.services.posting.no_such_function`; `bot/app.py` is real.",
        encoding="utf-8",
    )
    files, tests, names = _cited(document)
    assert sorted(f for f in files if not _exists(document, f)) == [
        "bot/no_such_module.py",
        "docs/NO_SUCH.md",
    ]
    assert tests == {("tests/bot/test_matching.py", "test_that_was_never_written")}
    assert names == {"bot.services.posting.no_such_function"}
    assert not _resolves("bot.services.posting.no_such_function")
    assert _resolves("bot.services.posting.publish_post")
