"""``python -m archive`` is the ``nianbao`` command."""

from archive.cli import main

main()
