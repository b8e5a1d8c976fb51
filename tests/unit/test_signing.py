"""The signed-file format on its own: what verifies, what does not, and which line it names;
the keys as people pass them; and the evidence pieces the export summarises."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.app import signing
from bot.app.evidence import WRONG_KEY, card_deletions, for_agency, verify
from bot.config import Settings
from bot.domain.audit import link
from bot.domain.model import Agency, AuditEvent
from bot.evidence_setup import processors_of

KEY = signing.private_key_from_seed(bytes(range(32)))
BODY = "seq,event\n1,sent\n2,transferred\n3,incident\n"


def event(seq: int, name: str, subject: str, agency: Agency | None = Agency.ATLAS) -> AuditEvent:
    # model_construct: the card_* names are newer than some vocabularies this runs against
    return AuditEvent.model_construct(at=datetime(2026, 11, 30, 9, tzinfo=UTC) + timedelta(minutes=seq), event=name,
                                      subject=subject, actor="", agency=agency, reason=None, seq=seq, mac=None)


def chained(events: list[AuditEvent], key: bytes) -> list[AuditEvent]:
    previous, out = "", []
    for e in events:
        mac = link(key, previous, e, e.seq)
        out.append(e.model_copy(update={"mac": mac}))
        previous = mac
    return out


@pytest.mark.parametrize("kind", ["csv", "json", "html"])
def test_a_signed_file_verifies_and_its_last_line_is_the_signature(kind):
    body = BODY if kind != "json" else '{\n "events": [1, 2],\n'
    data = signing.sign(body, KEY, kind)
    assert data.startswith(body.encode()) and data.count(b"\n") == body.count("\n") + 1
    check = signing.verify(data, KEY.public_key())
    assert check.valid and check.lines == body.count("\n")
    assert check.fingerprint == signing.fingerprint(KEY.public_key())


def test_an_edit_names_its_line_an_insertion_its_place():
    data = signing.sign(BODY, KEY, "csv")
    edited = signing.verify(data.replace(b"transferred", b"transferreD"), KEY.public_key())
    assert edited.line == 3 and edited.message.startswith("line 3 (event #2) differs from what was signed")
    inserted = signing.verify(data.replace(b"2,transferred\n", b"2,transferred\n2b,sent\n"), KEY.public_key())
    assert not inserted.valid and inserted.line == 4 and "4 lines were signed, the file has 5" in inserted.message
    dropped = signing.verify(data.replace(b"1,sent\n", b""), KEY.public_key())
    assert not dropped.valid and dropped.line == 2


def test_the_signature_line_itself_and_foreign_files():
    data = signing.sign(BODY, KEY, "csv")
    last = data.rsplit(b"\n", 2)[1]
    altered = data.replace(last, last[:-1] + (b"A" if last[-1:] != b"A" else b"B"))  # a digest, not the content
    check = signing.verify(altered, KEY.public_key())
    assert not check.valid and "the signature line" in check.message and check.line == 5
    assert "not a signature line" in signing.verify(BODY.encode(), KEY.public_key()).message
    assert not signing.verify(b"", KEY.public_key()).valid
    other = Ed25519PrivateKey.generate().public_key()
    assert "signed by another key" in signing.verify(data, other).message


def test_keys_as_people_pass_them(tmp_path):
    public = KEY.public_key()
    text, pem = signing.public_key_text(public), signing.public_key_pem(public)
    (tmp_path / "key.pem").write_text(f"fingerprint: {signing.fingerprint(public)}\n{pem}")
    (tmp_path / "key.txt").write_text(f"Ed25519 public key: {text}\n")
    for given in (text, pem, str(tmp_path / "key.pem"), str(tmp_path / "key.txt")):
        assert signing.fingerprint(signing.load_public_key(given)) == signing.fingerprint(public)
    for bad in ("", "not a key", base64.b64encode(bytes(16)).decode(), str(tmp_path / "missing.pem")):
        with pytest.raises(signing.BadKey):
            signing.load_public_key(bad)
    with pytest.raises(signing.BadKey):
        signing.private_key_from_seed(bytes(31))
    assert len(signing.fingerprint(public)) == 39 and signing.fingerprint(public).count("-") == 7


def test_an_agency_sees_the_events_that_name_it_only():
    events = [event(1, "started", "d1", None), event(2, "sent", "TK-A"), event(3, "sent", "TK-B", Agency.AMAL),
              event(4, "refused", "d2", None)]
    assert [e.seq for e in for_agency(events, Agency.ATLAS)] == [2]
    assert [e.seq for e in for_agency(events, Agency.AGII)] == []
    assert for_agency(events, None) == events


def test_card_deletions_follow_each_cards_last_event():
    events = [event(1, "card_overwritten", "TK-A"), event(2, "card_deleted", "TK-A"),
              event(3, "card_delete_failed", "TK-B"), event(4, "card_delete_failed", "TK-C"),
              event(5, "card_deleted", "TK-C")]
    cards = card_deletions(events)
    assert (cards["overwritten"], cards["deleted"], cards["delete_failed"]) == (1, 2, 2)
    assert cards["deletion_proven"] == ["TK-A", "TK-C"] and cards["deletion_unproven"] == ["TK-B"]


def test_a_wrong_key_is_told_apart_from_an_edited_event():
    events = chained([event(1, "started", "d1", None), event(2, "sent", "TK-A"), event(3, "transferred", "TK-A")],
                     b"k" * 32)
    assert verify(events, 3, b"k" * 32).intact
    assert verify(events, 3, b"x" * 32).problem == WRONG_KEY
    edited = [events[0], events[1].model_copy(update={"actor": "someone"}), events[2]]
    assert verify(edited, 3, b"k" * 32).problem == "event #2 was altered, or moved from elsewhere"
    first = [events[0].model_copy(update={"actor": "someone"}), *events[1:]]
    assert verify(first, 3, b"k" * 32).problem == "event #1 was altered, or moved from elsewhere"


def test_processors_follow_the_configuration():
    local = processors_of(Settings(_env_file=None))
    assert [p["name"] for p in local][0] == "Microsoft Teams en Azure Bot Service (Microsoft)"
    assert any("SQLite" in p["name"] for p in local) and not any("Key Vault" in p["name"] for p in local)
    azure = processors_of(Settings(_env_file=None, BOT_STORE="https://acc.table.core.windows.net",
                                   BOT_KEY_VAULT_URL="https://v.vault.azure.net", BOT_HOSTING="Azure Container Apps",
                                   APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=x"))
    assert [p["name"] for p in azure] == ["Microsoft Teams en Azure Bot Service (Microsoft)",
                                          "Azure Table Storage (Microsoft)", "Azure Key Vault (Microsoft)",
                                          "Azure Container Apps", "Application Insights (Microsoft)"]
    given = processors_of(Settings(_env_file=None, BOT_PROCESSORS="Hoster NV: draait de bot; Mailer BV"))
    assert given == [{"name": "Hoster NV", "role": "draait de bot"}, {"name": "Mailer BV", "role": ""}]


def test_a_large_csv_export_verifies():
    """100k events make a signature row of ~1 MB: more than the csv module reads in one field."""
    body = "".join(f"{i},sent\n" for i in range(30_000))
    data = signing.sign(body, KEY, "csv")
    assert len(data.rsplit(b"\n", 2)[1]) > 131_072
    assert signing.verify(data, KEY.public_key()).valid
    assert signing.verify(data.replace(b"\n29998,", b"\n29999,"), KEY.public_key()).line == 29_999


def test_a_re_saved_file_is_told_apart_from_an_edited_one():
    data = signing.sign(BODY, KEY, "csv")
    for resaved in (data.replace(b"\n", b"\r\n"), b"\xef\xbb\xbf" + data):
        check = signing.verify(resaved, KEY.public_key())
        assert not check.valid and "re-saved" in check.message and "exactly as signed" in check.message
    edited = data.replace(b"\n", b"\r\n").replace(b"incident", b"incidenT")
    assert "re-saved" not in signing.verify(edited, KEY.public_key()).message


def test_a_verified_export_says_what_it_covers():
    from bot.app import export
    from bot.app.evidence import Verdict

    built = export.build([], Verdict(0), [], agency=Agency.ATLAS, since=datetime(2026, 11, 30, tzinfo=UTC),
                         until=datetime(2026, 12, 1, tzinfo=UTC), exported_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
                         fingerprint=signing.fingerprint(KEY.public_key()))
    for data in (export.to_json(built, KEY), export.to_csv(built, KEY)):
        assert signing.verify(data, KEY.public_key()).message.endswith(
            "; it covers agency atlas, 2026-11-30 up to 2026-12-01 (not included), exported 2026-12-01T08:00:00+00:00")
