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
    # -- the trajectbegeleider's side (issue 14: openstaand, toon, doorsturen, undo) --
    TOON = "toon"  # re-show a pending card to its recipient; data.handoff (also from digest reminders)
    OPENSTAAND = "openstaand"  # a page of the trajectbegeleider's waiting cards; data.pagina
    DOORSTUREN = "doorsturen"  # the choice of a colleague of the same agency; changes nothing
    BEVESTIG_DOORSTUREN = "bevestig_doorsturen"  # hand it to the chosen colleague (data.collega: from the list)
    ONGEDAAN_MAKEN = "ongedaan_maken"  # "Overgezet" undone within its window: the card waits again
    # issue 14, the counsellor's side: the overview, and correcting or withdrawing a sent one
    OVERZICHT = "overzicht"  # the counsellor's own terugkoppelingen; data.pagina = the page (from 1)
    CORRIGEER = "corrigeer"  # "Wijzigen" on the overview: the content form with the sent values
    INTREKKEN = "intrekken"  # asks for confirmation first; changes nothing
    BEVESTIG_INTREKKEN = "bevestig_intrekken"  # yes: the recipient's card removed, purged, the recipient told
