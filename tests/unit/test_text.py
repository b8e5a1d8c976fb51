"""What does not belong in free text, and what must stay allowed."""

import pytest

from bot.domain.text import TextProblem, normalise_name, problem


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("mail els.peeters@atlas.example", TextProblem.EMAIL),
        ("gsm 0470 12 34 56", TextProblem.PHONE),
        ("0470/12.34.56", TextProblem.PHONE),
        ("+32 470 12 34 56", TextProblem.PHONE),
        ("0032 9 123 45 67", TextProblem.PHONE),
        ("09 123 45 67", TextProblem.PHONE),
        ("BE68 5390 0754 7034", TextProblem.IBAN),
        ("be68539007547034", TextProblem.IBAN),
    ],
)
def test_contact_and_bank_details_refused(text, found):
    assert problem(text) is found


@pytest.mark.parametrize(
    "text",
    [
        "Opleiding heftruckchauffeur 2026-2027",
        "stage van 3 maanden, 20 uur per week",
        "gesprek op 01.05.2026 10 uur",
        "afspraak 15/12/2026 om 09:30",
        "BE68 5390 0754 7035",  # fails the IBAN check
        "Logistiek (CP 226)",
    ],
)
def test_ordinary_text_allowed(text):
    assert problem(text) is None


def test_names_match_ignoring_case_accents_and_spaces():
    assert normalise_name("  JOSÉ   álvarez Ruiz ") == normalise_name("Jose Alvarez ruiz")
    assert normalise_name("O\u2019Neil") == normalise_name("o'neil")
