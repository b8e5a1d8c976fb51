"""The file directory on a real file: name matching, the index, following the file's changes, and
refusing a malformed file without a word of client data."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import date
from pathlib import Path

import pytest

from bot.adapters.directory_file import DirectoryFileError, FileDirectory
from bot.domain.directory import Eligible, Ineligible, eligibility, matches
from bot.domain.model import Reason
from bot.domain.template import Identity

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clients.json"
SECRET_NAME = "Zerlinda Quackenbush"  # a sentinel: it must never reach a log line or an exception
SECRET_BORN = "1977-07-17"


def recipient(n: int) -> dict[str, str]:
    return {"naam": f"Begeleider {n}", "email": f"b{n}@atlas.example", "aad_object_id": f"aad-{n}",
            "tenant_id": "tenant-atlas", "agentschap": "atlas"}


def entry(naam: str, born: str, n: int = 1, *, actief: bool = True, klant_id: str = "K-1") -> dict[str, object]:
    return {"klant_id": klant_id, "naam": naam, "geboortedatum": born, "actief_inburgeringstraject": actief,
            "trajectbegeleider": recipient(n)}


def write(path: Path, *entries: dict[str, object]) -> Path:
    path.write_text(json.dumps({"_comment": "test", "clients": list(entries)}), encoding="utf-8")
    return path


def bump(path: Path) -> None:
    """Make sure the file's modification time moves, whatever the file system's granularity."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


async def verdict(directory: FileDirectory, naam: str, born: str) -> Eligible | Ineligible:
    identity = Identity(naam=naam, geboortedatum=date.fromisoformat(born))
    return eligibility(matches(identity, await directory.find(identity)))


@pytest.mark.parametrize("typed", ["Samira Haddad", "Haddad Samira", "HADDAD, Samira", "haddad,samira",
                                   "  samira   HADDAD ", "Haddad , Samira"])
async def test_the_order_of_the_names_does_not_matter(typed):
    found = await verdict(FileDirectory(EXAMPLES), typed, "1996-05-05")
    assert isinstance(found, Eligible) and found.client.klant_id == "K-1011"


async def test_accents_and_case_are_ignored_in_any_order():
    found = await verdict(FileDirectory(EXAMPLES), "RUIZ, Jose Alvarez", "1979-07-15")
    assert isinstance(found, Eligible) and found.client.klant_id == "K-1004"


@pytest.mark.parametrize(("typed", "born"), [("Samira Haddad", "1996-05-06"), ("Samira", "1996-05-05"),
                                             ("Samira Haddad Haddad", "1996-05-05"), ("Sami Haddad", "1996-05-05")])
async def test_still_the_exact_birth_date_and_every_word(typed, born):
    assert await verdict(FileDirectory(EXAMPLES), typed, born) == Ineligible(Reason.UNKNOWN_CLIENT)


@pytest.mark.parametrize("typed", ["Li Wei", "Wei Li", "WEI, li"])
async def test_two_clients_with_one_name_and_birth_date_are_refused_as_ambiguous(typed):
    assert await verdict(FileDirectory(EXAMPLES), typed, "1991-10-10") == Ineligible(Reason.AMBIGUOUS_CLIENT)


async def test_names_that_differ_only_in_word_order_are_ambiguous(tmp_path):
    path = write(tmp_path / "c.json", entry("Ali Omar", "1990-01-01", klant_id="K-1"),
                 entry("Omar Ali", "1990-01-01", 2, klant_id="K-2"), entry("Omar Ali", "1990-01-02", klant_id="K-3"))
    directory = FileDirectory(path)
    assert len(directory) == 3
    assert await verdict(directory, "Ali Omar", "1990-01-01") == Ineligible(Reason.AMBIGUOUS_CLIENT)
    found = await verdict(directory, "ali omar", "1990-01-02")
    assert isinstance(found, Eligible) and found.client.klant_id == "K-3"


async def test_entries_share_one_trajectbegeleider_and_come_back_whole(tmp_path):
    path = write(tmp_path / "c.json", *(entry(f"Klant Nummer{i}", "1990-01-01", i % 2, klant_id=f"K-{i}")
                                       for i in range(10)))
    directory = FileDirectory(path)
    (first,) = await directory.find(Identity(naam="Klant Nummer3", geboortedatum=date(1990, 1, 1)))
    (second,) = await directory.find(Identity(naam="Nummer5 Klant", geboortedatum=date(1990, 1, 1)))
    assert first.trajectbegeleider is second.trajectbegeleider  # shared, not one copy per client
    assert first.model_dump(mode="json", exclude_none=True) == entry("Klant Nummer3", "1990-01-01", 1, klant_id="K-3")


