from django.apps import AppConfig


class PairingConfig(AppConfig):
    name = "pairing"

    def ready(self) -> None:
        # Imported here: services need the app registry to be ready.
        from accounts import hooks as account_hooks

        from . import services

        account_hooks.MITRA_DEACTIVATED.register(services.presence_deactivated)
        account_hooks.CLIENT_BLOCKED.register(services.client_requests_cancel)
        account_hooks.CLIENT_DELETING.register(services.client_requests_erase)
        account_hooks.RETENTION_PURGE.register(services.pairing_retention_purge)
