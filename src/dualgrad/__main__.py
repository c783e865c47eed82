"""``python -m dualgrad`` is the ``dualgrad`` command."""

import sys

from .cli import main

sys.exit(main())
