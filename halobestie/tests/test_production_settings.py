"""Production settings: `check --deploy` is clean, and unsafe modes refuse to start."""

import os
import secrets
import subprocess
import sys

import pytest

from halobestie.testing.live import ROOT

# Warnings we accept and justify in the README (none today).
JUSTIFIED: set[str] = set()


def production_env(**changes) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "FIREBASE_", "XENDIT_", "DEBUG", "SECRET_KEY", "REDIS_URL",
                                "DATABASE_URL", "ALLOWED_HOSTS"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "halobestie.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "api.halobestie.id,cc.halobestie.internal",
        "XENDIT_SECRET_KEY": "xnd_production_" + secrets.token_hex(16),
        "XENDIT_CALLBACK_TOKEN": secrets.token_hex(24),
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "DATABASE_URL": "postgres://halobestie@127.0.0.1:5432/halobestie",
    })
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args, **env_changes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=production_env(**env_changes),
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_reports_nothing_unexpected():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    reported = {line.split(":", 1)[0].strip() for line in output.splitlines() if "security.W" in line
                or "security.E" in line}
    unexpected = {r for r in reported if not any(j in r for j in JUSTIFIED)}
    assert result.returncode == 0 and not unexpected, output
    assert "System check identified no issues" in output, output


@pytest.mark.parametrize("changes,reason", [
    ({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}, "FIREBASE_AUTH_EMULATOR_HOST"),
    ({"DEBUG": "true"}, "DEBUG"),
    ({"SECRET_KEY": "dev-insecure-halobestie-secret-key-change-me-0123456789"}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"XENDIT_SECRET_KEY": None}, "XENDIT_SECRET_KEY"),
    ({"XENDIT_SECRET_KEY": ""}, "XENDIT_SECRET_KEY"),
    ({"REDIS_URL": None}, "REDIS_URL"),
    ({"WEBCHAT_DEV_SIGN_IN": "true"}, "WEBCHAT_DEV_SIGN_IN"),
])
def test_production_refuses_unsafe_configuration(changes, reason):
    result = manage("check", **changes)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert reason in result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_requires_secret_key_and_hosts(missing):
    result = manage("check", **{missing: None})
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_settings_are_not_in_emulator_mode():
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.FIREBASE_AUTH_EMULATOR_HOST == '', settings.DEBUG, settings.CELERY_TASK_ALWAYS_EAGER,"
            " settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=production_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "False", "True", "True"]
