"""The pipeline's import layers (docs/architecture.md): no stage imports a later one,
and the pure stages import no I/O library.

Read from the source (every ``import`` the modules hold, those inside functions too;
those under ``if TYPE_CHECKING:`` are annotations only, not imports at run time), so
a lazy import of a later stage fails here as a top-level one would.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconcile"

#: the layers, earliest first: a module may import its own layer's and earlier ones'.
#: The pipeline's stages in run order (reconcile/result.py STAGES), between what they
#: all share and what sequences them. A module is placed by its longest listed prefix.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shared", ("reconcile", "reconcile.model", "reconcile.money", "reconcile.errors",
                "reconcile.findings", "reconcile.textsafe", "reconcile.interrupts",
                "reconcile.paths", "reconcile.sheets", "reconcile.inputfiles",
                "reconcile.result")),
    ("rules", ("reconcile.rulebook",)),
    ("read", ("reconcile.read", "reconcile.scope")),
    ("evaluate", ("reconcile.rulebook.evaluate", "reconcile.rulebook.engine",
                  "reconcile.rulebook.facts")),
    ("calculate", ("reconcile.calculate",)),
    ("compare", ("reconcile.compare", "reconcile.coverage")),
    ("split", ("reconcile.split",)),
    ("history", ("reconcile.history",)),
    ("report", ("reconcile.report", "reconcile.statement_sheet", "reconcile.providers",
                "reconcile.remittance", "reconcile.explain")),
    ("json", ("reconcile.jsonout",)),
    ("write", ("reconcile.write", "reconcile.fastrows", "reconcile.xlsxzip", "reconcile.continuation",
               "reconcile.outputs", "reconcile.templates", "reconcile.contract_import")),
    ("sequence", ("reconcile.pipeline", "reconcile.options", "reconcile.demo")),
    ("entry", ("reconcile.history.commands", "reconcile.cli", "reconcile.serve",
               "reconcile.entry", "reconcile.__main__")),
)

#: the stages that compute on values only: no file format, rule engine or command line
PURE = ("evaluate", "calculate", "compare", "split", "report", "json")
IO_LIBRARIES = ("openpyxl", "xlsxwriter", "python_calamine", "durable", "durable_rules_engine",
                "click")
#: the modules each I/O library may be imported by (the rule engine's adapter within
#: the evaluate stage included); openpyxl by none (the tests read workbooks back with it)
IO_IMPORTERS = {
    "xlsxwriter": ("reconcile.write", "reconcile.fastrows", "reconcile.templates"),
    "python_calamine": ("reconcile.read.xlsx",),
    "durable": ("reconcile.rulebook.engine",),
    "durable_rules_engine": ("reconcile.rulebook.engine",),
    "click": ("reconcile.cli", "reconcile.history.commands"),
}


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (annotations only)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(child) for branch in node.body for child in ast.walk(branch))
    return hidden


def imports(path: Path, name: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import the file makes at run time.

    ``from reconcile.a import b`` names ``reconcile.a.b`` (a module or a name in
    ``reconcile.a``: :func:`layer_of` places both by prefix)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    hidden = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def layer_of(module: str) -> int | None:
    """The index in :data:`LAYERS` of the longest prefix naming ``module``."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def _within(module: str, owners: tuple[str, ...]) -> bool:
    return any(module == owner or module.startswith(owner + ".") for owner in owners)


def violations(package: Path) -> list[str]:
    """Every import that breaks the layers, as ``file:line: what``."""
    problems: list[str] = []
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        layer = layer_of(name)
        where = path.relative_to(package.parent)
        if layer is None or (layer == 0 and name != "reconcile" and
                             name not in LAYERS[0][1]):
            problems.append(f"{where}: {name} has no layer: add it to LAYERS in {__name__}")
            continue
        stage = LAYERS[layer][0]
        for line, imported in imports(path, name):
            top = imported.split(".")[0]
            if top == "reconcile":
                if imported in ("reconcile.__version__", "reconcile.__name__"):
                    continue
                target = layer_of(imported)
                if target is not None and target > layer:
                    problems.append(f"{where}:{line}: {stage} stage ({name}) imports "
                                    f"{imported}, of the later {LAYERS[target][0]} stage")
            elif top in IO_LIBRARIES and not _within(name, IO_IMPORTERS.get(top, ())):
                if stage in PURE:
                    problems.append(f"{where}:{line}: the pure {stage} stage ({name}) "
                                    f"imports {top}")
                else:
                    problems.append(f"{where}:{line}: {name} imports {top}, which only "
                                    f"{', '.join(IO_IMPORTERS.get(top, ())) or 'the tests'}"
                                    " may")
    return problems


