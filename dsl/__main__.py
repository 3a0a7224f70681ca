"""``python -m dsl compile ...`` (see ``dsl/cli.py``)."""

import sys

from .cli import main

sys.exit(main())
