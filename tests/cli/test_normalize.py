"""`idcheck normalize FIELD VALUE`."""

from tests.helpers.commands import idcheck


def test_prints_the_normal_form() -> None:
    run = idcheck("normalize", "phone", "0590 27 88 88")
    assert (run.code, run.stdout) == (0, "+590590278888\n")
    run = idcheck("normalize", "postcode", "sw1a 1aa", "--country", "Royaume-Uni")
    assert (run.code, run.stdout) == (0, "SW1A1AA\n")


def test_says_why_a_value_is_invalid() -> None:
    run = idcheck("normalize", "birth_date", "31/02/1990")
    assert run.code == 1
    assert run.stdout == ""
    assert run.stderr.strip() == "Error: invalid birth_date: no such day in the calendar"


def test_absent_and_unknown_field_and_bad_default_country() -> None:
    assert "absent email" in idcheck("normalize", "email", "  ").stderr
    assert idcheck("normalize", "city", "Paris").code == 2
    run = idcheck("normalize", "phone", "0612345678", "--default-country", "Atlantis")
    assert run.code == 1
    assert "unknown default country" in run.stderr
