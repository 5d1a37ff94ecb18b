"""The platform's modules import one way: no loop among them, and each imports in any order.

The graph is read from the source, lazy imports (inside functions, under TYPE_CHECKING)
included: a loop that a function-level import hides today fails at import time the day that
import moves to the top. Then every module is really imported first in a fresh process.
"""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "project", "videos", "webhooks")


def platform_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> dict[str, int]:
    """The platform modules `name` imports anywhere in its source, each with its first line."""

    def deepest_known(dotted: str) -> str | None:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in known:
                return ".".join(parts[:end])
        return None

    found: dict[str, int] = {}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [deepest_known(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import name` imports the submodule when there is one.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else deepest_known(base)
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target and target != name:
                found.setdefault(target, node.lineno)
    return found


def test_no_module_of_the_platform_imports_itself_through_others():
    modules = platform_modules()
    graph = {name: imported_modules(name, path, set(modules)) for name, path in modules.items()}
    try:
        TopologicalSorter({name: set(targets) for name, targets in graph.items()}).prepare()
    except CycleError as error:
        # graphlib lists the loop against the arrows (each node is imported by the next).
        loop = error.args[1][::-1]
        steps = [
            f"{source} imports {target} ({modules[source].relative_to(ROOT)}:{graph[source][target]})"
            for source, target in itertools.pairwise(loop)
        ]
        hint = "imports inside functions and under TYPE_CHECKING count: move what both need where both can import it"
        raise AssertionError("import loop:\n  " + "\n  ".join(steps) + f"\n({hint})") from None


def test_provider_value_types_import_nothing_from_the_platform():
    modules = platform_modules()
    imported = imported_modules("videos.providers.types", modules["videos.providers.types"], set(modules))
    assert imported == {}


def test_provider_modules_import_only_at_the_top():
    lazy = []
    for path in sorted((ROOT / "videos" / "providers").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        top = set(tree.body)
        lazy += [
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom) and node not in top
        ]
    assert lazy == []


def test_every_module_imports_first_in_a_fresh_interpreter(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    # Compiled once by the first import and reused by the next processes, outside the tree.
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    env.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fresh_imports.py"), *platform_modules()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(platform_modules())} modules, 0 failures" in result.stdout
