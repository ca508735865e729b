"""Allow ``python -m motcua``."""

import sys

from motcua.cli import main

sys.exit(main())
