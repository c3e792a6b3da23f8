from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from .schedule import periodic_tasks_sync
        from .web import auth  # noqa: F401  (connects the failed sign-in log)

        post_migrate.connect(periodic_tasks_sync, sender=self, dispatch_uid="portal_schedule")
