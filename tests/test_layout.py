"""The layout's rules, read from the source files (ast, no imports run):

- the stacks' side (stacks/ and sources/, less each source's local-run modules) never imports the
  command-line tools (mlkit/) or a source's local-run module, even inside a function: the local run
  may import the stacks' side, never the reverse;
- no import cycle between the files of stacks/, sources/ and mlkit/;
- no function runs over 60 lines;
- every registered source is one package with its local rows (and its stack, where it has one).

Cycles count module-level imports (those inside a top-level ``if``/``try`` too, but not under
``if TYPE_CHECKING``): an import inside a function runs when called, after every module has loaded,
so it cannot deadlock a load. Each edge goes to the module an import names (``from a import b`` to
``a.b`` when that is a module); a parent package's ``__init__`` that Python also runs is no edge.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRAPH_PACKAGES = ("stacks", "sources", "mlkit")
CODE_PACKAGES = ("stacks", "sources", "mlkit", "lambdas", "jobs")
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(packages=GRAPH_PACKAGES) -> dict[str, Path]:
    return {
        module_name(path): path
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def is_local_run_module(name: str) -> bool:
    """A source's `make local` rows: sources/<name>/local.py, or local_<part>.py beside it."""
    last = name.rsplit(".", 1)[-1]
    return name.startswith("sources.") and (last == "local" or last.startswith("local_"))


def _resolve(module: str, level: int, importer: str, is_package: bool) -> str:
    if not level:
        return module
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imported_modules(node: ast.AST, importer: str, is_package: bool, known) -> set[str]:
    """The modules one import statement names: ``from a import b`` names ``a.b`` when that is a
    module, else ``a``."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if not isinstance(node, ast.ImportFrom):
        return set()
    module = _resolve(node.module or "", node.level, importer, is_package)
    submodules = {f"{module}.{alias.name}" for alias in node.names}
    named = submodules & set(known)
    return named | ({module} if len(named) < len(submodules) else set())


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module):
    """Import statements that run when the module loads (not in functions, not under TYPE_CHECKING)."""
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            pending.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)


def import_edges(every_import: bool) -> dict[str, set[str]]:
    """{module: the modules of stacks/, sources/ and mlkit/ it imports}."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        nodes = ast.walk(tree) if every_import else module_level_imports(tree)
        targets = set()
        for node in nodes:
            targets |= imported_modules(node, name, path.name == "__init__.py", known)
        edges[name] = {target for target in targets if target in known and target != name}
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module: the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def forbidden_imports(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{importer} imports {target}"
        for importer, targets in sorted(edges.items())
        if importer.split(".")[0] in ("stacks", "sources") and not is_local_run_module(importer)
        for target in sorted(targets)
        if target.split(".")[0] == "mlkit" or is_local_run_module(target)
    ]


def test_the_stacks_side_never_imports_the_local_run():
    assert forbidden_imports(import_edges(every_import=True)) == []


def test_the_rule_catches_an_import_inside_a_function():
    edges = {"stacks.stage": {"mlkit.report"}, "sources.hub": {"sources.hub.local"}, "mlkit.run": {"stacks"}}
    assert forbidden_imports(edges) == [
        "sources.hub imports sources.hub.local",
        "stacks.stage imports mlkit.report",
    ]


def test_no_import_cycle_between_files():
    assert strongly_connected(import_edges(every_import=False)) == []


def test_a_cycle_is_found():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(edges) == [["a", "b", "c"]]


def test_module_level_imports_skip_functions_and_type_checking():
    tree = ast.parse(
        "import a\nif TYPE_CHECKING:\n    import b\ntry:\n    import c\nexcept ImportError:\n"
        "    import d\ndef f():\n    import e\n"
    )
    assert [node.names[0].name for node in module_level_imports(tree)] == ["a", "c", "d"]


def long_functions(paths) -> list[str]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} has {lines} lines")
    return found


def test_no_function_over_60_lines():
    assert long_functions(modules(CODE_PACKAGES).values()) == []


def test_a_long_function_is_found(tmp_path):
    path = ROOT / "tests" / "_long_function_probe.py"
    body = "\n".join(f"    x{n} = {n}" for n in range(MAX_FUNCTION_LINES))
    try:
        path.write_text(f"def long():\n{body}\n")
        assert long_functions([path]) == [
            f"tests/_long_function_probe.py:1 long has {MAX_FUNCTION_LINES + 1} lines"
        ]
    finally:
        path.unlink()


@pytest.mark.parametrize("name", sorted(__import__("sources").SOURCES))
def test_each_source_is_one_package_with_its_local_rows(name):
    from sources import SOURCES

    source = SOURCES[name]
    package = ROOT.joinpath(*source.package.split("."))
    local = (package / "local.py").read_text()
    assert "def run_locally(" in local, f"{package}/local.py has no run_locally"
    if (package / "stack.py").exists():
        assert "\nSTACK = " in (package / "stack.py").read_text()
    config_home = source.config_model.__module__
    assert config_home.startswith(("sources.", type(source).__module__)), config_home
