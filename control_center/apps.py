from django.apps import AppConfig
from django.db.models.signals import post_migrate

from .roles import roles_sync


def _sync_roles(sender, using, **kwargs):
    roles_sync(using=using)


class ControlCenterConfig(AppConfig):
    name = "control_center"

    def ready(self):
        # Keep the role groups equal to roles.ROLES after every migrate (and after a test
        # database is flushed), not only when the data migration first ran.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="control_center.roles_sync")
