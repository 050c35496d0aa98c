from django.apps import AppConfig


class PairingConfig(AppConfig):
    name = "pairing"

    def ready(self) -> None:
        # Imported here: services need the app registry to be ready.
        from accounts import hooks as account_hooks

        from . import services

        account_hooks.MITRA_DEACTIVATED.register(services.presence_deactivated)
