"""Checkpoints: atomic .npz without pickle, bit-for-bit round trips, and clear failures."""

from __future__ import annotations

import os
import stat
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
