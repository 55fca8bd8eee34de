"""``python -m tinyae ...`` is the ``tinyae`` command."""

import sys

from .cli import main

sys.exit(main())
