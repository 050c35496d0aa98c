from django.core.management.base import BaseCommand, CommandError

from accounts.services import mitra_create
from halobestie.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a mitra who can then sign in with this phone number."

    def add_arguments(self, parser):
        parser.add_argument("--phone", required=True, help="E.164, e.g. +628123456789")
        parser.add_argument("--name", required=True)
        parser.add_argument("--bio", default="")

    def handle(self, *args, **options):
        try:
            mitra = mitra_create(phone=options["phone"], display_name=options["name"], bio=options["bio"])
        except ApplicationError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"Created mitra {mitra.display_name} ({mitra.phone}) id={mitra.id}"))
