"""The dependency rules of the layout (docs/architecture.md), checked on the source itself:

- nothing outside jobs/ imports jobs/ (lakeprep is the runtime everything shares);
- features/ and quality/ are pure: they import neither jobs/, nor each other, nor any module that
  does I/O (storage, lake tables, the session factory, lineage, SageMaker writers, AWS clients);
- no import cycle between modules, counting every import statement anywhere in a file (under
  ``TYPE_CHECKING`` and inside functions too), and ``from pkg import name`` as an import of
  ``pkg`` itself (its ``__init__`` runs) as well as of ``pkg.name`` when that is a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("lakeprep", "jobs", "features", "quality")
IO_MODULES = ("jobs", "lakeprep.storage", "lakeprep.lake", "lakeprep.runtime", "lakeprep.spark",
              "lakeprep.lineage", "lakeprep.sagemaker", "lakeprep.aws", "boto3", "botocore",
              "requests", "urllib.request", "pyarrow.fs", "shutil", "subprocess")


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (type-only and function-level too)."""
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return out


SOURCES = {_module(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}
IMPORTS = {m: _imports(p) for m, p in SOURCES.items()}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("package", ["lakeprep", "features", "quality"])
def test_only_jobs_imports_jobs(package):
    offenders = {m: sorted(i for i in imps if _within(i, "jobs"))
                 for m, imps in IMPORTS.items() if _within(m, package)}
    assert not {m: v for m, v in offenders.items() if v}


def test_lakeprep_imports_none_of_the_other_packages():
    offenders = {m: sorted(i for i in imps if any(_within(i, p) for p in PACKAGES[1:]))
                 for m, imps in IMPORTS.items() if _within(m, "lakeprep")}
    assert not {m: v for m, v in offenders.items() if v}


@pytest.mark.parametrize("package, other", [("features", "quality"), ("quality", "features")])
def test_features_and_quality_are_pure(package, other):
    offenders = {m: sorted(i for i in imps
                           if _within(i, other) or any(_within(i, io) for io in IO_MODULES))
                 for m, imps in IMPORTS.items() if _within(m, package)}
    assert not {m: v for m, v in offenders.items() if v}


def _resolve(name: str) -> str | None:
    """The project module an import names (``from a.b import c``: a.b.c if a module, else a.b)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in SOURCES:
            return candidate
    return None


def test_no_import_cycle():
    graph = {m: {t for i in imps if (t := _resolve(i)) is not None and t != m}
             for m, imps in IMPORTS.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append([*path[path.index(t):], t])
            elif t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles[:5]
