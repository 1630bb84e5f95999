"""A view of the flow that records what a stage reads: the stage's cache key is made of exactly that.

A stage never sees the ``FlowConfig`` itself, only a ``ConfigView`` of it. Reading a value through the view
(``flow.target.fps``) records its dotted path; a section handed on whole (``whole(flow.train)``) or a method
called on it records the whole section. The runner hashes the values at the recorded paths into the
stage's manifest, and on the next run evaluates the same paths on the new flow: a stage reruns exactly when
something it read has changed, and a branch it did not take (``granularity: 4`` never reads ``target``)
adds no dependency. A value that names a file counts by the file's contents (``keys.FileContents``).

Example:
    >>> reads = ConfigReads(flow)
    >>> view = reads.view()
    >>> view.prune.granularity
    'auto'
    >>> reads.values()
    {'prune.granularity': 'auto'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from hwcompress.fileio import sha256_json

if TYPE_CHECKING:
    from hwcompress.stages.keys import FileContents

#: Separates a recorded section from the fields left out of it: ``train!device,threads``.
EXCEPT = "!"


class ConfigView:
    """Read-only access to a config model that records every path read into ``reads``."""

    __slots__ = ("_model", "_path", "_reads")

    def __init__(self, model: BaseModel, path: str, reads: set[str]) -> None:
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_reads", reads)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._model, name)
        path = f"{self._path}.{name}" if self._path else name
        if isinstance(value, BaseModel):
            return ConfigView(value, path, self._reads)
        if callable(value):  # a method may read anything in its section
            self._reads.add(self._path)
            return value
        self._reads.add(path)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a stage's view of the flow is read-only")

    def __repr__(self) -> str:
        return f"ConfigView({self._path or 'flow'})"


def whole(view: ConfigView | BaseModel, ignore: tuple[str, ...] = ()) -> Any:
    """The config model behind ``view``, recorded as read in full (to hand a section to library code).

    Fields named in ``ignore`` are left out of the record: settings of how, not what, is computed (threads,
    device), whose change should neither rerun the stage nor orphan its checkpoint. The section is still
    recorded as one path (``train!device,threads``), so a field added to it later is part of the record.
    """
    if not isinstance(view, ConfigView):
        return view
    view._reads.add(f"{view._path}{EXCEPT}{','.join(sorted(ignore))}" if ignore else view._path)
    return view._model


class ConfigReads:
    """The paths of one config that a stage read, and their values (files by their contents, see ``files``)."""

    def __init__(self, config: BaseModel, files: FileContents | None = None) -> None:
        self.config = config
        self.files = files
        self.paths: set[str] = set()

    def view(self) -> ConfigView:
        return ConfigView(self.config, "", self.paths)

    def values(self) -> dict[str, Any]:
        """JSON values of the recorded paths; a path inside another recorded one is left out."""
        return values_at(self.config, self.paths, self.files)

    def digest(self) -> str:
        return sha256_json(self.values())


def values_at(config: BaseModel, paths: set[str] | list[str], files: FileContents | None = None) -> dict[str, Any]:
    """JSON values of ``paths`` in ``config`` (``""`` is the whole config); with ``files``, each value that names
    a file is its record of the file's contents instead.

    Raises:
        AttributeError: a path that ``config`` does not have (a field renamed since it was recorded).
    """
    kept = sorted(p for p in paths if not any(_inside(p, other) for other in paths if other != p))
    values = {}
    for path in kept:
        base, _, left_out = path.partition(EXCEPT)
        value: Any = config
        for part in filter(None, base.split(".")):
            value = getattr(value, part)
        value = to_jsonable_python(value)
        if left_out:
            value = {key: item for key, item in value.items() if key not in left_out.split(",")}
        for field in files.FIELDS if files is not None else ():
            value = _with_contents(value, base, field, files.record(field, config) if _names(base, field) else None)
        values[path] = value
    return values


def _names(base: str, field: str) -> bool:
    """Whether the value recorded at ``base`` holds ``field``."""
    return base == field or base == "" or field.startswith(base + ".")


def _with_contents(value: Any, base: str, field: str, contents: Any) -> Any:
    """``value`` (recorded at ``base``) with ``field`` in it replaced by ``contents`` (when ``base`` holds it)."""
    if not _names(base, field):
        return value
    if base == field:
        return contents
    keys = field[len(base) + 1 if base else 0 :].split(".")
    if not isinstance(value, dict):
        return value
    inner = value
    for key in keys[:-1]:
        inner = inner.get(key) if isinstance(inner, dict) else None
    if isinstance(inner, dict) and keys[-1] in inner:
        inner[keys[-1]] = contents
    return value


def display_path(path: str) -> str:
    """A recorded path as the flow spells it (without the fields left out)."""
    return path.partition(EXCEPT)[0]


def _inside(path: str, other: str) -> bool:
    """Whether ``other``'s record already holds ``path``."""
    base, _, left_out = other.partition(EXCEPT)
    path = display_path(path)
    if not left_out:
        return base == "" or path == base or path.startswith(base + ".")
    if not path.startswith(base + "." if base else ""):
        return False
    return path[len(base) + 1 if base else 0 :].split(".")[0] not in left_out.split(",")
