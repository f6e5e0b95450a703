"""``python -m memattr``: the same command line as the ``memattr`` script."""

import sys

from memattr.console import main

sys.exit(main())
