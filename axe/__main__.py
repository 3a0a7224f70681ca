"""Command line: ``python -m axe show "<layout>" --shape 8,16 [--wide | --width N] [--svg F | --png F]``
and ``python -m axe explain "<layout>"``.
"""

import sys

from .cli import main

sys.exit(main())
