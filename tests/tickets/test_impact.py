"""The impact helper's decision table: one test per path, patient safety first."""

import pytest

from tickets.impact import QUESTIONS, TABLE, impact_suggest, impact_table_json


def suggested(**answers):
    result = impact_suggest(answers)
    return None if result is None else result.impact


def test_patient_safety_is_the_first_question():
    assert QUESTIONS[0][0] == "safety"
    assert "patient" in QUESTIONS[0][1].lower()


def test_patient_care_affected_suggests_high_and_says_to_call_whatever_else_is_answered():
    result = impact_suggest({"safety": "yes", "users": "few", "workaround": "yes"})
    assert result is not None
    assert result.impact == "high"
    assert result.call_support is True


def test_nothing_is_suggested_before_patient_safety_is_answered():
    assert suggested(users="few") is None
    assert suggested(down="yes") is None


def test_service_down_suggests_high():
    assert suggested(safety="no", down="yes", users="few") == "high"


def test_revenue_or_compliance_suggests_high():
    assert suggested(safety="no", down="no", revenue="yes", users="few") == "high"


def test_many_users_with_a_workaround_suggests_low():
    assert suggested(safety="no", down="no", revenue="no", users="many", workaround="yes") == "low"


def test_many_users_without_a_workaround_suggests_medium():
    assert suggested(safety="no", users="many", workaround="no") == "medium"
    assert suggested(safety="no", users="many") == "medium"


def test_few_users_suggests_low_only_once_patient_safety_is_ruled_out():
    assert suggested(safety="no", users="few") == "low"
    assert suggested(safety="yes", users="few") == "high"


def test_only_the_patient_safety_path_asks_to_call_the_support_line():
    calls = [s for _, s in TABLE if s.call_support]
    assert [s.impact for s in calls] == ["high"]


@pytest.mark.parametrize("row", impact_table_json())
def test_every_row_the_page_reads_names_a_real_level_and_a_reason(row):
    assert row["impact"] in {"high", "medium", "low"}
    assert row["because"] and row["when"]
