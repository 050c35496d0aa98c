from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import platform_settings
from accounts.services import SETTINGS_KEYS, platform_settings_update
from halobestie.errors import ApplicationError


class Command(BaseCommand):
    help = "Print the platform settings, or change them: platform_settings set KEY=VALUE ..."

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["show", "set"], default="show")
        parser.add_argument("pairs", nargs="*", metavar="KEY=VALUE")

    def handle(self, *args, **options):
        if options["action"] == "set":
            changes = {}
            for pair in options["pairs"]:
                if "=" not in pair:
                    raise CommandError(f"Expected KEY=VALUE, got {pair!r}")
                key, value = pair.split("=", 1)
                changes[key.strip()] = value.strip()
            if not changes:
                raise CommandError("Nothing to set.")
            try:
                platform_settings_update(actor=None, changes=changes)
            except ApplicationError as exc:
                raise CommandError(f"{exc.detail} {exc.fields or ''}") from None
        row = platform_settings()
        for key in SETTINGS_KEYS:
            self.stdout.write(f"{key} = {getattr(row, key)}")
