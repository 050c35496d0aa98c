from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # Billing reacts to session facts through the hooks chat publishes, in the same
        # transaction. Imported here: services need the app registry to be ready.
        from accounts import hooks as account_hooks
        from chat import hooks as session_hooks

        from . import selectors
        from .services import privacy, session_facts

        session_hooks.SESSION_BORN_UNPAID.register(session_facts.on_session_born_unpaid)
        session_hooks.SESSION_ENDED.register(session_facts.on_session_ended)
        account_hooks.CLIENT_EXPORT.register(privacy.client_transactions_export)
        session_hooks.SESSION_PAYMENT.register(selectors.session_payment_shape)
        session_hooks.SESSION_PENDING_EXTENSION.register(selectors.session_pending_extension_shape)
