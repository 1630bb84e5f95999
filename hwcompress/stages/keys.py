"""What a cached result depends on besides the flow's plain values: the files the flow names, and the code.

One mechanism for every cache (each stage of a run, an exploration's study and its estimates):

- the values read of the flow (``config_reads``), where a value that names a file (a board, a folding config, a
  dataset) counts by the file's contents, not by its path (``FileContents``): editing a board file reruns what
  read it, moving a dataset reruns nothing, and workers on two machines agree;
- the code that ran (``code_identity``): each hwcompress module it reaches through its imports, by a hash of the
  source, the version of every library those modules import, and of every tool they run from a Python
  distribution (a console script such as Yosys's), which such a module names in ``TOOL_DISTRIBUTIONS``.

Example:
    >>> reads = ConfigReads(flow, FileContents(SearchPath()))
    >>> reads.view().board
    'pynq-z2'
    >>> reads.values()
    {'board': {'file': 'pynq-z2.yaml', 'sha256': '3f1c...'}}
"""

from __future__ import annotations

import ast
import hashlib
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from hwcompress.boards import board_file
from hwcompress.config import FlowConfig
from hwcompress.data import SearchPath, dataset_files

PACKAGE = Path(__file__).resolve().parent.parent
#: Modules whose changes change no result: the runner's own machinery and the foundation (a changed default
#: shows up as a changed value).
NOT_RESULTS = (
    "hwcompress.stages.runner",
    "hwcompress.stages.context",
    "hwcompress.stages.config_reads",
    "hwcompress.stages.manifest",
    "hwcompress.stages.artifacts",
    "hwcompress.stages.keys",
    "hwcompress.stages.table",
    "hwcompress.stages.backend",
    "hwcompress.config",
    "hwcompress.fileio",
    "hwcompress.errors",
    "hwcompress.progress",
    "hwcompress.version",
    "hwcompress.tools",
    "hwcompress.boards",
)
NOT_RESULT_PACKAGES = ("hwcompress", "hwcompress.stages")
#: The module-level tuple in which a module names the distributions whose tools it runs.
TOOL_DISTRIBUTIONS = "TOOL_DISTRIBUTIONS"


class FileContents:
    """Records of the files a flow's values name: each file's name and sha256 (read once per size and mtime)."""

    FIELDS = ("board", "compile.folding_config", "data.path")

    def __init__(self, search: SearchPath | None = None) -> None:
        self.search = search or SearchPath()

    def record(self, field: str, flow: FlowConfig) -> Any:
        """What ``field`` of ``flow`` stands for: the contents of the file(s) it names."""
        if field == "board":
            return _file_record(board_file(flow.board))
        if field == "compile.folding_config":
            path = flow.compile.folding_config
            return None if path is None else _file_record(path)
        return {path.name: _sha256(path) for path in dataset_files(flow.data, self.search)}


def _file_record(path: Path) -> dict[str, str]:
    return {"file": path.name, "sha256": _sha256(path) if path.is_file() else "missing"}


def _sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_of(path.resolve(), stat.st_size, stat.st_mtime_ns)


@cache
def _sha256_of(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def code_identity(module: str) -> dict[str, str]:
    """The code a stage in ``module`` runs: each hwcompress module its imports reach (but the runner's machinery),
    ``path: sha256[:16]`` of its source, and ``distribution: version`` of each library those modules import and
    each tool they run."""
    sources, libraries, tools = _reached(module)
    identity = {
        str(path.relative_to(PACKAGE.parent)): hashlib.sha256(path.read_bytes()).hexdigest()[:16] for path in sources
    }
    distributions = metadata.packages_distributions()
    names = {name for top in libraries for name in distributions.get(top, [])} | tools
    for name in sorted(names):
        identity[name] = _version(name)
    return identity


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _reached(start: str) -> tuple[list[Path], set[str], set[str]]:
    """The source files of the hwcompress modules reachable from ``start`` through their imports (at any depth
    of the code: a function's own imports count), the top-level names of the libraries they import, and the
    distributions of the tools they run."""
    seen, libraries, tools, todo = set(), set(), set(), [start]
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if path is None or name in seen:
            continue
        seen.add(name)
        tree = ast.parse(path.read_text())
        tools |= _tool_distributions(tree)
        for imported in _imports(tree, path, name):
            top = imported.split(".")[0]
            if top == "hwcompress":
                candidates = [imported]
                parent = imported.rpartition(".")[0]
                if _module_path(imported) is None and parent:
                    candidates = [parent]  # ``from package import name``: name is not a module
                todo += [c for c in candidates if c not in NOT_RESULTS and c not in NOT_RESULT_PACKAGES]
            elif top not in sys.stdlib_module_names and top != "__future__":
                libraries.add(top)
    return sorted(_module_path(name) for name in seen), libraries, tools


def _module_path(name: str) -> Path | None:
    relative = Path(*name.split("."))
    for path in (PACKAGE.parent / relative.with_suffix(".py"), PACKAGE.parent / relative / "__init__.py"):
        if path.is_file():
            return path
    return None


def _tool_distributions(tree: ast.Module) -> set[str]:
    """The strings of a module-level ``TOOL_DISTRIBUTIONS = (...)``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == TOOL_DISTRIBUTIONS for t in node.targets):
            return {element.value for element in ast.walk(node.value) if isinstance(element, ast.Constant)}
    return set()


def _imports(tree: ast.Module, path: Path, name: str) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts as a.b, which may name a module or not)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found
