from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.apps import apps
        from django.utils.module_loading import autodiscover_modules

        from .pg_loaders import fast_timestamps
        from .schedule import periodic_tasks_sync
        from .staff_roles import staff_roles_sync
        from .web import auth  # noqa: F401  (connects the failed sign-in log)

        # Every app's tasks registered in every process, web included: services send them by
        # name (tickets.broker), and only a registered task honours eager mode.
        autodiscover_modules("tasks")
        connection_created.connect(fast_timestamps, dispatch_uid="portal_fast_timestamps")

        # post_migrate is sent only for apps that have models, and `portal` has none: listen
        # for django_celery_beat's, which also means its tables exist by then.
        post_migrate.connect(
            periodic_tasks_sync,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="portal_schedule",
        )
        post_migrate.connect(
            staff_roles_sync,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="portal_staff_roles",
        )