async def test_a_changed_file_is_read_again_at_the_next_look_up(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = write(tmp_path / "c.json", entry(SECRET_NAME, SECRET_BORN, 1))
    directory = FileDirectory(path)
    assert (await verdict(directory, SECRET_NAME, SECRET_BORN)).recipient.aad_object_id == "aad-1"
    write(path, entry(SECRET_NAME, SECRET_BORN, 2), entry("Nieuwe Klant", "1990-01-01"))
    bump(path)
    found = await verdict(directory, SECRET_NAME, SECRET_BORN)
    assert isinstance(found, Eligible) and found.recipient.aad_object_id == "aad-2"  # the corrected recipient
    assert len(directory) == 2
    assert "client directory reloaded" in caplog.messages
    assert SECRET_NAME.split()[0] not in caplog.text


async def test_concurrent_look_ups_during_a_change_read_the_file_once(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = write(tmp_path / "c.json", entry(SECRET_NAME, SECRET_BORN, 1))
    directory = FileDirectory(path)
    write(path, *(entry(f"Klant Nummer{i}", "1990-01-01", 2, klant_id=f"K-{i}") for i in range(2000)),
          entry(SECRET_NAME, SECRET_BORN, 2))
    bump(path)
    results = await asyncio.gather(*(verdict(directory, SECRET_NAME, SECRET_BORN) for _ in range(20)))
    assert {r.recipient.aad_object_id for r in results} == {"aad-2"}
    assert caplog.messages.count("client directory reloaded") == 1


MALFORMED = {
    "not JSON": '{"clients": [{"naam": "' + SECRET_NAME + '", ',
    "bad date": json.dumps({"clients": [entry(SECRET_NAME, SECRET_BORN + "x")]}),
    "bad agency": json.dumps({"clients": [{**entry(SECRET_NAME, SECRET_BORN),
                                           "trajectbegeleider": {**recipient(1), "agentschap": SECRET_NAME}}]}),
    "missing field": json.dumps({"clients": [{"naam": SECRET_NAME, "geboortedatum": SECRET_BORN}]}),
    "wrong type": json.dumps(
        {"clients": [{**entry(SECRET_NAME, SECRET_BORN), "actief_inburgeringstraject": SECRET_NAME}]}),
    "lone surrogate": json.dumps({"clients": [entry(SECRET_NAME + "\ud800", SECRET_BORN)]}),
    "no clients": json.dumps({"klanten": [entry(SECRET_NAME, SECRET_BORN)]}),
    "a list": json.dumps([entry(SECRET_NAME, SECRET_BORN)]),
    "empty": "",
    "nested deep": '{"clients": [' + "[" * 100_000 + "]" * 100_000 + "]}",
    "trailing data": json.dumps({"clients": []}) + SECRET_NAME,
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_file_at_start_up_is_one_clean_error(tmp_path, content):
    path = tmp_path / "c.json"
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(DirectoryFileError) as raised:
        FileDirectory(path)
    message = str(raised.value)
    assert message.startswith(("is not valid JSON (", "is not a valid client directory (", "cannot be read ("))
    for secret in (SECRET_NAME, *SECRET_NAME.split(), SECRET_BORN):
        assert secret not in message
    error = raised.value  # no pydantic or JSON error behind it, for a traceback to quote
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_the_error_names_the_entry_and_the_field(tmp_path):
    path = write(tmp_path / "c.json", entry("Goede Klant", "1990-01-01"), entry(SECRET_NAME, SECRET_BORN + "x"))
    with pytest.raises(DirectoryFileError,
                       match=r"^is not a valid client directory \(entry 1, field geboortedatum: \w+\)$"):
        FileDirectory(path)
    valid = json.dumps(entry("A B", "1990-01-01"))
    path.write_text('{"clients": [\n  ' + valid + ',\n  ' + valid + ' x]}', encoding="utf-8")
    with pytest.raises(DirectoryFileError,
                       match=rf"^is not valid JSON \(expected ',' or '\]' at line 3, column {len(valid) + 4}\)$"):
        FileDirectory(path)


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_new_file_keeps_the_last_good_one(tmp_path, caplog, content):
    caplog.set_level(logging.DEBUG)
    path = write(tmp_path / "c.json", entry("Goede Klant", "1990-01-01"))
    directory = FileDirectory(path)
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    bump(path)
    for _ in range(3):  # the bad version is read once, and logged once
        assert isinstance(await verdict(directory, "Goede Klant", "1990-01-01"), Eligible)
    rejected = [r for r in caplog.records if r.getMessage().startswith("client directory file rejected")]
    assert len(rejected) == 1 and rejected[0].levelno == logging.ERROR
    assert rejected[0].error.startswith(("is not valid JSON (", "is not a valid client directory ("))
    everything = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    for secret in (SECRET_NAME, *SECRET_NAME.split(), SECRET_BORN):
        assert secret not in everything
    # the operator's fix is picked up
    write(path, entry("Goede Klant", "1990-01-01"), entry("Andere Klant", "1991-01-01"))
    bump(path)
    assert isinstance(await verdict(directory, "Andere Klant", "1991-01-01"), Eligible)


async def test_a_file_that_disappears_keeps_the_last_good_one(tmp_path, caplog):
    path = write(tmp_path / "c.json", entry("Goede Klant", "1990-01-01"))
    directory = FileDirectory(path)
    path.unlink()
    for _ in range(3):
        assert isinstance(await verdict(directory, "Goede Klant", "1990-01-01"), Eligible)
    assert caplog.messages.count("client directory file unreadable; keeping the last good one") == 1
    write(path, entry("Andere Klant", "1991-01-01"))
    assert isinstance(await verdict(directory, "Andere Klant", "1991-01-01"), Eligible)
    assert await verdict(directory, "Goede Klant", "1990-01-01") == Ineligible(Reason.UNKNOWN_CLIENT)


async def test_a_slow_reload_answers_from_the_last_good_version_then_catches_up(tmp_path, caplog):
    path = write(tmp_path / "c.json", entry("Goede Klant", "1990-01-01"))
    directory = FileDirectory(path, reload_wait=0)
    write(path, *(entry(f"Klant Nummer{i}", "1990-01-01", klant_id=f"K-{i}") for i in range(3000)),
          entry("Andere Klant", "1991-01-01"))
    bump(path)
    assert isinstance(await verdict(directory, "Goede Klant", "1990-01-01"), Eligible)  # not loaded yet
    assert "client directory still loading; answered from the last good version" in caplog.messages
    for _ in range(200):  # the load goes on in its thread
        if len(directory) > 1:
            break
        await asyncio.sleep(0.05)
    assert isinstance(await verdict(directory, "Andere Klant", "1991-01-01"), Eligible)


async def test_check_every_spaces_the_checks(tmp_path):
    path = write(tmp_path / "c.json", entry("Goede Klant", "1990-01-01"))
    directory = FileDirectory(path, check_every=3600)
    write(path, entry("Andere Klant", "1991-01-01"))
    bump(path)
    assert await verdict(directory, "Andere Klant", "1991-01-01") == Ineligible(Reason.UNKNOWN_CLIENT)
    directory.check_every = 0
    assert isinstance(await verdict(directory, "Andere Klant", "1991-01-01"), Eligible)


def test_a_byte_order_mark_and_extra_keys_are_fine(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("\ufeff" + json.dumps({"_comment": "x", "versie": 2, "clients": [entry("A B", "1990-01-01")]}),
                    encoding="utf-8")
    assert len(FileDirectory(path)) == 1


def test_a_file_larger_than_the_read_window_is_read_whole(tmp_path):
    # entries straddle the 1 MB windows; a number is cut in two by a window's edge; a value is
    # longer than a window; the error at the end still names its line and column
    path = tmp_path / "c.json"
    lines = [json.dumps(entry(f"Klant Nummer{i}", "1990-01-01", i % 7, klant_id=f"K-{i}")) for i in range(6000)]
    head = '{"_comment": "' + "x" * 3_000_000 + '",\n "pad": ' + " " * (2**20 * 4 - 3_000_030) + "1234567,\n"
    body = '"clients": [\n' + ",\n".join(lines) + "\n]}"
    path.write_text(head + body, encoding="utf-8")
    assert len(FileDirectory(path)) == 6000
    broken = head + body.replace(lines[-1], lines[-1][:-1] + " x}")
    path.write_text(broken, encoding="utf-8")
    line = broken.count("\n", 0, broken.index(" x}")) + 1
    column = broken.index(" x}") - broken.rfind("\n", 0, broken.index(" x}")) + 1
    with pytest.raises(DirectoryFileError, match=rf"at line {line}, column {column}\)$"):
        FileDirectory(path)


async def test_every_entry_of_a_large_file_is_found(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"clients": [entry(f"Klant Nummer{i} Ünïcode", "1990-01-01", klant_id=f"K-{i}")
                                            for i in range(8000)]}, ensure_ascii=False), encoding="utf-8")
    directory = FileDirectory(path)
    for i in (0, 2999, 3000, 5001, 7999):
        found = await verdict(directory, f"unicode klant nummer{i}", "1990-01-01")
        assert isinstance(found, Eligible) and found.client.klant_id == f"K-{i}"


async def test_colleagues_are_the_agencys_trajectbegeleiders_each_once():
    """Issue 14, "Doorsturen": whom the file names for an agency, however many clients each has."""
    from bot.domain.model import Agency

    directory = FileDirectory(Path(__file__).resolve().parents[2] / "examples" / "clients.json")
    atlas = await directory.colleagues(Agency.ATLAS)
    assert [p.naam for p in atlas] == ["Els Peeters"]
    agii = await directory.colleagues(Agency.AGII)
    assert sorted(p.naam for p in agii) == ["Alex Wilber (demo)", "Sofie Maes"]
    assert all(p.agentschap is Agency.AGII for p in agii)
