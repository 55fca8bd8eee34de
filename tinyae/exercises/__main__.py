"""``python -m tinyae.exercises FILE[::Class] [options]``: the same as ``tinyae check``."""

import sys

from ..cli import main

sys.exit(main(["check", *sys.argv[1:]]))
