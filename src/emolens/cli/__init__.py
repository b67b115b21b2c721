"""The `emolens` command: `main` parses, then runs one verb module of this package.

    from emolens.cli import main
    main(["analyze", "photo.jpg", "--json"])

`main` is the function (the console script's entry point); the module that defines it is
`emolens.cli.main`, reached with `from emolens.cli.main import ...`.
"""

from __future__ import annotations

from emolens.cli.main import main

__all__ = ["main"]
