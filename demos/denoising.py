"""Lecture demo 'denoising': `python demos/denoising.py [--dataset ...] [--out DIR] [--epochs N]`.

The same as `tinyae demo denoising`; the demo itself lives in tinyae/demos/lecture.py.
"""

import sys
from pathlib import Path

from tinyae.cli import main

if __name__ == "__main__":  # two demos at a time start processes that import this file
    sys.exit(main(["demo", Path(__file__).stem, *sys.argv[1:]]))  # the file is named after its demo
