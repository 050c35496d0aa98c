from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from halobestie.testing.tokens import mint_id_token


class Command(BaseCommand):
    help = ("Emulator mode only: print a Firebase ID token for trying the API by hand, e.g. "
            "`mint_token --role client --uid ani` or `mint_token --role mitra --phone +6281100000001`.")

    def add_arguments(self, parser):
        parser.add_argument("--role", choices=["client", "mitra"], required=True)
        parser.add_argument("--phone", help="E.164 phone (required for mitras)")
        parser.add_argument("--anonymous", action="store_true", help="an anonymous client")
        parser.add_argument("--uid", help="Firebase UID: the same UID is the same user (client) every time; "
                                          "default: derived from the phone for mitras, else random (a new client)")
        parser.add_argument("--lifetime", type=int, default=3600)

    def handle(self, *args, **options):
        if not settings.FIREBASE_AUTH_EMULATOR_HOST:
            raise CommandError("mint_token only works in emulator mode (FIREBASE_AUTH_EMULATOR_HOST).")
        phone = options["phone"]
        if options["role"] == "mitra" and not phone:
            raise CommandError("Mitras sign in with a phone: pass --phone +62...")
        if options["anonymous"]:
            provider, phone = "anonymous", None
        else:
            provider = "phone" if phone else "google.com"
        uid = options["uid"] or (f"phone-{phone.lstrip('+')}" if phone else None)
        email = None if phone or provider == "anonymous" else f"{uid or 'demo'}@example.com"
        self.stdout.write(mint_id_token(uid, provider=provider, phone=phone, email=email,
                                        lifetime=options["lifetime"]))
