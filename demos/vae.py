"""Lecture demo 'vae': `python demos/vae.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo vae`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "vae", *sys.argv[1:]]))
