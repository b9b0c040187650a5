"""The `safecity` command. Before it imports the command line (and with it the whole
platform, seconds of start-up), a long-running command gets the chance to restart itself with
the heap settings it runs best with: see `malloc_tuning`."""

from __future__ import annotations

import sys

from safecity.malloc_tuning import restart_with_malloc_tunables


def main() -> None:
    restart_with_malloc_tunables(sys.argv[1:2])
    from safecity.cli import app  # noqa: PLC0415 (only after the restart: see above)

    app()


if __name__ == "__main__":
    main()
