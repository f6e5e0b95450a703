"""``python -m memattr``: the same command line as the ``memattr`` script."""

import sys

from memattr.cli import main

sys.exit(main())
