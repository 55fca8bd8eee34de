"""Checkpoints: atomic .npz without pickle, bit-for-bit round trips, and clear failures."""

from __future__ import annotations

import io
import os
import stat
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinyae as ae


def _model(seed=0):
    ae.seed(seed)
    return ae.mlp_vae([6, 5], 2)


def test_round_trip_is_bit_for_bit(tmp_path, backend_name):
    model = _model(0)
    path = ae.save(model, tmp_path / "vae")
    assert path.name == "vae.npz" and path.exists()
    other = _model(1)
    assert ae.load(other, path) is other
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    assert ae.backend.backend_of(other.parameters()[0].data) == backend_name
    assert list(ae.load(path)) == [name for name, _ in model.named_parameters()]


def test_file_is_a_plain_npz_without_pickles(tmp_path):
    path = ae.save(_model(), tmp_path / "m.npz")
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as data:
        assert "encoder.0.weight" in data.files


def test_save_is_atomic(tmp_path, monkeypatch):
    path = ae.save(_model(0), tmp_path / "m.npz")
    original = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        ae.save(_model(1), path)
    assert path.read_bytes() == original  # the old checkpoint is intact
    assert os.listdir(tmp_path) == ["m.npz"]  # and no temporary file is left behind


def test_wrong_architecture_names_the_parameter_and_loads_nothing(tmp_path):
    path = ae.save(ae.mlp_vae([6, 5], 2), tmp_path / "m.npz")
    other = ae.mlp_vae([6, 4], 2)
    before = other.state_dict()
    with pytest.raises(ae.CheckpointError, match=r"does not fit VAE.*'encoder.0.weight' expected shape \(6, 4\), "
                                                 r"got \(6, 5\)"):
        ae.load(other, path)
    for name, value in other.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(ae.CheckpointError, match=r"keys do not match; missing \[.*\], unexpected"):
        ae.load(ae.mlp_autoencoder([6, 5, 3, 2]), path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_file_fails_clearly(tmp_path, damage):
    path = ae.save(_model(), tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a zip file" * 10, "empty": b""}[damage])
    model = _model(1)
    before = model.state_dict()
    with pytest.raises(ae.CheckpointError, match="not a readable tinyae checkpoint"):
        ae.load(model, path)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"encoder.0.weight": np.array([object()], dtype=object)})
    with pytest.raises(ae.CheckpointError, match="not a readable tinyae checkpoint"):
        ae.load(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        ae.load(_model(), "/nonexistent/m.npz")


def test_a_single_array_file_is_refused(tmp_path):
    path = tmp_path / "one.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))  # a .npy stream under an .npz name
    with pytest.raises(ae.CheckpointError, match="holds a single ndarray, not named arrays"):
        ae.load(path)


def test_save_and_load_name_the_same_file_and_it_is_not_private(tmp_path):
    model = _model(0)
    path = ae.save(model, tmp_path / "ckpt")
    loaded = ae.load(_model(1), tmp_path / "ckpt")  # "ckpt" finds ckpt.npz, as save named it
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        np.testing.assert_array_equal(ae.to_numpy(a), ae.to_numpy(b), err_msg=name)
    umask = os.umask(0)
    os.umask(umask)
    # the mode a new file gets under the umask, not mkstemp's private 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


# --------------------------------------------------------------------------- #
# Oversized and corrupt files: refused before allocating, and always as CheckpointError
# --------------------------------------------------------------------------- #
def _npy_header(shape, descr="<f4") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def _peak_bytes(call):
    """``call()``'s peak of traced allocations (NumPy reports its array buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("savez", [np.savez, np.savez_compressed])
def test_read_gives_back_what_numpy_wrote(tmp_path, savez):
    """read() parses the .npy headers itself now: every layout np.savez writes comes back as np.load gives it."""
    arrays = {"fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)), "big_endian": np.arange(5, dtype=">f4"),
              "scalar": np.array(2.5), "empty": np.zeros((0, 3), np.float32), "ints": np.arange(6, dtype=np.int16),
              "record": np.ones(2, dtype=[("a", "<f4"), ("b", "<i2")])}
    savez(tmp_path / "a.npz", **arrays)
    got = ae.load(tmp_path / "a.npz")
    assert list(got) == list(arrays)
    for name, array in arrays.items():
        assert got[name].dtype == array.dtype and got[name].shape == array.shape, name
        assert got[name].flags.f_contiguous == array.flags.f_contiguous and got[name].flags.writeable, name
        np.testing.assert_array_equal(got[name], array, err_msg=name)


def test_a_huge_declared_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:  # 1 GiB declared, 8 bytes present
        archive.writestr("weight.npy", _npy_header((2**28,)) + bytes(8))

    def refused():
        with pytest.raises(ae.CheckpointError, match=r"huge.npz is not a readable tinyae checkpoint: member "
                                                     r"'weight.npy' declares shape \(268435456,\) of float32 "
                                                     r"\(1073741952 bytes with its header\), the zip directory "
                                                     r"says 136 \(truncated or corrupt\)"):
            ae.load(path)

    assert _peak_bytes(refused) < 5_000_000


def test_a_directory_size_deflate_cannot_produce_is_refused(tmp_path):
    path = tmp_path / "lying.npz"
    np.savez_compressed(path, weight=np.zeros(4, np.float32))
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")  # the central directory entry: uncompressed size at offset 24
    raw[central + 24 : central + 28] = struct.pack("<I", 2**30)
    path.write_bytes(bytes(raw))  # before, zipfile read it happily: it stops at the stream's end
    with pytest.raises(ae.CheckpointError, match=r"member 'weight.npy' claims 1073741824 bytes, more than its "
                                                 r"\d+ deflated bytes can hold \(at most \d+; corrupt\)"):
        ae.load(path)


def test_load_checks_names_and_shapes_before_reading_any_data(tmp_path):
    # A valid checkpoint, 32 MiB of zeros in 150 KB, that is not this model's: refused unread.
    path, model = tmp_path / "other.npz", ae.Dense(4, 3)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("weight.npy", "w") as member:
            member.write(_npy_header((4096, 2048)))
            zeros = bytes(1 << 20)
            for _ in range(32):
                member.write(zeros)
        archive.writestr("bias.npy", _npy_header((3,)) + bytes(12))
    before = model.state_dict()

    def refused():
        with pytest.raises(ae.CheckpointError, match=r"other.npz does not fit Dense: parameter 'weight' expected "
                                                     r"shape \(4, 3\), got \(4096, 2048\)"):
            ae.load(model, path)

    assert _peak_bytes(refused) < 5_000_000
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_refuses_integer_parameters_before_reading(tmp_path):
    path = tmp_path / "ints.npz"
    np.savez(path, weight=np.zeros((4, 3), np.int64), bias=np.zeros(3, np.float32))
    with pytest.raises(ae.CheckpointError, match=r"does not fit Dense: parameter 'weight' expected floating-point "
                                                 r"values, got dtype int64"):
        ae.load(ae.Dense(4, 3), path)


def test_every_single_bit_flip_is_refused_or_harmless(tmp_path):
    """Each bit of a 530-byte checkpoint flipped in turn: a CheckpointError, or the very same arrays
    (a flip in a field zipfile does not read, such as a timestamp or the local header's CRC copy)."""
    ae.seed(0)
    path = ae.save(ae.Dense(2, 2), tmp_path / "small.npz")
    original, good = path.read_bytes(), ae.load(path)
    harmless = 0
    # The byte is flipped and restored in place: rewriting the whole file each time is 10x slower.
    with open(path, "r+b", buffering=0) as f:
        for bit in range(8 * len(original)):
            f.seek(bit // 8)
            f.write(bytes([original[bit // 8] ^ 1 << bit % 8]))
            try:
                got = ae.load(path)
            except ae.CheckpointError:
                got = None
            f.seek(bit // 8)
            f.write(original[bit // 8 : bit // 8 + 1])
            if got is not None:
                assert list(got) == list(good), bit
                for name, array in got.items():
                    assert array.dtype == good[name].dtype and array.shape == good[name].shape, (bit, name)
                    assert array.tobytes() == good[name].tobytes(), (bit, name)
                harmless += 1
    assert 0 < harmless < len(original) * 8 // 2


# --------------------------------------------------------------------------- #
# Temporary files of crashed saves
# --------------------------------------------------------------------------- #
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_save_removes_the_temporary_files_of_dead_writers_only(tmp_path):
    old = time.time() - 120  # past the one-minute grace given to an unknown writer
    dead, alive = _dead_pid(), os.getpid()
    names = {
        "dead": f".m.npz.{dead}.abcd1234.tmp",
        "alive": f".m.npz.{alive}.efgh5678.tmp",  # maybe another thread of ours saving right now
        "fresh_dead": f".m.npz.{dead}.ijkl9012.tmp",  # within the grace period
        "other_target": f".m.npz.b.npz.{dead}.mnop3456.tmp",  # b.npz's, not ours
        "legacy_stale": ".m.npz.qrst7890.tmp",  # an older version's, two days old
        "not_ours": ".m.npz.notes.txt",
    }
    for key, name in names.items():
        (tmp_path / name).write_bytes(b"partial")
        if key != "fresh_dead":
            when = time.time() - 2 * 86400 if key == "legacy_stale" else old
            os.utime(tmp_path / name, (when, when))
    model = _model(0)
    ae.save(model, tmp_path / "m.npz")
    left = set(os.listdir(tmp_path))
    assert left == {"m.npz"} | {names[k] for k in ("alive", "fresh_dead", "other_target", "not_ours")}
    assert list(ae.load(tmp_path / "m.npz")) == list(model.state_dict())


def test_a_save_killed_midway_leaves_an_orphan_the_next_save_removes(tmp_path):
    script = (
        "import sys, time, numpy as np, tinyae as ae\n"
        "def stall(f, **state):\n"
        "    f.write(b'partial')\n"
        "    f.flush()\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
        "np.savez = stall\n"
        f"ae.save(ae.Dense(2, 2), {str(tmp_path / 'm.npz')!r})\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "writing\n"
    finally:
        child.kill()  # SIGKILL: no except-clause runs, the temporary file stays
        child.wait()
    (orphan,) = os.listdir(tmp_path)
    assert orphan.startswith(f".m.npz.{child.pid}.") and orphan.endswith(".tmp")
    os.utime(tmp_path / orphan, (time.time() - 120, time.time() - 120))
    ae.save(ae.Dense(2, 2), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == ["m.npz"]
