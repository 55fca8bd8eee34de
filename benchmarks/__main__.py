"""``python -m benchmarks``: tinyae against PyTorch on four whole models, each contender in its own
process (see benchmarks/models.py).

The thread count is exported to the BLAS and OpenMP pools before NumPy or torch is imported.
"""

import sys

from benchmarks.common import pin_threads_early

THREADS = pin_threads_early(sys.argv[1:])

from benchmarks.models import main  # noqa: E402  (after pinning the thread pools)

raise SystemExit(main(sys.argv[1:], THREADS))
