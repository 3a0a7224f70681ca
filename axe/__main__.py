"""Command line: ``python -m axe show "<layout>" --shape 8,16 [--svg F | --png F]`` and ``explain``."""

import sys

from .cli import main

sys.exit(main())
