"""Datasets: the embedded default (a 28x28 Fashion-MNIST subset), the 8x8 digits, real MNIST / Fashion-MNIST.

Every loader returns a :class:`Dataset` of float32 images in [0, 1], shaped (N, 1, H, W),
with integer labels and a fixed train / validation / test split.

Ratings are not images: :func:`load_movielens` reads MovieLens' rating files (which the user
downloads: their licence forbids redistribution) into a users x items matrix, 0 for "not rated".
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import struct
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import bounded_read
from .validation import check_int

__all__ = ["DATASETS", "Dataset", "DatasetUnavailable", "IDXError", "RatingMatrix", "load", "load_digits",
           "load_fashion_mnist", "load_fashion_mnist_small", "load_mnist", "load_movielens", "read_idx"]


class DatasetUnavailable(FileNotFoundError):
    """The dataset's files are not on this machine (and were not, or could not be, downloaded)."""


class IDXError(ValueError):
    """An IDX file that is truncated, corrupt, or not the file it should be."""


@dataclass
class Dataset:
    """Images (N, 1, H, W) float32 in [0, 1] and integer labels, split three ways."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.image_shape))

    def flat(self, split: str) -> np.ndarray:
        """The images of ``split`` ("train", "val", "test") as (N, H * W) rows."""
        x = getattr(self, f"x_{split}")
        return x.reshape(x.shape[0], self.n_features)  # not -1, which NumPy cannot infer for 0 rows

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, image_shape={self.image_shape}, train={len(self.x_train)}, "
                f"val={len(self.x_val)}, test={len(self.x_test)})")


def _split(name, x, y, n_val, n_test, class_names, seed=0) -> Dataset:
    """A fixed permutation (seed 0), then test, validation and training slices."""
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    test, val = slice(0, n_test), slice(n_test, n_test + n_val)
    train = slice(n_test + n_val, None)
    return Dataset(name, x[train], y[train], x[val], y[val], x[test], y[test], class_names)


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images of 0-9): 1197 train, 300 validation, 300 test.

    Always available offline: the data ship inside scikit-learn. Pixels (0-16) scaled to [0, 1].
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise DatasetUnavailable(
            'the digits dataset ships with scikit-learn, which is not installed: pip install "tinyae[demos]"'
        ) from None
    bunch = sklearn_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    return _split("digits", x, bunch.target.astype(np.int64), 300, 300, tuple(str(d) for d in range(10)))


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")

_EMBEDDED = Path(__file__).parent / "embedded" / "fashion_mnist_small.npz"
# SHA-256 of the arrays (names, dtypes, shapes, bytes), as printed by scripts/build_fashion_subset.py.
_EMBEDDED_SHA256 = "b1685d46847f8d334b86b485e41e2cf2796e1aabfcd2f76fdc23077017f74dc7"


def _arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _from_uint8(name, images_train, labels_train, images_test, labels_test, n_val, class_names) -> Dataset:
    """uint8 images (N, H, W) and their labels as a Dataset: pixels / 255 in float32 (N, 1, H, W),
    and ``n_val`` training images held out for validation by a fixed permutation (seed 0)."""
    x_train = (images_train.astype(np.float32) / 255.0)[:, None]
    x_test = (images_test.astype(np.float32) / 255.0)[:, None]
    y_train, y_test = labels_train.astype(np.int64), labels_test.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x_train))
    val, train = order[:n_val], order[n_val:]
    return Dataset(name, x_train[train], y_train[train], x_train[val], y_train[val], x_test, y_test, class_names)


def _check_n_val(owner: str, n_val: int, n_train: int, where: str = "") -> None:
    """Hold out 0 to n_train - 1 images: one at least is left for training."""
    if not 0 <= n_val < n_train:
        raise ValueError(f"{owner}: n_val must be >= 0 and less than the number of training images, so that "
                         f"one at least is left for training; got n_val={n_val} for {n_train} training images{where}")


def load_fashion_mnist_small(n_val: int = 1000) -> Dataset:
    """The demos' default: 14,000 real 28x28 Fashion-MNIST images that ship inside tinyae (6 MB).

    1,200 training and 200 test images of each of the ten classes, drawn once from the real files by
    ``scripts/build_fashion_subset.py`` (Fashion-MNIST is MIT-licensed, (c) Zalando SE). Of the 12,000
    training images ``n_val`` (a fixed choice) are held out for validation: 11,000 / 1,000 / 2,000.
    """
    owner = "load_fashion_mnist_small"
    _check_n_val(owner, check_int(owner, "n_val", n_val), 12000)
    try:
        with np.load(_EMBEDDED, allow_pickle=False) as f:
            arrays = {name: f[name] for name in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DatasetUnavailable(f"the embedded dataset {_EMBEDDED} cannot be read ({exc}): reinstall tinyae") from None
    if _arrays_sha256(arrays) != _EMBEDDED_SHA256:
        raise DatasetUnavailable(f"the embedded dataset {_EMBEDDED} is not the file tinyae shipped (its SHA-256 "
                                 "differs): reinstall tinyae, or rebuild it with scripts/build_fashion_subset.py")
    return _from_uint8("fashion-mnist-small", arrays["x_train"], arrays["y_train"], arrays["x_test"],
                       arrays["y_test"], n_val, FASHION_CLASSES)


# --------------------------------------------------------------------------- #
# IDX files (the MNIST format)
# --------------------------------------------------------------------------- #
# Header: 2 zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
# then one big-endian uint32 per dimension; then the data, row-major.
_IDX_UBYTE = 0x08


def read_idx(path: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a uint8 array, validating its header and size.

    The header is read and its declared size checked before any data is read (against the file's
    size, or for a gzip against the most its bytes can inflate to), and no more than the declared
    size plus one byte is ever decompressed, so a corrupt header or a decompression bomb is refused
    without inflating it (:mod:`tinyae.bounded_read`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as f:
            shape = _read_idx_header(f, path, expected_ndim)
            size = math.prod(shape)  # Python ints: no overflow for absurd headers
            _check_idx_size(path, shape, size, compressed)
            data = bounded_read.allocate((size,), np.uint8)
            if data is None:
                raise IDXError(f"{path}: the header promises {size} bytes of data for shape {shape}, more than "
                               "this machine can allocate")
            filled = bounded_read.read_into(f, data)
            trailing = f.read(1)  # one byte past the declared end is enough to tell, however much follows
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise IDXError(f"{path}: cannot read the file (truncated or not gzip?): {exc}") from None
    if filled != size or trailing:
        seen = f"more than {size}" if trailing else filled
        raise IDXError(f"{path}: the header promises {size} bytes of data for shape {shape}, the file has "
                       f"{seen} (truncated or corrupt)")
    return data.reshape(shape)


def _read_idx_header(f, path: Path, expected_ndim: int | None) -> tuple[int, ...]:
    """The shape in the header (magic, then one big-endian uint32 per dimension)."""
    magic = f.read(4)
    if len(magic) < 4:
        raise IDXError(f"{path}: too short for an IDX header ({len(magic)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", magic)
    if zero != 0 or dtype_code != _IDX_UBYTE:
        raise IDXError(
            f"{path}: bad magic number 0x{magic.hex()}: expected 0x0000 08 0N (unsigned bytes, N dimensions)"
        )
    if expected_ndim is not None and ndim != expected_ndim:
        raise IDXError(f"{path}: expected {expected_ndim} dimensions, the header says {ndim}")
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise IDXError(f"{path}: truncated header")
    return struct.unpack(f">{ndim}I", dims)


def _check_idx_size(path: Path, shape: tuple[int, ...], size: int, compressed: bool) -> None:
    """Refuse a declared size the file cannot hold, before any data is read."""
    stored = path.stat().st_size
    header = 4 + 4 * len(shape)
    if not compressed:
        if stored - header != size:
            raise IDXError(f"{path}: the header promises {size} bytes of data for shape {shape}, the file has "
                           f"{stored - header} (truncated or corrupt)")
        return
    bound = bounded_read.deflate_bound(stored)
    if header + size > bound:
        raise IDXError(f"{path}: the header promises {size} bytes of data for shape {shape}, more than the "
                       f"{stored} compressed bytes can inflate to (at most {bound}; truncated or corrupt)")


_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# Well-known mirrors and the SHA-256 of each file as served there (the values torchvision,
# tensorflow-datasets and others pin); checked on download only. Debian's fashion-mnist package
# re-compresses the files, so its .gz bytes differ; their contents are validated by read_idx.
_SOURCES = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        "sha256": {
            "train_images": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train_labels": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "test_images": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "test_labels": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        "system_dirs": [],
        "class_names": tuple(str(d) for d in range(10)),
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "sha256": {
            "train_images": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train_labels": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "test_images": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "test_labels": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],  # Debian: apt-get install dataset-fashion-mnist
        "class_names": FASHION_CLASSES,
    },
}


def cache_dir() -> Path:
    """Where downloads go: $XDG_CACHE_HOME/tinyae (default ~/.cache/tinyae)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinyae"


