from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # Billing reacts to session facts through the hooks chat publishes, in the same
        # transaction. Imported here: services need the app registry to be ready.
        from chat import hooks as session_hooks

        from .services import session_facts

        session_hooks.SESSION_BORN_UNPAID.register(session_facts.on_session_born_unpaid)
        session_hooks.SESSION_ENDED.register(session_facts.on_session_ended)
