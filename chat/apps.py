from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        # Chat reacts to presence and account facts of the apps below it (hooks, not imports
        # the wrong way). Imported here: services need the app registry to be ready.
        from accounts import hooks as account_hooks
        from pairing import hooks as presence_hooks

        from . import mitra_load
        from .services import care, privacy

        presence_hooks.SESSION_LOAD.register(mitra_load)
        presence_hooks.MITRA_WENT_AWAY.register(care.mitra_went_away)
        presence_hooks.MITRA_CAME_BACK.register(care.mitra_came_back)
        account_hooks.MITRA_DEACTIVATED.register(care.mitra_deactivated)
        account_hooks.CLIENT_DELETING.register(privacy.client_chat_erase)
        account_hooks.CLIENT_EXPORT.register(privacy.client_chat_export)
        account_hooks.RETENTION_PURGE.register(privacy.chat_retention_purge)
