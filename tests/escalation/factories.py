import factory
from factory.builder import Resolver
from factory.django import DjangoModelFactory

from escalation.models import EscalationContact, EscalationLevel


class EscalationContactFactory(DjangoModelFactory[EscalationContact]):
    """A contact of level `at` (2 by default) serving `site` (every site by default)."""

    class Meta:
        model = EscalationContact

    class Params:
        at = 2

    name = factory.Sequence(lambda n: f"Contact {n}")
    role = "Project team"
    email = factory.Sequence(lambda n: f"contact{n}@rxhealth.example")
    site = None

    @factory.lazy_attribute
    def level(self: Resolver) -> EscalationLevel:
        return EscalationLevel.objects.get(number=self.at)
