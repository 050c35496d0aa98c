from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.privacy import purge_expired_messages


class Command(BaseCommand):
    help = "Remove message text older than MESSAGE_RETENTION_DAYS (metadata is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help=f"override the retention (default {settings.MESSAGE_RETENTION_DAYS})")

    def handle(self, *args, **options):
        count = purge_expired_messages(days=options["days"])
        self.stdout.write(f"Purged the text of {count} messages.")
