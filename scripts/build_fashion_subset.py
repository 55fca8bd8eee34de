"""Build tinyae's embedded 28x28 dataset: a class-balanced subset of Fashion-MNIST.

    python scripts/build_fashion_subset.py [--source DIR] [--out tinyae/embedded/fashion_mnist_small.npz]

reads the four real IDX files (by default where Debian's ``dataset-fashion-mnist`` package puts
them, /usr/share/datasets/fashion-mnist) and writes 1,200 training and 200 test images of each
of the ten classes, uint8, compressed. The choice is a fixed function of the files and the seed
below, so anyone with the real files rebuilds the same arrays; ``tests/test_data.py`` does that
whenever the files are present and compares with the shipped file. The SHA-256 it prints (of the arrays; the
zip container's bytes carry timestamps) is the one ``tinyae.data`` checks when it loads the file.

Fashion-MNIST is (c) 2017 Zalando SE, under the MIT licence (tinyae/embedded/LICENSE-fashion-mnist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a clone without installing

from tinyae.data import _arrays_sha256, read_idx  # noqa: E402

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
OUT = REPO / "tinyae" / "embedded" / "fashion_mnist_small.npz"
TRAIN_PER_CLASS, TEST_PER_CLASS, SEED = 1200, 200, 20261201


def choose(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each class drawn without replacement, then shuffled together."""
    picked = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return rng.permutation(np.concatenate(picked))


def build(source: Path) -> dict[str, np.ndarray]:
    """The four arrays of the embedded file, from the real IDX files in ``source``."""
    rng = np.random.default_rng(SEED)
    arrays = {}
    for split, prefix, per_class in (("train", "train", TRAIN_PER_CLASS), ("test", "t10k", TEST_PER_CLASS)):
        images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz", 3)
        labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz", 1)
        keep = choose(labels, per_class, rng)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images[keep], labels[keep]
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEBIAN_DIR, help="folder of the four IDX .gz files")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    arrays = build(args.source)
    np.savez_compressed(args.out, **arrays)
    sizes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {sizes}")
    print(f"sha256 of the arrays: {_arrays_sha256(arrays)}")


if __name__ == "__main__":
    main()
