"""The layout rules, read from the source (issue 13): ``cli -> ui -> core``, the core never imports Qt,
panels never import each other, and no two modules import each other (directly or in a ring).

Imports are read with ``ast`` from every module, including imports inside functions and under
``TYPE_CHECKING``: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import explorer

PACKAGE_ROOT = Path(explorer.__file__).parent
QT = ("PySide6", "pyqtgraph", "superqt", "PyQt5", "PyQt6", "shiboken6")
PANEL_PACKAGES = ("train", "codebook", "editor", "sampling", "gumbel", "likelihood", "quantizer_lab")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE_ROOT.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Absolute names of everything ``path`` imports (modules of ours resolved to the deepest module)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base[: len(base) - (node.level - 1)]
                target = ".".join(prefix + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:            # "from pkg import submodule"
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
    return found


def graph() -> dict[str, set[str]]:
    mods = all_modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def test_the_reader_sees_the_whole_package() -> None:
    g = graph()
    assert "explorer.core.models.pixelcnn" in g and "explorer.ui.main_window" in g and "explorer.cli.train" in g
    assert "explorer.core.sampling" in g["explorer.core.models.prior"]


def test_core_never_imports_qt_ui_or_cli() -> None:
    bad = {mod: sorted(t for t in targets
                       if t.split(".")[0] in QT or t.startswith(("explorer.ui", "explorer.cli")))
           for mod, targets in graph().items() if mod.startswith("explorer.core")}
    assert {m: t for m, t in bad.items() if t} == {}


def test_ui_never_imports_cli() -> None:
    bad = {mod: sorted(t for t in targets if t.startswith("explorer.cli"))
           for mod, targets in graph().items() if mod.startswith("explorer.ui")}
    assert {m: t for m, t in bad.items() if t} == {}


def test_panels_never_import_each_other() -> None:
    bad = {}
    for mod, targets in graph().items():
        parts = mod.split(".")
        if len(parts) < 3 or parts[:2] != ["explorer", "ui"] or parts[2] not in PANEL_PACKAGES:
            continue
        others = sorted(t for t in targets if t.startswith("explorer.ui.")
                        and t.split(".")[2] in PANEL_PACKAGES and t.split(".")[2] != parts[2])
        if others:
            bad[mod] = others
    assert bad == {}, "a part several panels need belongs in explorer/ui/widgets/"


def test_no_import_cycles() -> None:
    g = graph()
    edges = {m: {t for t in ts if t in g and t != m} for m, ts in g.items()}
    # a package's __init__ re-exporting its own submodules is not a cycle with them
    for m in edges:
        edges[m] = {t for t in edges[m] if not m.startswith(t + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    assert cycles == []
