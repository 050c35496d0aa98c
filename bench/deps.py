"""The bench's own packages (bench/requirements.txt): checked before anything starts.

Inside a virtualenv they are installed into it with pip (what `./dev.sh bench` does the
first time); elsewhere, or with --no-install, the bench says what to run and stops.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
# module to import -> the distribution that provides it
MODULES = {"matplotlib": "matplotlib", "psutil": "psutil", "wsproto": "wsproto"}


def missing() -> list[str]:
    out = [dist for mod, dist in MODULES.items() if importlib.util.find_spec(mod) is None]
    if not py_spy():
        out.append("py-spy")
    return out


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    if candidate.exists():
        return str(candidate)
    return shutil.which("py-spy")


def ensure(install: bool) -> None:
    need = missing()
    if not need:
        return
    in_venv = sys.prefix != sys.base_prefix
    command = [sys.executable, "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)]
    if not (install and in_venv):
        sys.exit(f"The benchmark needs {', '.join(need)}. Install them with:\n  {' '.join(command)}")
    print(f"bench: installing {', '.join(need)} into {sys.prefix} (bench/requirements.txt) ...", flush=True)
    subprocess.run(command, check=True)
    importlib.invalidate_caches()
    still = missing()
    if still:
        sys.exit(f"bench: still missing after pip install: {', '.join(still)}")
