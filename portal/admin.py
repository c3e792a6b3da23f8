"""Admin autodiscovery imports this module: it registers the back office's pages."""

from .backoffice import admin  # noqa: F401
