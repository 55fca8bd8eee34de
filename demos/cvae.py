"""Lecture demo 'cvae': `python demos/cvae.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo cvae`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "cvae", *sys.argv[1:]]))
