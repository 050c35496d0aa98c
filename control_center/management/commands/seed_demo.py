"""Demo data for trying Halo Bestie: staff logins (one per role), mitras, tiers,
settings. Idempotent. Lives in the control center because it touches every app."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Mitra
from accounts.selectors import platform_settings
from control_center.roles import BY_GROUP, BY_KEY, roles_sync
from pricing.models import Tier

DEMO_PASSWORD = "halobestie-demo"
# email, first name, superuser, role
STAFF = [
    ("admin@halobestie.local", "Admin", True, "admin"),
    ("supervisor@halobestie.local", "Supervisor", False, "supervisor"),
    ("operator@halobestie.local", "Operator", False, "operator"),
]
MITRAS = [
    ("+6281100000001", "Bestie Sari", "Psikolog klinis, 6 tahun mendampingi remaja dan dewasa muda."),
    ("+6281100000002", "Bestie Raka", "Konselor, fokus pada stres kerja dan kecemasan."),
    ("+6281100000003", "Bestie Dewi", "Psikolog, pendamping duka dan relasi."),
]
TIERS = [
    ("session", "Curhat 30 menit", 30, 50000, 1),
    ("session", "Curhat 60 menit", 60, 90000, 2),
    ("extension", "Tambah 15 menit", 15, 25000, 1),
    ("extension", "Tambah 30 menit", 30, 45000, 2),
]


class Command(BaseCommand):
    help = "Create demo staff, mitras, pricing tiers and default settings (safe to rerun)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true")

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        roles_sync()
        for email, name, superuser, role in STAFF:
            user = User.objects.filter(username=email).first()
            if user is None:
                user = User.objects.create_user(username=email, email=email, password=DEMO_PASSWORD,
                                                first_name=name, is_staff=True, is_superuser=superuser)
            # The demo role, unless someone already gave this login a role while trying things.
            if not user.groups.filter(name__in=BY_GROUP).exists():
                user.groups.add(Group.objects.get(name=BY_KEY[role].group))
        for phone, name, bio in MITRAS:
            Mitra.objects.get_or_create(phone=phone, defaults={"display_name": name, "bio": bio})
        for kind, name, minutes, price, order in TIERS:
            Tier.objects.get_or_create(kind=kind, name=name, defaults={"minutes": minutes, "price": price,
                                                                       "sort_order": order})
        platform_settings()
        if options["quiet"]:
            return
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Control center logins (password for all: {DEMO_PASSWORD}):")
        for email, _name, _superuser, role in STAFF:
            self.stdout.write(f"  {email:32} {BY_KEY[role].label}: {BY_KEY[role].summary}")
        self.stdout.write("Mitra phones (sign in with phone OTP; emulator: manage.py mint_token --role mitra --phone ...):")
        for phone, name, _ in MITRAS:
            self.stdout.write(f"  {phone}  {name}")
