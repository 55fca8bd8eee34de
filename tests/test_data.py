"""Datasets: the embedded digits, and the IDX reader on files the tests write themselves."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from tinyae import data


def _write_idx(path: Path, array: np.ndarray, *, compress=True, magic=None):
    header = magic if magic is not None else struct.pack(">HBB", 0, 0x08, array.ndim)
    raw = header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def _fake_mnist(root: Path, n_train=30, n_test=10, size=28):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, size, size)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, size, size)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test),
    }
    for name, array in arrays.items():
        _write_idx(root / name, array)
    return arrays


# The first test labels of the split as first recorded: a regression pin, so that a change of the
# split (say, a new NumPy random stream) is noticed rather than silently reshuffling every result.
PINNED_DIGITS_TEST_LABELS = [6, 6, 6, 2, 5, 6, 6, 2, 2, 1]


def test_digits_are_embedded_scaled_and_split_deterministically():
    d = data.load_digits()
    assert d.image_shape == (1, 8, 8) and d.n_features == 64
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (1197, 300, 300)
    assert d.x_train.dtype == np.float32 and d.x_train.min() == 0 and d.x_train.max() == 1
    # the split is a fixed permutation (seed 0): pinned here so a change to it cannot go unnoticed
    assert d.y_test[:10].tolist() == PINNED_DIGITS_TEST_LABELS
    assert set(np.unique(d.y_train)) == set(range(10)) and d.flat("test").shape == (300, 64)


def test_read_idx_valid_plain_and_gzipped(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for compress in (True, False):
        path = _write_idx(tmp_path / ("a.gz" if compress else "a"), array, compress=compress)
        np.testing.assert_array_equal(data.read_idx(path, 3), array)


def test_read_idx_wrong_magic(tmp_path):
    path = _write_idx(tmp_path / "bad.gz", np.zeros((2, 2)), magic=b"\x00\x00\x0d\x02")
    with pytest.raises(data.IDXError, match="bad magic number 0x00000d02"):
        data.read_idx(path)


def test_read_idx_truncated(tmp_path):
    path = _write_idx(tmp_path / "t", np.zeros((5, 4, 4)), compress=False)
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(data.IDXError, match=r"promises 80 bytes of data for shape \(5, 4, 4\), the file has 73"):
        data.read_idx(path)
    gz = _write_idx(tmp_path / "t.gz", np.zeros((5, 4, 4)))
    gz.write_bytes(gz.read_bytes()[:20])
    with pytest.raises(data.IDXError, match="cannot read the file"):
        data.read_idx(gz)


def test_read_idx_corrupt_gzip_and_missing_file(tmp_path):
    path = _write_idx(tmp_path / "c.gz", np.zeros((5, 4, 4)))
    raw = bytearray(path.read_bytes())
    raw[20:30] = b"\xff" * 10  # damage the deflate stream, keep the gzip header
    path.write_bytes(bytes(raw))
    # zlib may refuse the stream, or inflate it into a header whose size cannot be true: either says so
    with pytest.raises(data.IDXError, match="cannot read the file|truncated or corrupt"):
        data.read_idx(path)
    with pytest.raises(FileNotFoundError, match="no IDX file at"):
        data.read_idx(tmp_path / "absent.gz")


def test_read_idx_absurd_header_does_not_overflow(tmp_path):
    raw = struct.pack(">HBB", 0, 0x08, 4) + struct.pack(">4I", 65536, 65536, 65536, 65536)
    path = tmp_path / "huge"
    path.write_bytes(raw)
    with pytest.raises(data.IDXError, match="the header promises 18446744073709551616 bytes"):
        data.read_idx(path)


def test_read_idx_wrong_rank(tmp_path):
    path = _write_idx(tmp_path / "labels.gz", np.zeros(5))
    with pytest.raises(data.IDXError, match="expected 3 dimensions, the header says 1"):
        data.read_idx(path, 3)


def _gzip_bomb(path: Path, shape: tuple[int, ...], mib_of_zeros: int) -> Path:
    """A valid gzip: an IDX header for ``shape`` with its data, then ``mib_of_zeros`` MiB more zeros.

    Each MiB is deflated once after a full flush (which resets the dictionary), so the same bytes
    can be repeated: 200 MiB cost 0.2 MB and a fraction of a second to build, not 1.5 s of zlib.
    """
    idx = struct.pack(">HBB", 0, 0x08, len(shape)) + struct.pack(f">{len(shape)}I", *shape) + bytes(np.prod(shape))
    zeros = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the gzip framing is written here
    head = deflate.compress(idx) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(idx)
    for _ in range(mib_of_zeros):
        crc = zlib.crc32(zeros, crc)
    size = len(idx) + (mib_of_zeros << 20)
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # magic, deflate, no flags, no mtime, unknown OS
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    path.write_bytes(gzip_header + head + block * mib_of_zeros + deflate.flush() + trailer)
    return path


def test_read_idx_refuses_a_decompression_bomb_without_inflating_it(tmp_path):
    bomb = _gzip_bomb(tmp_path / "bomb.gz", (2, 3, 4), mib_of_zeros=200)
    assert bomb.stat().st_size < 300_000 and gzip.open(bomb).read(40)[:4] == b"\x00\x00\x08\x03"
    tracemalloc.start()
    try:
        with pytest.raises(data.IDXError, match=r"promises 24 bytes of data for shape \(2, 3, 4\), the file has "
                                                r"more than 24 \(truncated or corrupt\)"):
            data.read_idx(bomb, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the 200 MiB behind the header were never inflated


def test_read_idx_refuses_a_size_the_gzip_cannot_hold_before_reading(tmp_path):
    # 47 MB promised by a ~30-byte gzip: DEFLATE cannot inflate it that far (1032:1 at most)
    path = tmp_path / "liar.gz"
    path.write_bytes(gzip.compress(struct.pack(">HBBIII", 0, 0x08, 3, 60000, 28, 28)))
    with pytest.raises(data.IDXError, match=r"promises 47040000 bytes of data for shape \(60000, 28, 28\), more "
                                            r"than the \d+ compressed bytes can inflate to \(at most \d+;"):
        data.read_idx(path)


def test_read_idx_gzip_with_too_little_or_too_much_data(tmp_path):
    raw = _write_idx(tmp_path / "r", np.zeros((5, 4, 4)), compress=False).read_bytes()
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(data.IDXError, match=r"promises 80 bytes of data for shape \(5, 4, 4\), the file has 70 "):
        data.read_idx(path)
    path.write_bytes(gzip.compress(raw + b"tail"))
    with pytest.raises(data.IDXError, match=r"promises 80 bytes .*, the file has more than 80 "):
        data.read_idx(path)


def test_load_mnist_from_root_and_from_env(tmp_path, monkeypatch):
    arrays = _fake_mnist(tmp_path / "files")
    d = data.load_mnist(tmp_path / "files", n_val=5)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (25, 5, 10)
    assert d.x_train.shape[1:] == (1, 28, 28) and d.x_test.dtype == np.float32
    np.testing.assert_allclose(d.x_test[:, 0], arrays["t10k-images-idx3-ubyte.gz"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path))
    _fake_mnist(tmp_path / "mnist", n_train=12)
    assert len(data.load("mnist", n_val=2).x_train) == 10


def test_n_val_must_leave_a_training_image(tmp_path):
    _fake_mnist(tmp_path, n_train=20, size=4)
    for n_val in (5000, 20, -5):  # 5000 (the default) used to leave 0 training images, -5 to take 5
        with pytest.raises(ValueError, match=rf"load_mnist: n_val must be >= 0 and less than the number of training "
                                             rf"images.*got n_val={n_val} for 20 training images in "):
            data.load_mnist(tmp_path, n_val=n_val)
    d = data.load_mnist(tmp_path, n_val=19)
    assert (len(d.x_train), len(d.x_val)) == (1, 19)


def test_n_val_zero_keeps_every_image_for_training(tmp_path):
    _fake_mnist(tmp_path, n_train=20, size=4)
    d = data.load_fashion_mnist(tmp_path, n_val=0)
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (20, 0, 10)
    assert d.x_val.shape == (0, 1, 4, 4) and d.flat("val").shape == (0, 16) and d.y_val.shape == (0,)
    assert "val=0" in repr(d)


@pytest.mark.parametrize("n_val", [5.0, True, "5", None])
def test_n_val_must_be_an_integer(tmp_path, n_val):
    _fake_mnist(tmp_path, n_train=20, size=4)
    with pytest.raises(TypeError, match=r"load_fashion_mnist: n_val must be an integer, got "):
        data.load_fashion_mnist(tmp_path, n_val=n_val)
    assert len(data.load_fashion_mnist(tmp_path, n_val=np.int64(5)).x_val) == 5


def test_labels_outside_the_classes_are_refused(tmp_path):
    arrays = _fake_mnist(tmp_path, n_train=20, size=4)
    labels = arrays["train-labels-idx1-ubyte.gz"]
    labels[3] = 200
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(data.IDXError, match=r"train-labels-idx1-ubyte.gz: labels range over \[0, 200\], expected "
                                            r"\[0, 9\] \(one of 10 classes\)"):
        data.load_mnist(tmp_path, n_val=5)


def test_missing_files_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(data.DatasetUnavailable, match=r"(?s)mnist files not found\. Put train-images-idx3-ubyte.gz"
                                                      r".*nowhere/mnist.*cache/tinyae/mnist.*download=True"):
        data.load_mnist()


def test_mismatched_label_count(tmp_path):
    _fake_mnist(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(9))
    with pytest.raises(data.IDXError, match="10 test images but 9 labels"):
        data.load_mnist(tmp_path)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        data.load("cifar")


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (FASHION / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist_from_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # make sure it is the system copy that is found
    monkeypatch.delenv("TINYAE_DATA", raising=False)
    d = data.load_fashion_mnist()
    assert len(d.x_train) + len(d.x_val) == 60000 and len(d.x_test) == 10000
    assert d.image_shape == (1, 28, 28) and 0 <= d.x_train.min() and d.x_train.max() <= 1
    assert np.bincount(d.y_test).tolist() == [1000] * 10  # the test set is balanced
    assert d.class_names[9] == "Ankle boot"


# --------------------------------------------------------------------------- #
# The embedded 28x28 default
# --------------------------------------------------------------------------- #
def test_the_embedded_fashion_subset_is_28x28_balanced_and_split_deterministically():
    d = data.load()  # the default everywhere
    assert d.name == "fashion-mnist-small" and data.DEFAULT_DATASET == d.name
    assert d.image_shape == (1, 28, 28) and d.x_train.dtype == np.float32
    assert (len(d.x_train), len(d.x_val), len(d.x_test)) == (11000, 1000, 2000)
    assert 0 <= d.x_train.min() and d.x_train.max() == 1.0
    assert np.bincount(d.y_test).tolist() == [200] * 10
    assert np.bincount(np.concatenate([d.y_train, d.y_val])).tolist() == [1200] * 10
    assert d.class_names[0] == "T-shirt/top" and len(d.class_names) == 10
    again = data.load_fashion_mnist_small()
    np.testing.assert_array_equal(d.x_val, again.x_val)
    with pytest.raises(ValueError, match="n_val must be >= 0 and less than .*got n_val=12000 for 12000 training"):
        data.load_fashion_mnist_small(n_val=12000)
    with pytest.raises(TypeError, match=r"load_fashion_mnist_small: n_val must be an integer, got 500.0"):
        data.load_fashion_mnist_small(n_val=500.0)  # a raw "slice indices must be integers" before
    assert len(data.load_fashion_mnist_small(n_val=0).x_train) == 12000  # as load_mnist allows


def test_an_altered_embedded_file_is_refused(tmp_path, monkeypatch):
    with np.load(data._EMBEDDED) as f:
        arrays = {name: f[name].copy() for name in f.files}
    arrays["x_train"][0, 0, 0] ^= 1  # one bit of one pixel
    np.savez_compressed(tmp_path / "altered.npz", **arrays)
    monkeypatch.setattr(data, "_EMBEDDED", tmp_path / "altered.npz")
    with pytest.raises(data.DatasetUnavailable, match="not the file tinyae shipped"):
        data.load_fashion_mnist_small()
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setattr(data, "_EMBEDDED", tmp_path / "broken.npz")
    with pytest.raises(data.DatasetUnavailable, match="cannot be read"):
        data.load_fashion_mnist_small()


@pytest.mark.skipif(not (FASHION / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
def test_the_embedded_subset_is_rebuilt_exactly_from_the_real_files():
    """scripts/build_fashion_subset.py, run on Debian's files, gives the shipped arrays bit for bit."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_fashion_subset.py"
    spec = importlib.util.spec_from_file_location("build_fashion_subset", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.build(FASHION)
    assert data._arrays_sha256(rebuilt) == data._EMBEDDED_SHA256
    with np.load(data._EMBEDDED) as shipped:
        for name, array in rebuilt.items():
            np.testing.assert_array_equal(shipped[name], array)
