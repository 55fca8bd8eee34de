"""The grader's defaults and exit codes (no imports: the command line reads them without loading hypothesis)."""

DEFAULT_EXAMPLES = 50  # cases hypothesis draws per search
DEFAULT_SHRINK_BUDGET = 200  # further evaluations a search may spend on shrinking
DEFAULT_TIMEOUT = 60.0  # seconds of wall-clock time per submission (its child process)
DEFAULT_MEMORY_MB = 4096  # address space of a submission's child process

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
