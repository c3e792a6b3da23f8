from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.api.services import api_token_issue


class Command(BaseCommand):
    help = "Issue an API token for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is not active.")
        row, token = api_token_issue(user=user, name=name, actor_label="manage.py issue_api_token")
        self.stderr.write(
            f"Token {row.name!r} for {username}. Copy it now; it will not be shown again:"
        )
        self.stdout.write(token)
