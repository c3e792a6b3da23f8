"""Helpers for the portal's tests."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.tickets.factories import MembershipFactory, UserFactory

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def png(name: str = "screen.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def member(site, role: str, **user_kwargs):
    return MembershipFactory(site=site, role=role, user=UserFactory(**user_kwargs)).user
