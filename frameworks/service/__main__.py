"""``python -m frameworks.service``: see ``frameworks.service.cli``."""

import sys

from frameworks.service.cli import main

sys.exit(main())
