"""The impact helper's decision table: a few questions a PM answers when filing an incident,
and the impact they suggest. Patient care and safety come first.

The table is data, read top to bottom; the first row whose answers all match wins. The new-
ticket page hands it to its script as JSON, so the page and this module never disagree, and
the suggestion only ever pre-selects a level the PM has not chosen themselves.
"""

from dataclasses import dataclass

from .models import Impact

# The questions, in the order the page asks them: (name, question, {answer: label}).
QUESTIONS: list[tuple[str, str, dict[str, str]]] = [
    (
        "safety",
        "Is patient care or patient safety affected?",
        {"yes": "Yes", "no": "No"},
    ),
    (
        "down",
        "Is the platform or service down, or unusable, for multiple users?",
        {"yes": "Yes", "no": "No"},
    ),
    (
        "revenue",
        "Is revenue or time-sensitive regulatory compliance affected?",
        {"yes": "Yes", "no": "No"},
    ),
    (
        "users",
        "How many of your users are affected?",
        {"many": "More than 5%", "few": "5% or fewer"},
    ),
    (
        "workaround",
        "Can people use another feature or a workaround meanwhile?",
        {"yes": "Yes", "no": "No"},
    ),
]


@dataclass(frozen=True)
class Suggestion:
    impact: str
    because: str
    call_support: bool = False


# (answers that must all match, suggestion). Nothing is suggested until patient safety is
# answered: a "no" there is what lets the smaller levels through.
TABLE: list[tuple[dict[str, str], Suggestion]] = [
    (
        {"safety": "yes"},
        Suggestion(Impact.HIGH, "patient care or safety is affected", call_support=True),
    ),
    ({"safety": "no", "down": "yes"}, Suggestion(Impact.HIGH, "the service is down or unusable")),
    (
        {"safety": "no", "revenue": "yes"},
        Suggestion(Impact.HIGH, "revenue or regulatory compliance is affected"),
    ),
    (
        {"safety": "no", "users": "many", "workaround": "yes"},
        Suggestion(Impact.LOW, "people can use another feature meanwhile"),
    ),
    (
        {"safety": "no", "users": "many"},
        Suggestion(Impact.MEDIUM, "more than 5% of users are affected"),
    ),
    ({"safety": "no", "users": "few"}, Suggestion(Impact.LOW, "5% of users or fewer are affected")),
]


def impact_suggest(answers: dict[str, str]) -> Suggestion | None:
    """The first row of the table that the answers match, or None (not enough answered)."""
    for condition, suggestion in TABLE:
        if all(answers.get(name) == value for name, value in condition.items()):
            return suggestion
    return None


def impact_table_json() -> list[dict]:
    """The table as the new-ticket page's script reads it."""
    return [
        {
            "when": condition,
            "impact": suggestion.impact,
            "label": Impact(suggestion.impact).label,
            "because": suggestion.because,
            "call_support": suggestion.call_support,
        }
        for condition, suggestion in TABLE
    ]
