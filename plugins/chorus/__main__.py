"""``python -m chorus``: the same as the ``chorus`` command."""

from chorus.cli.main import main

main()
