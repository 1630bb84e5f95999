"""Atomic writes, directory swaps and content hashes: half-written files never replace good ones."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for binary writing; rename it over ``path`` on success.

    On an exception (or a kill) the old ``path`` stays as it was and the temporary file is removed
    (or, after a kill, left under a ``.tmp`` name that nothing reads). The file gets the permissions a plain
    ``open`` would give it (0666 less the umask), not the temporary file's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_UMASK)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as handle:
        handle.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def replace_directory(built: Path, final: Path, previous: Path | None = None) -> None:
    """Put the finished directory ``built`` in place of ``final``.

    The old ``final`` is moved to ``previous`` (replacing an older one there) or deleted when ``previous``
    is None. Each step is a rename: after a kill at any point, ``final`` is either the old directory or the
    new one, and ``restore_directory`` puts the old one back if the kill came between the two renames.
    """
    if final.exists():
        parked = previous or final.with_name(f".{final.name}.replaced")
        if parked.exists():
            shutil.rmtree(parked)
        parked.parent.mkdir(parents=True, exist_ok=True)
        os.replace(final, parked)
        os.replace(built, final)
        if previous is None:
            shutil.rmtree(parked)
    else:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, final)


def restore_directory(final: Path, previous: Path | None = None) -> None:
    """Undo a ``replace_directory`` that a kill stopped between its renames (``final`` missing, old one parked)."""
    parked = previous or final.with_name(f".{final.name}.replaced")
    if not final.exists() and parked.exists():
        os.replace(parked, final)
    elif previous is None and parked.exists():
        shutil.rmtree(parked)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_json(obj: Any) -> str:
    """The hex SHA-256 of ``obj``'s canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_onnx(model: Any, path: str | os.PathLike[str]) -> None:
    """Save an ONNX ModelWrapper (or ModelProto) atomically."""
    proto = getattr(model, "model", model)
    write_bytes(path, proto.SerializeToString())


def write_npy(path: str | os.PathLike[str], array: Any) -> None:
    """Save a NumPy array atomically."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array)
    write_bytes(path, buffer.getvalue())


def write_torch(path: str | os.PathLike[str], obj: Any) -> None:
    """Save a PyTorch object (a state dict) atomically."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())
