"""Run the simulator from the command line: python -m simulator --help."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
