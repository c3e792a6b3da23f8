"""`request_actor`: the faces whose signatures Django fixes (admin hooks, forms) get the person
they act for from it, and an anonymous or missing request is refused, never passed on."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from tickets.actors import request_actor

from .factories import StaffFactory


def test_request_actor_is_the_signed_in_user(rf, db):
    request = rf.get("/admin/")
    request.user = StaffFactory.create()
    assert request_actor(request) == request.user


def test_request_actor_refuses_an_anonymous_visitor(rf):
    request = rf.get("/admin/")
    request.user = AnonymousUser()
    with pytest.raises(PermissionDenied):
        request_actor(request)


def test_request_actor_refuses_a_form_that_was_never_given_its_request():
    with pytest.raises(PermissionDenied):
        request_actor(None)
