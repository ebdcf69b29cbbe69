"""The house rules, checked statically over photoseek's source:

1. no import circles between modules (function-level imports count; `if TYPE_CHECKING:` ones do not);
2. arrows point down the stages: core → llm → vision → store → ingest → search → Library →
   tools/evaluate → agent → interfaces. A package may import its own modules and any lower layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import photoseek

ROOT = Path(photoseek.__file__).parent

# Lower number = lower layer. Modules not listed under a package take their package's rank.
LAYERS = {
    "photoseek": 0,  # the lazy public entry (`from photoseek import Library`) is checked apart
    "photoseek.errors": 0,
    "photoseek.config": 0,
    "photoseek.progress": 0,
    "photoseek.results": 0,
    "photoseek.inference": 0,
    "photoseek.prompts": 0,
    "photoseek.model_guide": 0,  # data about models (`photoseek models`); imports nothing
    "photoseek.llm": 1,
    "photoseek.vision": 2,
    "photoseek.places": 2,  # the gazetteer, place names, estimates and trips: data, no catalog
    "photoseek.store": 3,
    "photoseek.ingest": 4,
    "photoseek.learn": 4,  # taught words: models over the stored vectors (used by search, run by Library)
    "photoseek.people": 4,  # faces grouped into people, and the user's word on them
    "photoseek.search": 5,
    "photoseek.library": 6,
    "photoseek.tools": 7,
    "photoseek.evaluate": 7,
    "photoseek.agent": 8,
    "photoseek.web": 9,
    "photoseek.cli": 10,
    "photoseek.demo": 9,
    "photoseek.__main__": 11,
}
# The façade's one-line conveniences for the conversation API (`Library.session()`, `.ask()`);
# the agent names Library only as a type, so this makes no circle.
ALLOWED_UPWARD = {("photoseek.library", "photoseek.agent.session")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """photoseek modules `name` imports at run time (anywhere in the file, TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            if base in modules:
                found.add(base)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: runtime_imports(name, path, set(modules)) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components of more than one module are import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [c for c in components if len(c) > 1]


def layer_of(module: str) -> tuple[str, int]:
    candidates = [key for key in LAYERS if module == key or module.startswith(key + ".")]
    key = max(candidates, key=len)
    return key, LAYERS[key]


def test_the_checker_sees_a_circle_and_skips_type_checking(tmp_path):
    # The check itself can fail: a two-module circle is found, a TYPE_CHECKING import is not an edge.
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert strongly_connected(graph) == [["a", "b"]]
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x.y\nimport x.z\n")
    assert runtime_imports("m", source, {"x.y", "x.z"}) == {"x.z"}


def test_no_import_circles():
    circles = strongly_connected(import_graph())
    assert not circles, f"import circles: {circles}"


def test_every_module_has_a_layer():
    unplaced = [m for m in all_modules() if not any(m == k or m.startswith(k + ".") for k in LAYERS)]
    assert not unplaced, f"give these a layer in LAYERS: {unplaced}"


def test_imports_point_down_the_stages():
    upward = []
    for module, targets in import_graph().items():
        if module == "photoseek":
            continue
        package, rank = layer_of(module)
        for target in targets:
            target_package, target_rank = layer_of(target)
            if target_package == package or (module, target) in ALLOWED_UPWARD:
                continue
            if target_rank >= rank:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that point up or sideways:\n" + "\n".join(sorted(upward))


def test_public_names_stay_importable():
    from photoseek import Filters, Library, SearchResult  # noqa: F401
