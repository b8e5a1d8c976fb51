"""Hostile input, black-box over HTTP: an INSZ hidden behind any separator, invisible and bidi
characters, over-long fields, a directory matched in any name order and followed as it changes.
Each refusal is a clear Dutch message next to its field, and nothing is stored or sent."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from bot.domain.template import TEXT_RULES, ErrorCode, FieldError
from bot.teams import texts as texts_nl
from bot.teams.activity import MAX_INPUT_CHARS
from tests.e2e.flows import CONTENT, identify
from tests.support.cards import inputs, texts

INSZ = "85073003328"
SEPARATORS = {
    "zero-width space": "\u200b", "soft hyphen": "\u00ad", "word joiner": "\u2060", "en dash": "\u2013",
    "em dash": "\u2014", "no-break space": "\u00a0", "thin space": "\u2009", "narrow no-break space": "\u202f",
    "dot": ".", "slash": "/", "zero-width non-joiner": "\u200c", "left-to-right mark": "\u200e",
    "byte order mark": "\ufeff", "line break": "\n",
}
INVISIBLE = {
    "left-to-right mark": "\u200e", "right-to-left mark": "\u200f", "arabic letter mark": "\u061c",
    "left-to-right embedding": "\u202a", "right-to-left embedding": "\u202b", "pop directional formatting": "\u202c",
    "left-to-right override": "\u202d", "right-to-left override": "\u202e", "left-to-right isolate": "\u2066",
    "right-to-left isolate": "\u2067", "first strong isolate": "\u2068", "pop directional isolate": "\u2069",
    "zero-width space": "\u200b", "zero-width joiner": "\u200d", "soft hyphen": "\u00ad", "word joiner": "\u2060",
    "byte order mark": "\ufeff", "tag character": "\U000e0041", "private use": "\ue000",
    "line separator": "\u2028",
}
TEXT_FIELDS = {f: TEXT_RULES[f].max_len for f in ("jobdoelwit", "partner", "toelichting")}


async def _draft(harness):
    events = await harness.runtime.store.audit_events()
    return await harness.runtime.store.get_draft(events[0].subject)


def message(field: str, code: ErrorCode, limit: int | None = None) -> str:
    """The Dutch sentence the card shows for this error (the wording lives in bot/teams/texts.py)."""
    return texts_nl.field_error(FieldError(field, code, limit))


def error_under(card: dict, field: str) -> str:
    """The text right under the input ``field``, where the card shows that field's errors (each on
    its own line, on an attention band), joined by a space."""
    body = card["body"]
    position = next(i for i, e in enumerate(body) if e.get("id") == field)
    below = body[position + 1]
    assert below.get("style") == "attention", below
    return " ".join(line["text"] for line in below["items"])


async def assert_nothing_kept_or_sent(harness, counsellor, stage: str) -> None:
    draft = await _draft(harness)
    assert draft.stage.value == stage
    assert draft.client is None or draft.client.content is None
    assert not harness.connector.calls_to_conversations(exclude=counsellor.conversation_id)
    assert INSZ.encode() not in harness.db_bytes()
    assert INSZ not in harness.all_logs()


@pytest.mark.parametrize("separator", SEPARATORS.values(), ids=SEPARATORS.keys())
async def test_an_insz_behind_any_separator_is_refused_in_the_content(harness, counsellor, separator):
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    typed = {**CONTENT, "toelichting": "Zijn nummer is " + separator.join(INSZ) + ", graag nakijken."}
    card = await counsellor.click("bekijk", typed)
    assert error_under(card, "toelichting") == message("toelichting", ErrorCode.INSZ)
    assert inputs(card)["toelichting"] == typed["toelichting"]  # the form keeps what was typed
    await assert_nothing_kept_or_sent(harness, counsellor, "compose")


@pytest.mark.parametrize("separator", ["\u200b", "\u2013", "\u00a0"], ids=["zero-width space", "en dash", "nbsp"])
async def test_an_insz_as_the_name_is_refused_before_any_look_up(harness, counsellor, separator):
    await counsellor.say("terugkoppeling")
    written = f"85{separator}07{separator}30{separator}033{separator}28"
    card = await counsellor.click("identificeer", {"naam": written, "geboortedatum": "1990-04-12"})
    assert error_under(card, "naam") == message("naam", ErrorCode.INSZ)
    await assert_nothing_kept_or_sent(harness, counsellor, "identify")


@pytest.mark.parametrize(("char", "field"), [(c, ("jobdoelwit", "toelichting")[i % 2])  # one- and multiline
                                             for i, c in enumerate(INVISIBLE.values())], ids=INVISIBLE.keys())
async def test_every_invisible_or_bidi_character_is_refused(harness, counsellor, char, field):
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    typed = {**CONTENT, field: f"Magazijn{char}medewerker"}
    card = await counsellor.click("bekijk", typed)
    assert error_under(card, field) == message(field, ErrorCode.CONTROL)
    await assert_nothing_kept_or_sent(harness, counsellor, "compose")


async def test_an_invisible_character_in_the_name_is_refused(harness, counsellor):
    await counsellor.say("terugkoppeling")
    card = await counsellor.click("identificeer", {"naam": "Amina\u202e El Idrissi", "geboortedatum": "1990-04-12"})
    assert error_under(card, "naam") == message("naam", ErrorCode.CONTROL)
    await assert_nothing_kept_or_sent(harness, counsellor, "identify")


@pytest.mark.parametrize(("field", "limit"), TEXT_FIELDS.items())
@pytest.mark.parametrize("extra", [1, 1_500])
async def test_an_over_long_field_is_an_error_next_to_it_never_cut(harness, counsellor, field, limit, extra):
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    # the end matters: once, 2,000 raw characters were kept and the rest silently dropped
    long_value = "  " + "woord " * ((limit + extra) // 6) + "einde" + "  "
    typed = {**CONTENT, field: long_value}
    card = await counsellor.click("bekijk", typed)
    assert error_under(card, field) == message(field, ErrorCode.TOO_LONG, limit)
    assert inputs(card)[field] == long_value  # echoed whole
    await assert_nothing_kept_or_sent(harness, counsellor, "compose")


async def test_trimming_comes_before_the_length_check(harness, counsellor):
    await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    card = await counsellor.click("bekijk", {**CONTENT, "partner": " " * 3_000 + "Groep Intro" + " " * 3_000})
    assert "Groep Intro" in texts(card)
    assert message("partner", ErrorCode.TOO_LONG, TEXT_RULES["partner"].max_len) not in texts(card)
    assert (await _draft(harness)).stage.value == "preview"


async def test_an_over_long_name_is_an_error_next_to_it(harness, counsellor):
    await counsellor.say("terugkoppeling")
    limit = TEXT_RULES["naam"].max_len
    card = await counsellor.click("identificeer", {"naam": "Amina " * limit, "geboortedatum": "1990-04-12"})
    assert error_under(card, "naam") == message("naam", ErrorCode.TOO_LONG, limit)
    await assert_nothing_kept_or_sent(harness, counsellor, "identify")


async def test_inputs_past_any_card_are_an_invalid_action_and_change_nothing(harness, counsellor):
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    data = {**next(a["data"] for a in card["actions"] if a.get("verb") == "bekijk"), **CONTENT,
            "toelichting": "x" * (MAX_INPUT_CHARS + 1)}
    status, body = await counsellor.invoke({"action": {"type": "Action.Execute", "verb": "bekijk", "data": data},
                                            "trigger": "manual"})
    assert status == 400 and body["value"]["message"] == texts_nl.BAD_ACTION
    await assert_nothing_kept_or_sent(harness, counsellor, "compose")


@pytest.mark.parametrize("typed", ["Haddad Samira", "HADDAD, Samira", "samira haddad"])
async def test_the_client_is_found_with_the_names_in_any_order(harness, counsellor, typed):
    card = await identify(counsellor, typed, "1996-05-05")
    assert "jobdoelwit" in inputs(card)
    assert "Alex Wilber (demo)" in " ".join(texts(card))


async def test_words_in_another_order_still_refuse_two_matches(harness, counsellor):
    card = await identify(counsellor, "WEI, Li", "1991-10-10")
    assert texts(card)[0] == "Meerdere klanten gevonden"


@pytest.fixture
def directory_file(tmp_path) -> Path:
    source = Path(__file__).resolve().parents[2] / "examples" / "clients.json"
    path = tmp_path / "clients.json"
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def bot_env(directory_file) -> dict[str, str]:
    return {"BOT_DIRECTORY_FILE": str(directory_file)}


def rewrite(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data["clients"])
    path.write_text(json.dumps(data), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


async def test_a_corrected_directory_file_is_used_without_a_restart(harness, counsellor, directory_file):
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    assert "Els Peeters" in " ".join(texts(card))
    pieter = next(c["trajectbegeleider"] for c in json.loads(directory_file.read_text())["clients"]
                  if c["trajectbegeleider"]["naam"] == "Pieter De Smet")

    def to_pieter(clients):
        next(c for c in clients if c["naam"] == "Amina El Idrissi")["trajectbegeleider"] = pieter

    rewrite(directory_file, to_pieter)
    await counsellor.click("annuleer")
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    assert "Pieter De Smet" in " ".join(texts(card)) and "Els Peeters" not in " ".join(texts(card))


async def test_a_broken_directory_file_keeps_the_last_good_one_and_logs_no_data(harness, counsellor,
                                                                                 directory_file):
    directory_file.write_text('{"clients": [{"klant_id": "K-1", "naam": "Qzxsentinel Vandenberghe", '
                              '"geboortedatum": "17/07/1977"}]}', encoding="utf-8")
    st = directory_file.stat()
    os.utime(directory_file, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    card = await identify(counsellor, "Amina El Idrissi", "1990-04-12")
    assert "Els Peeters" in " ".join(texts(card))
    logged = harness.all_logs()
    assert "client directory file rejected" in logged and "entry 0" in logged
    for private in ("Qzxsentinel", "Vandenberghe", "1977", "K-1\""):
        assert private not in logged


async def test_a_service_url_nobody_answers_is_a_503_not_a_500(harness, counsellor):
    with socket.socket() as closed:  # a port that was free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    status, _ = await harness.post(counsellor.activity(text="hallo", serviceUrl=f"http://127.0.0.1:{port}"))
    assert status == 503
    assert "connector unreachable" in harness.all_logs()


@pytest.mark.parametrize("url", ["x", "ftp://127.0.0.1/", "http://[::1", "http://127.0.0.1:99999/", "https://"])
async def test_a_service_url_no_reply_could_go_to_is_a_400(harness, counsellor, url):
    status, _ = await harness.post(counsellor.activity(text="terugkoppeling", serviceUrl=url))
    assert status == 400
    assert not await harness.runtime.store.audit_events()  # no draft was started
