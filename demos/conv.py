"""Lecture demo 'conv': `python demos/conv.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo conv`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "conv", *sys.argv[1:]]))
