"""The one-way house (docs/architecture.md): ops → agents, music → town → town/engine.

The world (town/) never imports the minds (agents/), music (music/) or the operator's levers
(ops/); the minds and music never import each other; nothing but ops itself and the entry
points (config/, manage.py) imports ops. Every import counts: module level, inside a
function, under `if TYPE_CHECKING:`, relative, or by name through importlib.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("town", "agents", "music", "ops", "accounts")
# Which top-level packages each part may not import.
FORBIDDEN = {
    "town": {"agents", "music", "ops"},
    "agents": {"music", "ops"},
    "music": {"agents", "ops"},
    "accounts": {"agents", "music", "ops"},
}
# Code outside the apps that must not import ops either (config/ and manage.py may).
OTHERS = ("bench", "tools")
IMPORTERS = {"import_module", "__import__"}


def module_name(path: Path) -> str:
    """`town/engine/world.py` → `town.engine.world` (a package's __init__ is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` (the module `module`) imports, anywhere in it, as absolute
    dotted names."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
        elif isinstance(node, ast.Call):
            func = node.func
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            first = node.args[0] if node.args else None
            if (
                called in IMPORTERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.add(first.value)
    return found


def wrong_arrows(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of `module` that break the house's rules, as "module → imported"."""
    part = module.split(".")[0]
    forbidden = FORBIDDEN.get(part, set()) | ({"ops"} if part != "ops" else set())
    return sorted(
        f"{module} → {name}"
        for name in imported_modules(source, module, is_package)
        if name.split(".")[0] in forbidden
    )


def python_files() -> list[Path]:
    files: list[Path] = []
    for top in (*APPS, *OTHERS):
        files += sorted((ROOT / top).rglob("*.py"))
    return files


def test_the_checker_finds_every_kind_of_import():
    source = """
from __future__ import annotations
import json
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from music.models import Track

def later():
    from agents import budget
    import agents.worker

def by_name():
    import importlib
    return importlib.import_module("music.selectors")

from ..engine import world
from . import selectors
"""
    arrows = wrong_arrows(source, "town.sub.thing")
    assert arrows == [
        "town.sub.thing → agents",
        "town.sub.thing → agents.worker",
        "town.sub.thing → music.models",
        "town.sub.thing → music.selectors",
    ]
    assert imported_modules(source, "town.sub.thing") >= {"town.engine", "town.sub", "json"}
    # The same imports are fine in ops, and minds importing the world are fine.
    assert wrong_arrows(source, "ops.services") == []
    assert wrong_arrows("from town import services", "agents.worker") == []
    # Minds and music never import each other; nobody outside ops imports it.
    assert wrong_arrows("from music import jobs", "agents.worker") == ["agents.worker → music"]
    assert wrong_arrows("import agents.llm", "music.services") == ["music.services → agents.llm"]
    assert wrong_arrows("from ops import services", "bench.tokens") == ["bench.tokens → ops"]
    assert wrong_arrows("from . import x", "ops", is_package=True) == []


def test_the_house_has_one_way_arrows():
    files = python_files()
    assert any(module_name(p) == "town.runner" for p in files)  # it looked where it should
    wrong = []
    for path in files:
        wrong += wrong_arrows(path.read_text(), module_name(path), path.name == "__init__.py")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)
