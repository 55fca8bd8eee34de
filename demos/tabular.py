"""Lecture demo 'tabular': `python demos/tabular.py [--out DIR] [--epochs N]`.

The same as `tinyae demo tabular`; the demo itself lives in tinyae/demos/tabular.py (it makes or loads its
own data: --dataset is ignored).
"""

import sys
from pathlib import Path

import tinyae.demos.tabular  # noqa: F401  (registers the demo, also before tinyae.demos imports it)
from tinyae.cli import main

sys.exit(main(["demo", Path(__file__).stem, *sys.argv[1:]]))  # the file is named after its demo
