"""The ops commands: seed_demo, create_mitra, platform_settings, mint_token."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import AuditLog, Mitra, PlatformSettings
from accounts.selectors import platform_settings
from accounts.services import SETTINGS_KEYS
from billing.models import Tier
from control_center.roles import role_of

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "max_customers_per_mitra": 3, "pairing_timeout": 60, "heartbeat_interval": 30,
    "auto_offline_after": 90, "payment_timeout": 600, "extension_timeout": 60, "goodbye_window": 120,
    "ending_soon_warnings": "300,60", "free_trial_enabled": True, "free_trial_minutes": 15,
    "anonymous_trial_allowed": True, "mitra_can_end_early": True, "client_can_end_early": True,
    "client_identity_for_mitra": "alias",
}


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_settings_row_has_the_product_defaults():
    row = platform_settings()
    assert {k: getattr(row, k) for k in DEFAULTS} == DEFAULTS
    assert set(DEFAULTS) <= set(SETTINGS_KEYS)


def test_seed_demo_is_idempotent_and_prints_the_logins():
    out = run("seed_demo")
    assert "admin@halobestie.local" in out and "halobestie-demo" in out
    User = get_user_model()
    counts = (User.objects.count(), Mitra.objects.count(), Tier.objects.count(), PlatformSettings.objects.count())
    assert counts == (3, 3, 4, 1)
    admin = User.objects.get(username="admin@halobestie.local")
    assert admin.is_staff and admin.is_superuser and admin.check_password("halobestie-demo")
    supervisor = User.objects.get(username="supervisor@halobestie.local")
    assert supervisor.is_staff and not supervisor.is_superuser
    assert supervisor.has_perm("chat.view_transcript")
    operator = User.objects.get(username="operator@halobestie.local")
    assert operator.is_staff and not operator.has_perm("chat.view_transcript")
    # One login per role (control_center.roles).
    assert [role_of(u).key for u in (admin, supervisor, operator)] == ["admin", "supervisor", "operator"]
    assert operator.has_perm("control_center.reroute_session")
    assert not operator.has_perm("control_center.change_platform_settings")
    assert not supervisor.has_perm("control_center.change_platform_settings")
    assert "Operator: runs the shift" in out
    assert set(Tier.objects.values_list("kind", flat=True)) == {"session", "extension"}
    assert all(m.phone.startswith("+62") for m in Mitra.objects.all())

    # A second run changes nothing and does not reset a changed password.
    admin.set_password("changed-by-admin")
    admin.save()
    run("seed_demo", "--quiet")
    assert (User.objects.count(), Mitra.objects.count(), Tier.objects.count(),
            PlatformSettings.objects.count()) == counts
    admin.refresh_from_db()
    assert admin.check_password("changed-by-admin")


def test_seeded_mitra_can_sign_in_with_a_minted_token():
    run("seed_demo", "--quiet")
    token = run("mint_token", "--role", "mitra", "--phone", "+6281100000001").strip()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = api.post("/api/mitra/auth/session")
    assert r.status_code == 200, r.content
    assert r.json()["display_name"] == "Bestie Sari"


def test_create_mitra():
    out = run("create_mitra", "--phone", "+6281299990000", "--name", "Bestie Baru", "--bio", "Konselor")
    mitra = Mitra.objects.get(phone="+6281299990000")
    assert mitra.display_name == "Bestie Baru" and mitra.bio == "Konselor" and mitra.is_active
    assert str(mitra.id) in out
    assert AuditLog.objects.filter(action="mitra.create", target_id=str(mitra.id)).exists()
    with pytest.raises(CommandError, match="already exists"):
        run("create_mitra", "--phone", "+6281299990000", "--name", "Dobel")
    with pytest.raises(CommandError, match="E.164"):
        run("create_mitra", "--phone", "12345", "--name", "Salah")
    assert Mitra.objects.count() == 1


def test_platform_settings_show_prints_every_key():
    out = run("platform_settings")
    assert out == run("platform_settings", "show")
    for key, value in DEFAULTS.items():
        assert f"{key} = {value}" in out


def test_platform_settings_set_is_validated_and_audited():
    out = run("platform_settings", "set", "max_customers_per_mitra=5", "ending_soon_warnings=60, 300",
              "free_trial_enabled=off", "client_identity_for_mitra=display_name")
    assert "max_customers_per_mitra = 5" in out
    row = PlatformSettings.objects.get(pk=1)
    assert row.max_customers_per_mitra == 5
    assert row.ending_soon_warnings == "300,60"
    assert row.free_trial_enabled is False
    assert row.client_identity_for_mitra == "display_name"
    log = AuditLog.objects.get(action="settings.update")
    assert log.before == {"max_customers_per_mitra": 3, "free_trial_enabled": True,
                          "client_identity_for_mitra": "alias"}
    assert log.after == {"max_customers_per_mitra": 5, "free_trial_enabled": False,
                         "client_identity_for_mitra": "display_name"}
    # The cached row is forgotten at once.
    assert platform_settings().max_customers_per_mitra == 5

    # Setting the same value again audits nothing.
    run("platform_settings", "set", "max_customers_per_mitra=5")
    assert AuditLog.objects.filter(action="settings.update").count() == 1


@pytest.mark.parametrize("pair", [
    "max_customers_per_mitra=0", "max_customers_per_mitra=abc", "pairing_timeout=5",
    "free_trial_enabled=maybe", "client_identity_for_mitra=phone", "ending_soon_warnings=soon",
    "no_such_key=1", "auto_offline_after=20",  # not longer than the heartbeat interval (30)
    "novalue",
])
def test_platform_settings_set_refuses_bad_values(pair):
    before = {k: getattr(platform_settings(), k) for k in DEFAULTS}
    with pytest.raises(CommandError):
        run("platform_settings", "set", pair)
    from accounts.selectors import forget_platform_settings

    forget_platform_settings()
    assert {k: getattr(platform_settings(), k) for k in DEFAULTS} == before
    assert not AuditLog.objects.filter(action="settings.update").exists()


def test_platform_settings_set_needs_something_to_set():
    with pytest.raises(CommandError):
        run("platform_settings", "set")


def test_mint_token_prints_usable_tokens():
    client_token = run("mint_token", "--role", "client").strip()
    anon_token = run("mint_token", "--role", "client", "--anonymous").strip()
    for token, anonymous in ((client_token, False), (anon_token, True)):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        r = api.post("/api/client/auth/session", {"display_name": "Coba"}, format="json")
        assert r.status_code == 201, r.content
        assert r.json()["is_anonymous"] is anonymous
    with pytest.raises(CommandError, match="phone"):
        run("mint_token", "--role", "mitra")


def test_mint_token_is_refused_outside_emulator_mode():
    with override_settings(FIREBASE_AUTH_EMULATOR_HOST=""), pytest.raises(CommandError, match="emulator"):
        run("mint_token", "--role", "client")
