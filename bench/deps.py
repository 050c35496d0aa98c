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


NODE_DIR = Path(__file__).resolve().parent / "node_baseline"


def node_ready(install: bool) -> tuple[str | None, str]:
    """The Node reference server's runtime and packages: (node binary, "") when it can run,
    else (None, why). Its packages (package-lock.json) are installed into
    bench/node_baseline/node_modules with `npm ci` when missing (--no-install: only tell)."""
    node = shutil.which("node")
    if not node:
        return None, "node is not installed (the Node reference needs Node.js 20+)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if not version.startswith("v") or int(version[1:].split(".")[0]) < 20:
        return None, f"node {version} is too old (the Node reference needs 20+)"
    wanted = ("fastify", "@fastify/websocket", "pg", "ioredis")
    if all((NODE_DIR / "node_modules" / name / "package.json").exists() for name in wanted):
        return node, ""
    npm = shutil.which("npm")
    command = [npm or "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    if not (install and npm):
        return None, f"the Node reference's packages are missing: run `cd {NODE_DIR} && {' '.join(command)}`"
    print(f"bench: installing the Node reference's packages ({' '.join(command)} in {NODE_DIR}) ...", flush=True)
    done = subprocess.run(command, cwd=NODE_DIR)
    if done.returncode != 0:
        return None, f"`{' '.join(command)}` failed in {NODE_DIR}"
    return node, ""
