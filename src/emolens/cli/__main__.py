"""`python -m emolens.cli ...` runs the `emolens` command."""

import sys

from emolens.cli.main import main

sys.exit(main())
