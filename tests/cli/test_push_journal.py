"""The push journal: what --resume may skip, and when it must refuse."""

from pathlib import Path

import pytest

from idcheck.cli.errors import CliError
from idcheck.cli.push import Journal
from signatures.dates import today


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IDCHECK_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_a_resume_keeps_the_run_and_what_was_acknowledged(tmp_path: Path, state: Path) -> None:
    source = tmp_path / "clients.csv"
    source.write_text("Courriel\na@exemple.fr\n")
    first = Journal.open(source, "dataset-1", 100, resume=False, key_version=1)
    assert first.path.parent == state
    assert first.path.exists()  # saved before any chunk is sent
    first.acknowledge(0, "d0", upserted=100)
    resumed = Journal.open(source, "dataset-1", 100, resume=True, key_version=1)
    assert resumed.run == first.run
    assert resumed.done(0, "d0") == {"digest": "d0", "upserted": 100}
    assert resumed.done(0, "other content") is None
    assert resumed.done(1, "d1") is None
    assert resumed.key(0, "d0") == first.key(0, "d0")
    assert resumed.default_updated == first.default_updated == today().isoformat()

    fresh = Journal.open(source, "dataset-1", 100, resume=False, key_version=1)
    assert fresh.run != first.run  # a new push is a new run: the server applies it again
    assert fresh.acknowledged == {}
    assert fresh.key(0, "d0") != first.key(0, "d0")
    fresh.finish()
    assert not fresh.path.exists()


@pytest.mark.parametrize("change", ["file", "chunk size", "key version", "dataset"])
def test_a_resume_of_something_else_is_refused_or_fresh(tmp_path: Path, change: str) -> None:
    source = tmp_path / "clients.csv"
    source.write_text("Courriel\na@exemple.fr\n")
    first = Journal.open(source, "dataset-1", 100, resume=False, key_version=1)
    first.acknowledge(0, "d0", upserted=1)
    if change == "file":
        source.write_text("Courriel\na@exemple.fr\nb@exemple.fr\n")
        with pytest.raises(CliError, match="changed since the interrupted push"):
            Journal.open(source, "dataset-1", 100, resume=True, key_version=1)
    elif change == "chunk size":
        with pytest.raises(CliError, match="changed since the interrupted push"):
            Journal.open(source, "dataset-1", 50, resume=True, key_version=1)
    elif change == "key version":  # a rotation since: the re-push is not the one begun
        with pytest.raises(CliError, match="key version changed since the interrupted push"):
            Journal.open(source, "dataset-1", 100, resume=True, key_version=2)
    else:  # another dataset has its own journal: nothing of this one is skipped
        other = Journal.open(source, "dataset-2", 100, resume=True, key_version=1)
        assert other.acknowledged == {}
        assert other.run != first.run


def test_an_unreadable_journal_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "clients.csv"
    source.write_text("Courriel\na@exemple.fr\n")
    journal = Journal.open(source, "dataset-1", 100, resume=False, key_version=1)
    journal.path.write_text("{not json")
    with pytest.raises(CliError, match="unreadable"):
        Journal.open(source, "dataset-1", 100, resume=True, key_version=1)


def test_a_resume_keeps_the_date_of_the_runs_first_day(tmp_path: Path) -> None:
    source = tmp_path / "clients.csv"
    source.write_text("Courriel\na@exemple.fr\n")
    begun = Journal.open(source, "dataset-1", 100, resume=False, key_version=1)
    begun.default_updated = "2026-11-01"  # the push began then
    begun.save()
    assert (
        Journal.open(source, "dataset-1", 100, resume=True, key_version=1).default_updated
        == "2026-11-01"
    )
    assert Journal.open(source, "dataset-1", 100, resume=False, key_version=1).default_updated == (
        today().isoformat()
    )
