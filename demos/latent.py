"""Lecture demo 'latent': `python demos/latent.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo latent`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "latent", *sys.argv[1:]]))
