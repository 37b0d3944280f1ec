"""``python -m archive`` is the ``nianbao`` command."""

from archive.jobs.cli import main

main()
