"""``python -m streams.cli``: the same as the ``mesh`` console script."""

from __future__ import annotations

from streams.cli import main

if __name__ == "__main__":
    main(prog_name="mesh")
