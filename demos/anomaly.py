"""Lecture demo 'anomaly': `python demos/anomaly.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo anomaly`; the demo itself lives in tinyae/demos.py.
"""

import sys

from tinyae.cli import main

sys.exit(main(["demo", "anomaly", *sys.argv[1:]]))
