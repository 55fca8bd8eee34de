"""Lecture demo 'stacked': `python demos/stacked.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo stacked`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "stacked", *sys.argv[1:]]))
