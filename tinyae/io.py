"""Checkpoints: a model's parameters in a ``.npz`` file, written atomically, read without pickle.

The file holds one array per parameter, keyed by its dotted name (``"encoder.0.weight"``),
exactly ``model.state_dict()``. Saving writes a temporary file beside the target and
renames it over the target only once it is complete, so a crash never leaves a half-written
checkpoint; the temporary files of crashed saves are removed by the next save. Loading reads
every member's ``.npy`` header first and checks each declared size against the zip directory,
and each name and shape against the model, before any array data is read: a mismatched, corrupt
or oversized file is refused with :class:`CheckpointError` and leaves the model untouched.
"""

from __future__ import annotations

import math
import os
import re
import struct
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import bounded_read
from .module import Module

__all__ = ["CheckpointError", "load", "save"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or does not fit the model."""


# --------------------------------------------------------------------------- #
# Saving
# --------------------------------------------------------------------------- #
def save(model: Module, path: str | os.PathLike) -> Path:
    """Write ``model.state_dict()`` to ``path`` (a ``.npz``; the suffix is added if missing)."""
    path = _npz_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    _remove_orphans(path)
    # The writer's PID in the name lets a later save tell a crashed writer's file from a live one's.
    fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **state)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0600); give it a normal file's mode
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _npz_path(path: str | os.PathLike) -> Path:
    """``"model"`` and ``"model.npz"`` name the same checkpoint, for save and load alike."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


# A dead writer's file is left alone for a minute: a PID unknown here may be a live writer in another
# PID namespace (a container) sharing the directory, and a live writer keeps its file's mtime fresh.
_ORPHAN_GRACE_S = 60.0
# Without a usable PID (Windows, where os.kill(pid, 0) would send CTRL_C_EVENT; files of older
# versions, which had none), or when the PID has been reused, age decides: no save takes a day.
_ORPHAN_STALE_S = 24 * 3600.0


# What follows the target's prefix in a temporary file's name: "{pid}.{random}.tmp", or
# "{random}.tmp" from versions before the PID; {random} is mkstemp's 8 characters.
_TEMP_TAIL = re.compile(r"(?:(\d+)\.)?[a-z0-9_]{8}\.tmp")


def _remove_orphans(path: Path) -> None:
    """Remove the temporary files that crashed saves of ``path`` left (best effort, never raises).

    Only names that save itself makes for this target are touched: not the temporary files of
    another target in the same folder (".m.npz.b.npz..."), nor a file of a writer still alive."""
    prefix, now = _temp_prefix(path), time.time()
    try:
        with os.scandir(path.parent) as it:
            entries = [e for e in it if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        match = _TEMP_TAIL.fullmatch(entry.name[len(prefix) :])
        if match is None:
            continue
        pid = None if match[1] is None else int(match[1])
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if age > _ORPHAN_STALE_S or (age > _ORPHAN_GRACE_S and _writer_is_dead(pid)):
                os.unlink(entry.path)
        except OSError:
            continue  # gone already (another save cleaned it), or not ours to remove


def _writer_is_dead(pid: int | None) -> bool:
    """Whether no process ``pid`` runs here; False whenever that cannot be told."""
    if pid is None or os.name == "nt":
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: it exists, under another user
        return False
    return False


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #
# What zipfile, zlib and numpy's header parser raise on a damaged file: a flipped flag bit asks for
# a password (RuntimeError) or an unknown method (NotImplementedError), a flipped name byte may not
# decode (UnicodeDecodeError, a ValueError), a flipped size may not unpack (struct.error), a
# flipped header may parse to an unhashable dict key (TypeError). Not MemoryError: the size checks
# come before any allocation, so one would be a real shortage, not a corrupt file.
_CORRUPT = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, ValueError, KeyError,
            RuntimeError, OverflowError, TypeError)


@dataclass(frozen=True)
class _Member:
    """One array of the archive, as its zip entry and its ``.npy`` header describe it."""

    name: str
    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    data_offset: int  # bytes of .npy header before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: no overflow


def read(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint, by name, read fully (no pickle: object arrays are refused)."""
    return _read(_existing(path))


def load(model_or_path: Module | str | os.PathLike, path: str | os.PathLike | None = None) -> Any:
    """``load(model, path)``: load a checkpoint into ``model`` (checked first) and return the model.
    ``load(path)``: return the checkpoint's arrays as a dict."""
    if path is None:
        if isinstance(model_or_path, Module):
            raise TypeError("load(model, path): the path is missing")
        return read(model_or_path)
    model = model_or_path
    state = _read(_existing(path), fits=model)
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: {message}") from None
    return model


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists() and _npz_path(path).exists():
        path = _npz_path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return path


def _corrupt(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path} is not a readable tinyae checkpoint: {why}")


def _read(path: Path, fits: Module | None = None) -> dict[str, np.ndarray]:
    """Every header first, then (``fits``) the names and shapes against the model, then the data."""
    try:
        with open(path, "rb") as f:
            if f.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX:
                raise _corrupt(path, "it holds a single ndarray, not named arrays (a .npy file, not an .npz)")
        with zipfile.ZipFile(path) as archive:
            members = _members(archive, path)
            if fits is not None:
                _check_fits(fits, members, path)
            return {name: _read_array(archive, member, path) for name, member in members.items()}
    except CheckpointError:
        raise
    except _CORRUPT as exc:
        raise _corrupt(path, f"truncated or corrupt .npz: {type(exc).__name__}: {exc}") from None


# The zip's end record (no comment: np.savez writes none): signature, 4 disk/count fields, the
# directory's size and offset, the comment's length.
_END_RECORD = struct.Struct("<4s4H2LH")


def _listed_count(path: Path) -> int | None:
    """How many members the end record says the directory holds (None for zip64 or a comment)."""
    with open(path, "rb") as f:
        f.seek(-_END_RECORD.size, os.SEEK_END)
        signature, _, _, _, count, _, _, comment = _END_RECORD.unpack(f.read(_END_RECORD.size))
    return count if signature == b"PK\x05\x06" and comment == 0 and count != 0xFFFF else None


def _members(archive: zipfile.ZipFile, path: Path) -> dict[str, _Member]:
    infos = archive.infolist()
    # zipfile walks the directory by its byte size and never compares the count: a flipped length
    # field can end the walk early and drop an array without a word.
    listed = _listed_count(path)
    if listed is not None and listed != len(infos):
        raise _corrupt(path, f"its end record lists {listed} arrays, its directory holds {len(infos)}")
    # Members sharing compressed bytes (the overlapping-entries zip bomb) add up to more than the file.
    if sum(info.compress_size for info in infos) > path.stat().st_size:
        raise _corrupt(path, "its members' compressed sizes add up to more than the file")
    members: dict[str, _Member] = {}
    for info in infos:
        member = _read_header(archive, info, path)
        if member.name in members:
            raise _corrupt(path, f"it holds two arrays named {member.name!r}")
        members[member.name] = member
    return members


def _read_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> _Member:
    """Parse one member's .npy header; check it against the zip directory before any data is read."""
    _check_entry(info, path)
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise _corrupt(path, f"member {info.filename!r} is .npy format version {version}, expected 1.0 or 2.0")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(f)
        member = _Member(info.filename[: -len(".npy")], info, shape, dtype, fortran_order, f.tell())
    _check_declared_size(member, path)
    return member


def _check_entry(info: zipfile.ZipInfo, path: Path) -> None:
    """The zip directory's own claims: a .npy member, a method we read, a size its bytes can inflate to.

    Checked before the member is opened, so that even reading its header inflates no more than this."""
    what = f"member {info.filename!r}"
    if not info.filename.endswith(".npy"):
        raise _corrupt(path, f"{what} is not a .npy array")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _corrupt(path, f"{what} uses compression method {info.compress_type}, expected stored (0) "
                             "or deflated (8)")
    stored = info.compress_type == zipfile.ZIP_STORED
    bound = info.compress_size if stored else bounded_read.deflate_bound(info.compress_size)
    if info.file_size > bound:
        raise _corrupt(path, f"{what} claims {info.file_size} bytes, more than its {info.compress_size} "
                             f"{'stored' if stored else 'deflated'} bytes can hold (at most {bound}; corrupt)")


def _check_declared_size(member: _Member, path: Path) -> None:
    """The .npy header's claims: numbers, not objects, and exactly the bytes the zip directory holds."""
    what = f"member {member.info.filename!r}"
    if member.dtype.hasobject:
        raise _corrupt(path, f"{what} holds Python objects (dtype {member.dtype}), which only pickle can read; "
                             "a checkpoint holds numbers")
    if any(n < 0 for n in member.shape):
        raise _corrupt(path, f"{what} declares a negative dimension, shape {member.shape}")
    declared = member.data_offset + member.nbytes
    if member.info.file_size != declared:
        raise _corrupt(path, f"{what} declares shape {member.shape} of {member.dtype} ({declared} bytes with its "
                             f"header), the zip directory says {member.info.file_size} (truncated or corrupt)")


def _check_fits(model: Module, members: dict[str, _Member], path: Path) -> None:
    """Names, shapes and float dtypes against the model's parameters, from the headers alone."""
    try:
        model.check_state({name: (member.shape, member.dtype) for name, member in members.items()})
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: {exc.args[0]}") from None


def _read_array(archive: zipfile.ZipFile, member: _Member, path: Path) -> np.ndarray:
    """The member's data, read straight into its array (zipfile checks the CRC-32 at the end)."""
    array = bounded_read.allocate(member.shape, member.dtype, order="F" if member.fortran_order else "C")
    if array is None:
        raise _corrupt(path, f"member {member.info.filename!r} declares shape {member.shape} of {member.dtype} "
                             f"({member.nbytes} bytes), more than this machine can allocate")
    # The array's memory as bytes, in file order (a Fortran-order array's transpose is C-contiguous).
    raw = (array.T if member.fortran_order else array).reshape(-1).view(np.uint8)
    with archive.open(member.info) as f:
        f.read(member.data_offset)
        filled = bounded_read.read_into(f, raw)
        if filled != member.nbytes or f.read(1):
            seen = "more" if filled == member.nbytes else filled
            raise _corrupt(path, f"member {member.info.filename!r} holds {seen} bytes of data, its header "
                                 f"declares {member.nbytes} (truncated or corrupt)")
    return array