#: import cycles still there (through imports inside functions); may only shrink
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports at run time (a name imported from a
    module counts as that module; a submodule imported from a package as the submodule)."""
    names = {module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        for _line, imported in imports(path, name):
            target = imported
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.add(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_new_import_cycle_and_no_known_one_gone_unnoticed() -> None:
    found = cycles(import_graph(PACKAGE))
    assert found - KNOWN_CYCLES == set(), "new import cycles"
    assert KNOWN_CYCLES - found == set(), "these cycles are gone: take them off KNOWN_CYCLES"


def test_the_cycle_check_finds_a_cycle_through_a_lazy_import(tmp_path: Path) -> None:
    package = _package(tmp_path, {
        "__init__.py": "", "read/__init__.py": "",
        "read/guard.py": "def f():\n    from reconcile.read.xlsx import stream\n",
        "read/xlsx.py": "from reconcile.read.guard import check\n",
        "read/values.py": "", "read/convert.py": "from reconcile.read import values\n"})
    assert cycles(import_graph(package)) == {frozenset({"reconcile.read.guard",
                                                        "reconcile.read.xlsx"})}


def test_no_stage_imports_a_later_one_nor_a_pure_stage_an_io_library() -> None:
    assert violations(PACKAGE) == []


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "reconcile"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


@pytest.mark.parametrize(("files", "expected"), [
    # the calculation importing the comparison (a later stage), even inside a function
    ({"__init__.py": "", "calculate/__init__.py": "def f():\n    from reconcile import compare\n",
      "compare.py": ""},
     ["reconcile/calculate/__init__.py:2: calculate stage (reconcile.calculate) imports "
      "reconcile.compare, of the later compare stage"]),
    # relative imports are resolved: reconcile.read.x importing reconcile.jsonout
    ({"__init__.py": "", "read/__init__.py": "", "read/x.py": "from .. import jsonout\n",
      "jsonout.py": ""},
     ["reconcile/read/x.py:1: read stage (reconcile.read.x) imports reconcile.jsonout, "
      "of the later json stage"]),
    # a pure stage importing an I/O library
    ({"__init__.py": "", "compare.py": "import openpyxl\n",
      "split.py": "from click import echo\n"},
     ["reconcile/compare.py:1: the pure compare stage (reconcile.compare) imports openpyxl",
      "reconcile/split.py:1: the pure split stage (reconcile.split) imports click"]),
    # durable outside the engine's adapter
    ({"__init__.py": "", "rulebook/__init__.py": "", "rulebook/load.py": "import durable.lang\n"},
     ["reconcile/rulebook/load.py:1: reconcile.rulebook.load imports durable, which only "
      "reconcile.rulebook.engine may"]),
    # a new top-level module must be given its layer
    ({"__init__.py": "", "newthing.py": ""},
     ["reconcile/newthing.py: reconcile.newthing has no layer: add it to LAYERS in "
      f"{__name__}"]),
    # what is allowed: an earlier stage, annotations only, the engine's durable
    ({"__init__.py": "", "compare.py": "from reconcile.calculate import x\n",
      "calculate/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                               "    from reconcile.compare import Comparison\n",
      "rulebook/__init__.py": "", "rulebook/engine.py": "import durable.engine\n"}, []),
])
def test_the_check_finds_each_kind_of_wrong_import(tmp_path: Path, files: dict[str, str],
                                                     expected: list[str]) -> None:
    assert violations(_package(tmp_path, files)) == expected


def test_every_io_library_is_a_real_module_name() -> None:
    # a misspelt library name would make the check pass vacuously
    names = set(sys.stdlib_module_names)
    assert not names & set(IO_LIBRARIES)
    assert set(IO_IMPORTERS) <= set(IO_LIBRARIES)
