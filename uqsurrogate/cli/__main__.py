"""``python -m uqsurrogate.cli``."""

import sys

from . import main

sys.exit(main())
