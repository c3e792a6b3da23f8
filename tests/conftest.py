import importlib

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need row locks and real concurrency; skip them on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _seeded_data(request):
    """The levels, maxima and SLA policies the data migrations seed. A transactional test
    (anywhere in the suite) flushes them, so put them back; seeding is idempotent."""
    if "django_db_setup" not in request.fixturenames:
        return
    from django.apps import apps

    request.getfixturevalue("_django_db_helper")
    for module in ("sla.migrations.0002_seed_policies", "escalation.migrations.0002_seed_levels"):
        importlib.import_module(module).seed(apps, None)
