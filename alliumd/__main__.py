"""``python -m alliumd`` is ``alliumd``."""

import sys

from .cli import main

sys.exit(main())
