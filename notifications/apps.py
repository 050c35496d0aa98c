from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        # Imported here: services need the app registry to be ready.
        from accounts import hooks as account_hooks

        from . import services

        account_hooks.CLIENT_DELETING.register(services.client_devices_forget)
