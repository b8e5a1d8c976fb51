"""One record the bot cannot open (sealed under a key it no longer has) is reported and skipped: the
sweep still reminds and purges every other record (issue 17)."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import build
from tests.e2e.conftest import ELS, PIETER, VDAB
from tests.e2e.flows import send

KEY_A = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
KEY_B = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="


async def test_the_sweep_skips_what_it_cannot_open_and_purges_the_rest(harness, connector):
    await send(harness.user("aad-bram", VDAB, "Bram"))  # → Els, sealed under key A
    harness.env.update({"BOT_DATA_KEY": KEY_B, "BOT_DATA_KEYS_PREVIOUS": KEY_A, "BOT_HMAC_KEY": KEY_A})
    await harness.restart()
    await send(harness.user("aad-sofie", VDAB, "Sofie"), "Yonas Tesfaye", "1987-11-03")  # → Pieter, under key B
    await harness.stop()

    # Key A is dropped by mistake; the sweep (which may run anyway) must not stop at the first bad record.
    settings = harness.settings().model_copy(update={"data_keys_previous": ""})
    runtime = await build(settings, clock=harness.clock, strict_keys=False)
    try:
        harness.clock.set(harness.clock.now() + timedelta(days=31))
        done = await runtime.service.sweep()
        assert done["unreadable"] == 1 and done["expire"] == 1
        events = await runtime.store.audit_events()
        assert [e.event.value for e in events].count("record_unreadable") == 1
        assert any(e.event.value == "expired" and e.agency.value == "amal" for e in events)
    finally:
        await runtime.close()
    assert connector.cards_to(ELS) and connector.cards_to(PIETER)  # both were delivered before the key went
