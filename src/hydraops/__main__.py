"""``python -m hydraops`` is the ``hydraops`` command."""

from hydraops.cli import main

main()
