"""Where datasets are looked for, in order, and the error that says where to put them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hwcompress.errors import DatasetError


@dataclass(frozen=True)
class SearchPath:
    """Directories searched for a dataset, most specific first.

    Built by the CLI from the environment (``$HWCOMPRESS_DATA``, ``~/.cache/hwcompress``); the library
    itself reads no environment variables.
    """

    roots: tuple[Path, ...] = ()
    cache: Path = Path.home() / ".cache" / "hwcompress"
    system: Path = Path("/usr/share/datasets")

    @classmethod
    def default(cls, data_root: str | None = None, cache: str | None = None) -> SearchPath:
        roots = (Path(data_root),) if data_root else ()
        return cls(roots=roots, cache=Path(cache) if cache else cls.cache)

    def candidates(self, name: str, explicit: Path | None) -> list[Path]:
        """Directories to try for dataset ``name``, in order."""
        found = [explicit] if explicit else []
        found += [root / name for root in self.roots]
        found += [self.cache / name, self.system / name]
        return found


def locate(
    name: str,
    explicit: Path | None,
    search: SearchPath,
    has_files: Callable[[Path], bool],
) -> Path | None:
    """The first candidate directory for which ``has_files`` holds, or None."""
    for directory in search.candidates(name, explicit):
        if directory.is_dir() and has_files(directory):
            return directory
    return None


def missing_error(
    name: str, explicit: Path | None, search: SearchPath, needed: Sequence[str], download_tried: bool
) -> DatasetError:
    """One line: which files, where they may go, and how to point at them."""
    places = ", ".join(str(p) for p in search.candidates(name, explicit))
    tried = " and could not be downloaded" if download_tried else ""
    return DatasetError(
        f"dataset '{name}' not found{tried}: put {', '.join(needed)} in one of {places} "
        f"(or set data.path in the flow, or $HWCOMPRESS_DATA)"
    )
