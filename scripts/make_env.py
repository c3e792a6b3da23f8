"""Print a `.env` for a local demo: a fresh random SECRET_KEY and the embedded defaults.

`make run` writes it once (`python scripts/make_env.py > .env`); edit it afterwards as you like.
DEBUG stays off so the demo behaves as production does (static files through WhiteNoise, no
debug pages, and no query log growing in the worker), on plain HTTP on the loopback address.
"""

import secrets

LINES = [
    "# Written by scripts/make_env.py for a local demo. See the README's settings table.",
    f"SECRET_KEY={secrets.token_urlsafe(50)}",
    "DEBUG=false",
    "ALLOWED_HOSTS=127.0.0.1,localhost",
    "HTTPS=false",
    "PORTAL_BASE_URL=http://127.0.0.1:8000",
    "# DATABASE_URL=postgres://user:password@127.0.0.1:5432/portal",
    "# CELERY_BROKER_URL=redis://127.0.0.1:6379/0",
    "# EMAIL_URL=smtp+tls://user:password@smtp.example.org:587",
]

if __name__ == "__main__":
    print("\n".join(LINES))
