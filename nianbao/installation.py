"""Is the program that runs the one that was installed? Checked when ``nianbao`` starts.

nianbao's code is four top-level packages, ``nianbao``, ``crawler``, ``archive`` and ``simweb``:
names common enough that other code uses them too. Two things can put someone
else's code in their place, and neither says so by itself:

- *Shadowing*: a ``crawler.py`` or a ``simweb/`` folder earlier on the import path
  (``PYTHONPATH``, or the working directory of a ``python -m`` or ``python -c``) is
  imported instead of nianbao's package. The program's own children never put the
  working directory on the path (``python -P``), so this takes a ``PYTHONPATH``.
- *Overwriting*: pip installs and uninstalls by file. Installing another distribution
  that ships a top-level ``archive`` or ``crawler`` package writes its files over
  nianbao's; uninstalling one deletes them.

The first is found by where each package would be imported from (without importing
it); the second by comparing the installed files with the SHA-256 that pip recorded
for each when it installed this distribution (its ``RECORD``). An editable install
(a checkout) has no such record of its sources: there only shadowing is checked.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import importlib.util
import io
from pathlib import Path

DISTRIBUTION = "nianbao-archive"
PACKAGES = ("nianbao", "crawler", "archive", "simweb")
# Where this distribution's packages are: the folder that holds nianbao/ (site-packages,
# or the checkout of an editable install).
ROOT = Path(__file__).resolve().parent.parent


class InstallationError(RuntimeError):
    """The packages imported are not (all) this distribution's; the message says which."""


def check_installation() -> None:
    """Raise :class:`InstallationError` when a package of nianbao is shadowed or altered."""
    shadowed = [f"'{name}' would be imported from {where}" for name, where in _shadowed()]
    if shadowed:
        raise InstallationError(
            f"{'; '.join(shadowed)}, not from {ROOT} where {DISTRIBUTION} is installed: "
            "a module or folder of that name earlier on the import path (PYTHONPATH, or the "
            "working directory of `python -m`) hides nianbao's; remove it from the path"
        )
    altered = altered_files()
    if altered:
        listed = ", ".join(altered[:3]) + (
            f" and {len(altered) - 3} more" if len(altered) > 3 else ""
        )
        raise InstallationError(
            f"{len(altered)} of {DISTRIBUTION}'s files in {ROOT} were changed or removed "
            f"after it was installed ({listed}), probably by installing or uninstalling another "
            "distribution with a top-level 'nianbao', 'crawler', 'archive' or 'simweb' package: "
            f"reinstall with `pip install --force-reinstall --no-deps {DISTRIBUTION}`"
        )


def _shadowed() -> list[tuple[str, str]]:
    found = []
    for name in PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:  # a broken stand-in is still not ours
            found.append((name, f"a module that fails to load ({exc})"))
            continue
        origin = Path(spec.origin).resolve() if spec and spec.origin else None
        if origin != ROOT / name / "__init__.py":
            where = str(origin) if origin else "a namespace package without __init__.py"
            found.append((name, where))
    return found


def altered_files() -> list[str]:
    """Files of the installed distribution whose bytes differ from its RECORD, or are gone.

    Empty when the code runs from somewhere pip did not install it with hashes (a
    checkout, an editable install)."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return []
    if Path(str(dist.locate_file(""))).resolve() != ROOT:
        return []
    altered = []
    # RECORD read as it is: Distribution.files leaves out the files that are missing
    # (Python 3.12), and a missing file is one of the things to find.
    for name, hash_, _ in csv.reader(io.StringIO(dist.read_text("RECORD") or "")):
        if not hash_ or name.split("/", 1)[0] not in PACKAGES:
            continue
        mode, _, value = hash_.partition("=")
        try:
            digest = hashlib.new(mode, (ROOT / name).read_bytes()).digest()
        except FileNotFoundError:
            altered.append(f"{name} removed")
            continue
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != value:
            altered.append(name)
    return altered
