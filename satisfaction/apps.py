from django.apps import AppConfig


class SatisfactionConfig(AppConfig):
    name = "satisfaction"
    verbose_name = "Client satisfaction"
