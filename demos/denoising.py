"""Lecture demo 'denoising': `python demos/denoising.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo denoising`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "denoising", *sys.argv[1:]]))
