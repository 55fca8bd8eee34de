"""Lecture demo 'recommender': `python demos/recommender.py [--out DIR] [--epochs N]`
(TINYAE_MOVIELENS=path: MovieLens ratings instead of synthetic ones).

The same as `tinyae demo recommender`; the demo itself lives in tinyae/demos/recommender.py (it
makes or loads its own data: --dataset is ignored).
"""

import sys
from pathlib import Path

from tinyae.cli import main

if __name__ == "__main__":  # two demos at a time start processes that import this file
    sys.exit(main(["demo", Path(__file__).stem, *sys.argv[1:]]))  # the file is named after its demo
