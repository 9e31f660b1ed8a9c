"""`python -m tutor_cli` runs the `tutor` command line."""

import sys

from tutor_cli.cli import main

sys.exit(main())
