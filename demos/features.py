"""Lecture demo 'features': `python demos/features.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo features`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "features", *sys.argv[1:]]))
