"""The engine stays a pure state machine: standard library only."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PURE = [
    *sorted((ROOT / "town" / "engine").glob("*.py")),
    ROOT / "agents" / "routine.py",
    ROOT / "agents" / "phrases.py",
]
# Pure modules may import each other.
PURE_MODULES = {"agents.phrases"}


def runtime_imports(path: Path) -> set[str]:
    """Top-level modules imported outside `if TYPE_CHECKING:` blocks (relative ones skipped)."""
    found = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", "") == "TYPE_CHECKING":
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name.split(".")[0] for alias in child.names)
            elif (
                isinstance(child, ast.ImportFrom)
                and child.level == 0
                and child.module
                and child.module not in PURE_MODULES
            ):
                found.add(child.module.split(".")[0])
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_engine_and_routine_mind_import_only_the_standard_library():
    allowed = set(sys.stdlib_module_names) - {"asyncio", "sqlite3", "socket", "threading", "time"}
    for path in PURE:
        extra = runtime_imports(path) - allowed - {"__future__"}
        assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}"
