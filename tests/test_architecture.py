"""The layering of docs/architecture.md stays true: import-linter's contract (pyproject.toml), no
import cycle at module level, and a reason beside every import deferred into a function."""

import ast
from pathlib import Path

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parent.parent
APPS = ("pim", "tickets", "sla", "escalation", "maintenance", "intake", "privacy", "demo")


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            yield ".".join(parts), path, is_package


MODULES = {name: (path, is_package) for name, path, is_package in _modules()}


def _resolve(module, is_package, node, alias=None):
    """The project module an import statement names (or None for other packages)."""
    if isinstance(node, ast.Import):
        name = alias.name
    else:
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(max(node.level - 1, 0)):
            base = base.rpartition(".")[0]
        prefix = base if node.level else ""
        target = ".".join(p for p in (prefix, node.module or "") if p)
        candidate = f"{target}.{alias.name}" if alias else target
        name = candidate if candidate in MODULES else target
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module):
    """(module-level imports, deferred imports with their line) of one module."""
    path, is_package = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    top, deferred = set(), []

    def visit(node, nested):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for alias in child.names:
                    target = _resolve(module, is_package, child, alias)
                    if target and target != module:
                        (deferred.append((target, child.lineno)) if nested else top.add(target))
                    elif nested and not target:
                        deferred.append((None, child.lineno))
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            visit(child, inner)

    visit(tree, False)
    return top, deferred


def test_layering_contract_holds():
    """Lower apps never import upper ones, not even inside a function."""
    result = lint_imports(str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert result == EXIT_STATUS_SUCCESS


def test_no_import_cycle_at_module_level():
    graph = {module: _imports(module)[0] for module in MODULES}
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def strongly_connect(node):  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                strongly_connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            # A package importing its own submodules (and they the package) is not a cycle.
            if len(component) > 1 and not all(
                a.startswith(b + ".") or b.startswith(a + ".") or a == b
                for a in component
                for b in component
            ):
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            strongly_connect(module)
    assert cycles == []


def _says_why(lines, lineno):
    """A comment on the import's line, or above its block of imports."""
    if "#" in lines[lineno - 1]:
        return True
    above = lineno - 2
    while above >= 0 and (not lines[above].strip() or lines[above].lstrip().startswith(IMPORT)):
        above -= 1
    return above >= 0 and lines[above].lstrip().startswith("#")


IMPORT = ("from ", "import ")


def test_every_deferred_import_says_why():
    """An import inside a function carries its reason (a comment on it or above its block)."""
    silent = []
    for module, (path, _pkg) in MODULES.items():
        lines = path.read_text().splitlines()
        for _target, lineno in _imports(module)[1]:
            if not _says_why(lines, lineno):
                silent.append(f"{path.relative_to(ROOT)}:{lineno}: {lines[lineno - 1].strip()}")
    assert silent == []
