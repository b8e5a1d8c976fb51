"""Every ``Action.Execute`` verb the bot's cards carry, in one place.

The card templates, the invoke model (``bot.teams.activity``), the handler's table and the fuzz
test all take their verbs from here; ``tests/unit/test_vocabulary.py`` checks that the cards in
``cards/`` use exactly these and that the handler routes every one of them.
"""

from __future__ import annotations

from enum import StrEnum


class Verb(StrEnum):
    NIEUW = "nieuw"  # a new terugkoppeling, from a button
    IDENTIFICEER = "identificeer"
    HERBEGIN = "herbegin"  # after a refusal: the identification card again
    BEVESTIG_HERHALING = "bevestig_herhaling"  # art. 5: yes, send a second one
    BEKIJK = "bekijk"  # the preview
    WIJZIG = "wijzig"
    ANNULEER = "annuleer"
    VERSTUUR = "verstuur"
    OVERGEZET = "overgezet"
    NIET_MIJN_KLANT = "niet_mijn_klant"  # asks for confirmation first; changes nothing
    BEVESTIG_NIET_MIJN_KLANT = "bevestig_niet_mijn_klant"  # yes: purge, tell the counsellor, record the incident
    KENNIS_GENOMEN = "kennis_genomen"  # a DPO acknowledges an incident (art. 9); data.handoff = the notification id
    VERVERS = "ververs"  # Teams refreshing a card (Universal Actions ``refresh``): draft or handoff
    # digest reminders (issue 14): a button per pending terugkoppeling in the reminder; data.handoff
    TOON = "toon"