def _candidate_dirs(name: str, root: str | os.PathLike | None) -> list[Path]:
    """The search order: an explicit root, $TINYAE_DATA, the cache, then system locations."""
    dirs = []
    if root is not None:
        dirs += [Path(root), Path(root) / name]
    if os.environ.get("TINYAE_DATA"):
        dirs += [Path(os.environ["TINYAE_DATA"]) / name, Path(os.environ["TINYAE_DATA"])]
    dirs.append(cache_dir() / name)
    dirs += [Path(d) for d in _SOURCES[name]["system_dirs"]]
    return dirs


def _find(name: str, root) -> Path | None:
    for d in _candidate_dirs(name, root):
        if all((d / f).is_file() for f in _FILES.values()):
            return d
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(name: str) -> Path:
    """Fetch the four files into the cache, verifying SHA-256, each written atomically."""
    from tqdm.auto import tqdm

    target = cache_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    source = _SOURCES[name]
    for key, filename in _FILES.items():
        path = target / filename
        if path.is_file() and _sha256(path) == source["sha256"][key]:
            continue
        errors = []
        for mirror in source["mirrors"]:
            fd, tmp = tempfile.mkstemp(dir=target, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(mirror + filename, timeout=30) as response:
                    total = int(response.headers.get("Content-Length") or 0) or None
                    with tqdm(total=total, unit="B", unit_scale=True, desc=filename, leave=False) as bar:
                        for chunk in iter(lambda: response.read(1 << 16), b""):
                            out.write(chunk)
                            bar.update(len(chunk))
                if _sha256(Path(tmp)) != source["sha256"][key]:
                    raise IDXError(f"SHA-256 mismatch for {mirror + filename}")
                shutil.move(tmp, path)
                break
            except Exception as exc:  # try the next mirror
                errors.append(f"{mirror}: {exc}")
                Path(tmp).unlink(missing_ok=True)
        else:
            raise DatasetUnavailable(f"could not download {filename}: " + "; ".join(errors))
    return target


def _load_idx_dataset(name: str, root, download: bool, n_val: int) -> Dataset:
    owner = f"load_{name.replace('-', '_')}"
    check_int(owner, "n_val", n_val)  # the type first: no point reading 60,000 images for n_val=0.5
    where = _find(name, root)
    if where is None and download:
        where = _download(name)
    if where is None:
        searched = "\n  ".join(str(d) for d in _candidate_dirs(name, root))
        hint = " or apt-get install dataset-fashion-mnist" if name == "fashion-mnist" else ""
        raise DatasetUnavailable(
            f"{name} files not found. Put {', '.join(_FILES.values())} in one of:\n  {searched}\n"
            f"(or set TINYAE_DATA, pass root=..., use download=True where there is a network{hint})"
        )
    class_names = _SOURCES[name]["class_names"]
    images = {s: read_idx(where / _FILES[f"{s}_images"], 3) for s in ("train", "test")}
    labels = {s: read_idx(where / _FILES[f"{s}_labels"], 1) for s in ("train", "test")}
    for s in ("train", "test"):
        if len(images[s]) != len(labels[s]):
            raise IDXError(f"{where}: {len(images[s])} {s} images but {len(labels[s])} labels")
        _check_labels(where / _FILES[f"{s}_labels"], labels[s], len(class_names))
    _check_n_val(owner, n_val, len(images["train"]), f" in {where}")
    return _from_uint8(name, images["train"], labels["train"], images["test"], labels["test"], n_val, class_names)


def _check_labels(path: Path, labels: np.ndarray, n_classes: int) -> None:
    if len(labels) and labels.max() >= n_classes:  # uint8: never below 0
        raise IDXError(f"{path}: labels range over [{labels.min()}, {labels.max()}], expected [0, {n_classes - 1}] "
                       f"(one of {n_classes} classes)")


def load_mnist(root: str | os.PathLike | None = None, *, download: bool = False, n_val: int = 5000) -> Dataset:
    """MNIST from IDX files: 60000 training images (less ``n_val`` for validation) and 10000 test.

    Looks in ``root``, ``$TINYAE_DATA``, and the cache (:func:`cache_dir`); with ``download=True``
    fetches missing files from the well-known mirrors (SHA-256 checked). Offline and absent:
    :class:`DatasetUnavailable` says where to put the files.

    ``n_val`` is an integer from 0 to one less than the number of training images. ``n_val=0``
    trains on every image: ``x_val`` is then empty, so call ``fit`` without ``x_val``.
    """
    return _load_idx_dataset("mnist", root, download, n_val)


def load_fashion_mnist(root: str | os.PathLike | None = None, *, download: bool = False,
                       n_val: int = 5000) -> Dataset:
    """Fashion-MNIST, as :func:`load_mnist` (``n_val`` alike); also found where Debian's
    ``dataset-fashion-mnist`` package puts it (/usr/share/datasets/fashion-mnist)."""
    return _load_idx_dataset("fashion-mnist", root, download, n_val)


DEFAULT_DATASET = "fashion-mnist-small"
DATASETS = {"fashion-mnist-small": load_fashion_mnist_small, "digits": load_digits, "mnist": load_mnist,
            "fashion-mnist": load_fashion_mnist}


def load(name: str = DEFAULT_DATASET, **kw) -> Dataset:
    """A dataset by name: "fashion-mnist-small" (the embedded default), "digits" (8x8, quick), "mnist" or
    "fashion-mnist" (the full sets, from IDX files)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    return DATASETS[name](**kw)


# --------------------------------------------------------------------------- #
# MovieLens ratings (not images): a users x items matrix, 0 = not rated
# --------------------------------------------------------------------------- #
MOVIELENS_URL = "https://grouplens.org/datasets/movielens/"
# The file names, as in the GroupLens archives: ml-100k's u.data (tab-separated), ml-1m's and ml-10m's
# ratings.dat ("::"), ml-latest(-small)'s and ml-25m's ratings.csv (a header line, then commas).
MOVIELENS_FILES = ("u.data", "ratings.dat", "ratings.csv")
# MovieLens' scales: whole stars 1-5 (100k, 1m) or half stars 0.5-5 (10m, latest). 0 is the matrix's
# "not rated", so a rating of 0 cannot be stored and is refused.
MOVIELENS_RANGE = (0.5, 5.0)


class RatingMatrix(NamedTuple):
    """A rating matrix and its id maps: ``ratings[u, i]`` is user ``user_ids[u]``'s rating of item
    ``item_ids[i]``, 0 where not rated. ``user_ids`` and ``item_ids`` hold the file's ids, sorted
    (ids that never occur get no row or column)."""

    ratings: np.ndarray  # (users, items) float32
    user_ids: np.ndarray  # (users,) int64
    item_ids: np.ndarray  # (items,) int64

    @property
    def n_ratings(self) -> int:
        return int(np.count_nonzero(self.ratings))

    @property
    def density(self) -> float:
        """The share of user-item pairs with a rating (MovieLens 100k: 6.3%)."""
        return self.n_ratings / self.ratings.size


def _movielens_file(path: Path) -> Path:
    """The ratings file: ``path`` itself, or the first of MOVIELENS_FILES in the folder ``path``."""
    where = (f"Download MovieLens (e.g. ml-100k or ml-latest-small) from GroupLens, {MOVIELENS_URL}, unzip it "
             f"and pass its folder or its {' / '.join(MOVIELENS_FILES)}. tinyae does not download it, nor ship it: "
             "the MovieLens licence forbids redistributing the data.")
    if path.is_dir():
        for name in MOVIELENS_FILES:
            if (path / name).is_file():
                return path / name
        raise DatasetUnavailable(f"no MovieLens ratings file ({', '.join(MOVIELENS_FILES)}) in {path}. {where}")
    if not path.is_file():
        raise DatasetUnavailable(f"no MovieLens ratings at {path}. {where}")
    return path


def load_movielens(path: str | os.PathLike, *, max_entries: int = 2**28) -> RatingMatrix:
    """MovieLens ratings as a dense (users x items) float32 matrix, 0 for "not rated".

    ``path``: a ratings file or the folder that holds it; the format is told by the first line:
    ``user<TAB>item<TAB>rating<TAB>timestamp`` (ml-100k's u.data), ``user::item::rating::timestamp``
    (ml-1m's ratings.dat) or comma-separated with a header (ml-latest-small's ratings.csv). The
    timestamp is optional and ignored. Ratings must lie in [0.5, 5] (MovieLens' scales; 0 means
    "not rated" in the matrix), ids be non-negative integers, and each (user, item) pair occur once;
    else ValueError naming the line. ``max_entries`` caps the matrix (default 2^28 entries, 1 GB):
    ml-1m is 6040 x 3706, ml-10m (746M entries) needs a higher cap or a subset.

    MovieLens is GroupLens' (https://grouplens.org/datasets/movielens/), and its licence forbids
    redistribution: tinyae neither ships nor downloads it. A missing file raises
    :class:`DatasetUnavailable` saying where to get it.
    """
    source = _movielens_file(Path(path))
    users, items, ratings, lines = [], [], [], []
    low, high = MOVIELENS_RANGE
    separator = None
    with open(source, encoding="utf-8", errors="replace", newline="") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            if separator is None:  # the first line tells the format
                separator = next((s for s in ("::", "\t", ",") if s in line), None)
                if separator is None:
                    raise ValueError(f"{source}, line {number}: expected fields separated by tabs, '::' or commas "
                                     f"(user, item, rating[, timestamp]), got {line[:80]!r}")
                if separator == "," and not line.split(",")[0].strip().isdigit():
                    continue  # ratings.csv's header: userId,movieId,rating,timestamp
            fields = line.split(separator)
            try:
                if len(fields) not in (3, 4):
                    raise ValueError
                user, item, rating = int(fields[0]), int(fields[1]), float(fields[2])
                if user < 0 or item < 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{source}, line {number}: expected user{separator}item{separator}rating"
                                 f"[{separator}timestamp] with integer ids >= 0 and a number for the rating, "
                                 f"got {line[:80]!r}") from None
            if not low <= rating <= high:  # also NaN
                raise ValueError(f"{source}, line {number}: a rating must lie in [{low:g}, {high:g}] (MovieLens' "
                                 f"scale; 0 is the matrix's 'not rated'), got {fields[2]!r}")
            users.append(user)
            items.append(item)
            ratings.append(rating)
            lines.append(number)
    if not ratings:
        raise ValueError(f"{source}: no ratings in the file")
    user_ids, rows = np.unique(np.asarray(users, dtype=np.int64), return_inverse=True)
    item_ids, cols = np.unique(np.asarray(items, dtype=np.int64), return_inverse=True)
    entries = len(user_ids) * len(item_ids)
    if entries > max_entries:
        raise ValueError(f"{source}: {len(user_ids)} users x {len(item_ids)} items is {entries} entries "
                         f"({4 * entries / 2**30:.1f} GB in float32), more than max_entries={max_entries}; pass a "
                         "higher max_entries or a subset of the ratings")
    flat = rows * len(item_ids) + cols
    order = np.argsort(flat, kind="stable")
    repeated = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if len(repeated):
        first, second = lines[order[repeated[0]]], lines[order[repeated[0] + 1]]
        raise ValueError(f"{source}, line {second}: user {users[order[repeated[0]]]} rated item "
                         f"{items[order[repeated[0]]]} already on line {first}; expected one rating per pair")
    matrix = np.zeros((len(user_ids), len(item_ids)), dtype=np.float32)
    matrix[rows, cols] = np.asarray(ratings, dtype=np.float32)
    return RatingMatrix(matrix, user_ids, item_ids)
