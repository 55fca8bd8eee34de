"""The lecture demos: each trains what it needs, draws its figures and reports its metrics.

Run them with ``tinyae demo NAME|all`` (or ``python demos/NAME.py``); each demo writes its
figures and a metrics.json into ``OUT/NAME/`` and prints what it wrote. The default dataset is
the 28x28 Fashion-MNIST subset that ships inside tinyae (offline); ``--dataset digits`` (8x8) is
the quick option. In a notebook, :func:`run` without ``out`` writes nothing and returns the
figures::

    result = tinyae.demos.run("latent", "digits")
    result.figures["latent_map"]          # shown inline
    result.metrics["ae_test_mse"]
"""
# each module registers its demos, in the order --list and "all" show them
from . import lecture, superres, compression, finetune, tabular, recommender, animation  # noqa: F401, I001
from .core import DEMOS, Context, Demo, DemoResult, _check_names, demo, run, run_all  # noqa: F401 (_check_names: the CLI)

__all__ = ["DEMOS", "Context", "Demo", "DemoResult", "demo", "run", "run_all"]
