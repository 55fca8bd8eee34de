"""Lecture demo 'sparse': `python demos/sparse.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo sparse`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "sparse", *sys.argv[1:]]))
