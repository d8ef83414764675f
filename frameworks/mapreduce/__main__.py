"""``python -m frameworks.mapreduce``: see ``frameworks.mapreduce.cli``."""

import sys

from frameworks.mapreduce.cli import main

sys.exit(main())
