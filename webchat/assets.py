"""The scripts a page needs, for `<link rel="modulepreload">`: no build step, yet no
import waterfall (measured in measure.py: the hints take the 3G load from 2.3 s to 1.6 s;
a bundle would reach 1.5 s)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
JS = STATIC / "webchat" / "js"
IMPORT = re.compile(r"""(?:^|[;\s}])(?:import|from)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""", re.M)
# The sign-in modules are imported dynamically, one per mode: preload only the one in use.
AUTH = {"dev": "auth-dev.js", "firebase": "auth-firebase.js"}


def _graph(entry: Path, skip: set[Path]) -> list[Path]:
    seen: list[Path] = []
    todo = [entry]
    while todo:
        path = todo.pop(0)
        if path in seen or path in skip:
            continue
        seen.append(path)
        todo += [(path.parent / target).resolve() for target in IMPORT.findall(path.read_text())]
    return seen


@lru_cache
def preload_paths(role: str, auth: str) -> tuple[str, ...]:
    """Static paths (relative to STATIC) of every module the page will import."""
    skip = {(JS / name).resolve() for name in AUTH.values()}
    files = _graph((JS / f"{role}.js").resolve(), skip) + _graph((JS / AUTH[auth]).resolve(), set())
    unique = list(dict.fromkeys(files))
    return tuple(str(p.relative_to(STATIC)) for p in unique)
