"""Every sentence a user reads, in Dutch (nl-BE), in one place."""

from __future__ import annotations

from bot.domain.model import Agency, Reason
from bot.domain.template import ErrorCode, FieldError, Stap

AGENCY_NAMES: dict[Agency, str] = {
    Agency.AGII: "Agentschap Integratie en Inburgering",
    Agency.ATLAS: "Atlas Antwerpen",
    Agency.AMAL: "Amal Gent",
}

# How values read on cards and in messages.
MOMENT = "{day} om {time}"
LIST_SEPARATOR = ", "
EMPTY_FIELD = "—"
UNKNOWN = "?"
PERSON_AT = "{name} ({agency})"
A_COUNSELLOR = "een bemiddelaar"
# The counsellor's own preview: they are the sender (the recipient's card names them).
PREVIEW_HEADING = "Van jou · nog niet verstuurd"
RECIPIENT_HEADING = "{reference} · van {counsellor} · {sent}"
SENT_TITLE = "Terugkoppeling verstuurd"
SENT_AT = "Verstuurd"
OFFERED_AT = "Aangeboden"
UNSUPPORTED_INVOKE = "Deze actie wordt niet ondersteund."
BAD_ACTION = "Deze knop werkt niet. Open het bericht opnieuw of typ 'help'."
# The functioneel beheerder runs the bot for VDAB; BOT_ADMIN_CONTACT says how to reach them.
ADMIN = "de functioneel beheerder"
ADMIN_WITH_CONTACT = "de functioneel beheerder ({contact})"
# The protocol's period (art. 5, 12), in the refusal outside it.
PERIOD_FROM = "vanaf {start}"
PERIOD_BETWEEN = "van {start} tot en met {end}"
OTHER_CLIENT = "Andere klant"  # short: three buttons fit side by side at 320 px

FIELD_LABELS: dict[str, str] = {
    "naam": "Naam van de klant",
    "geboortedatum": "Geboortedatum",
    "jobdoelwit": "Jobdoelwit of sector",
    "eerstvolgende_contact": "Volgende afspraak",
    "eerstvolgende_contact_tijd": "Uur",
    "stappen": "Geplande stappen naar werk",
    "partner": "Betrokken partnerorganisatie",
    "toelichting": "Toelichting bij de stappen",
}

STAP_LABELS: dict[Stap, str] = {
    Stap.OPLEIDING: "Opleiding",
    Stap.STAGE: "Stage",
    Stap.VRIJWILLIGERSWERK: "Vrijwilligerswerk",
    Stap.TAALONDERSTEUNING: "Taalondersteuning",
    Stap.ORIENTATIE: "Oriëntatie",
    Stap.BEGELEIDING: "Begeleiding",
}

_ART3 = "het protocol laat alleen het jobdoelwit, de volgende afspraak en de stappen naar werk toe."
_ERRORS: dict[ErrorCode, str] = {
    ErrorCode.REQUIRED: "Vul dit veld in.",
    ErrorCode.TOO_SHORT: "Gebruik minstens {limit} tekens.",
    ErrorCode.TOO_LONG: "Kort de tekst in tot hoogstens {limit} tekens.",
    ErrorCode.BAD_DATE: "Typ een bestaande datum als dd/mm/jjjj, bijvoorbeeld 12/04/1990.",
    ErrorCode.BAD_TIME: "Kies een geldig uur (uu:mm).",
    ErrorCode.NOT_PAST: "Kies een geboortedatum in het verleden.",
    ErrorCode.AGE: "Kijk de geboortedatum na: de klant moet tussen 16 en 100 jaar oud zijn.",
    ErrorCode.NOT_FUTURE: "Kies vandaag of een latere datum.",
    ErrorCode.BAD_CHOICE: "Kies alleen stappen uit de lijst.",
    ErrorCode.NO_CHOICE: "Kies minstens één stap.",
    ErrorCode.CONTROL: "Verwijder de onzichtbare of niet-toegelaten tekens uit dit veld.",
    ErrorCode.INSZ: (
        "Verwijder het rijksregisternummer (INSZ): het protocol staat het niet toe. Naam en geboortedatum volstaan."
    ),
    ErrorCode.EMAIL: "Verwijder het e-mailadres: dat hoort niet in de terugkoppeling.",
    ErrorCode.PHONE: "Verwijder het telefoonnummer: dat hoort niet in de terugkoppeling.",
    ErrorCode.IBAN: "Verwijder het rekeningnummer: dat hoort niet in de terugkoppeling.",
    # special-category and judicial data: name the kind, never the words that were found
    ErrorCode.HEALTH: f"Verwijder de gezondheidsgegevens (ziekte, behandeling, beperking): {_ART3}",
    ErrorCode.PREGNANCY: f"Verwijder wat over zwangerschap of bevalling gaat: {_ART3}",
    ErrorCode.RELIGION: f"Verwijder wat over godsdienst of levensbeschouwing gaat: {_ART3}",
    ErrorCode.ETHNIC_ORIGIN: f"Verwijder wat over etnische afkomst gaat: {_ART3}",
    ErrorCode.SEXUAL_ORIENTATION: f"Verwijder wat over seksuele geaardheid of genderidentiteit gaat: {_ART3}",
    ErrorCode.UNION_MEMBERSHIP: f"Verwijder wat over vakbondslidmaatschap gaat: {_ART3}",
    ErrorCode.CRIMINAL: f"Verwijder de gerechtelijke gegevens (veroordeling, strafzaak, detentie): {_ART3}",
    ErrorCode.DEBT_MEDIATION: f"Verwijder wat over schulden of schuldbemiddeling gaat: {_ART3}",
}


def field_error(error: FieldError) -> str:
    return _ERRORS[error.code].format(limit=error.limit)


# Above the buttons of a form that came back with mistakes.
ERRORS_SUMMARY_ONE = "1 veld vraagt je aandacht. Pas het aan en probeer opnieuw."
ERRORS_SUMMARY_MANY = "{count} velden vragen je aandacht. Pas ze aan en probeer opnieuw."


def errors_summary(fields: int) -> str:
    return ERRORS_SUMMARY_ONE if fields == 1 else ERRORS_SUMMARY_MANY.format(count=fields)


REFUSALS: dict[Reason, tuple[str, str]] = {
    Reason.NOT_PERSONAL: (
        "Alleen in een persoonlijke chat",
        "Een terugkoppeling bevat persoonsgegevens. Open een persoonlijke chat met de bot om een terugkoppeling "
        "te versturen.",
    ),
    Reason.COUNSELLOR_TENANT: (
        "Geen toegang",
        "Alleen bemiddelaars van VDAB kunnen een terugkoppeling versturen.",
    ),
    Reason.OUTSIDE_PROTOCOL: (
        "Protocol niet van kracht",
        "Terugkoppelingen via Teams kunnen alleen tijdens de looptijd van het protocol: {periode}. "
        "Er werd niets verstuurd.",
    ),
    Reason.UNKNOWN_CLIENT: (
        "Klant niet gevonden",
        "Er is geen klant met deze naam en geboortedatum in het klantvolgsysteem. "
        "Kijk de schrijfwijze en de geboortedatum na. Er werd niets verstuurd.",
    ),
    Reason.AMBIGUOUS_CLIENT: (
        "Meerdere klanten gevonden",
        "Meer dan één klant heeft deze naam en geboortedatum, dus de bot kan de juiste "
        "trajectbegeleider niet bepalen. Bezorg deze terugkoppeling via de gewone weg. Er werd niets verstuurd.",
    ),
    Reason.NOT_ACTIVE: (
        "Geen actief inburgeringstraject",
        "Deze klant heeft geen actief inburgeringstraject. Het protocol laat een terugkoppeling alleen "
        "toe voor klanten die een actief inburgeringstraject volgen. Er werd niets verstuurd.",
    ),
    Reason.RECIPIENT_NOT_ALLOWED: (
        "Trajectbegeleider niet bereikbaar",
        "De trajectbegeleider van deze klant hoort niet bij een toegelaten agentschap. "
        "Er werd niets verstuurd. Meld dit aan {beheerder}.",
    ),
    Reason.NOT_OWNER: (
        "Niet jouw terugkoppeling",
        "Alleen de bemiddelaar die deze terugkoppeling begon, kan ze verder invullen.",
    ),
    Reason.NOT_RECIPIENT: (
        "Niet voor jou bestemd",
        "Alleen de trajectbegeleider aan wie deze terugkoppeling gericht is, kan ze bekijken of afhandelen.",
    ),
    Reason.STALE: (
        "Deze terugkoppeling is niet meer open",
        "Ze is al verstuurd, afgehandeld of geannuleerd, of ze is verlopen. "
        "Typ 'terugkoppeling' om een nieuwe te beginnen.",
    ),
    Reason.DIRECTORY_UNAVAILABLE: (
        "Klantvolgsysteem niet bereikbaar",
        "Het klantvolgsysteem van VDAB is nu niet bereikbaar. Probeer het over enkele minuten opnieuw. "
        "Er werd niets verstuurd en niets bewaard.",
    ),
    Reason.RECIPIENT_UNRESOLVED: (
        "Trajectbegeleider niet gevonden in Teams",
        "Het klantvolgsysteem noemt een trajectbegeleider die de bot niet in Teams van het agentschap vindt. "
        "Er werd niets verstuurd. Meld dit aan {beheerder}.",
    ),
    Reason.AGENCY_ENDED: (
        "Agentschap neemt niet meer deel",
        "Het agentschap van deze trajectbegeleider neemt niet meer deel aan het protocol. Er werd niets "
        "verstuurd. Bezorg de informatie via de gewone weg als dat nog mag.",
    ),
    Reason.AGENCY_NOT_LISTED: (
        "Agentschap neemt niet deel",
        "Het agentschap van deze trajectbegeleider neemt (nu) niet deel aan het protocol. Er werd niets "
        "verstuurd. Bezorg de informatie via de gewone weg als dat mag, of vraag {beheerder} wanneer het "
        "agentschap weer deelneemt.",
    ),
    Reason.RATE_LIMITED: (
        "Even geduld",
        "Je hebt op korte tijd veel pogingen gedaan. Wacht tien minuten en probeer het dan opnieuw. "
        "Er werd niets verstuurd.",
    ),
    Reason.RECIPIENT_CHANGED: (
        "Andere trajectbegeleider",
        "Het klantvolgsysteem noemt intussen een andere trajectbegeleider voor deze klant, of de klant volgt "
        "geen actief inburgeringstraject meer. Er werd niets verstuurd. Zoek de klant opnieuw op.",
    ),
}

GROUP_CHAT = (
    "Een terugkoppeling bevat persoonsgegevens en kan alleen in een persoonlijke chat met de bot. "
    "Open een persoonlijke chat met de bot en typ 'terugkoppeling'."
)

# The help card (for 'help' and for any text the bot does not know) and the welcome, by role.
HELP_TITLE = "Wat doet deze bot?"
WELCOME_TITLE = "Welkom bij de terugkoppeling-bot"
UNKNOWN_COMMAND = "De bot begrijpt dat bericht niet. Hieronder lees je wat hij doet en wat je kan typen."
HELP_INTRO = (
    "Met deze bot stuurt een VDAB-bemiddelaar een terugkoppeling naar de trajectbegeleider van een klant "
    "die een actief inburgeringstraject volgt, volgens het protocol tussen VDAB en de agentschappen. "
    "De trajectbegeleider neemt ze over in KBI/Allis; daarna verdwijnt ze uit de chat en uit het systeem."
)
HELP_COUNSELLOR = (
    "Als bemiddelaar typ je 'terugkoppeling' of klik je op 'Nieuwe terugkoppeling'. De bot zoekt de klant "
    "op in het klantvolgsysteem en stuurt je terugkoppeling naar de trajectbegeleider die daar staat."
)
HELP_RECIPIENT = (
    "Als trajectbegeleider krijg je de terugkoppelingen over je klanten in deze chat. Neem elke "
    "terugkoppeling over in KBI/Allis en klik dan op 'Overgezet'. Is het niet jouw klant? Klik dan op "
    "'Niet mijn klant'. Blijft een terugkoppeling liggen, dan krijg je een herinnering."
)
HELP_COMMANDS_TITLE = "Opdrachten"
COMMAND_START = ("terugkoppeling", "een nieuwe terugkoppeling beginnen")
COMMAND_HELP = ("help", "deze uitleg")
HELP_PROTOCOL = "Het protocol tussen VDAB en de agentschappen:"
HELP_PROTOCOL_ASK = "Het protocol tussen VDAB en de agentschappen vraag je op bij {beheerder}."
HELP_CONTACT = "Vragen of problemen? Neem contact op met {beheerder}."
NEW_HANDOFF = "Nieuwe terugkoppeling"
READ_PROTOCOL = "Protocol lezen"
DRAFT_ENDED_TITLE = "Deze terugkoppeling is niet meer open"
DRAFT_ENDED_TEXT = (
    "Ze is verstuurd of geannuleerd, of ze is verlopen. De gegevens zijn hier verwijderd. "
    "Typ 'terugkoppeling' om een nieuwe te beginnen."
)
CANCELLED_TITLE = "Geannuleerd"
CANCELLED_TEXT = "De terugkoppeling werd geannuleerd. Er werd niets verstuurd en niets bewaard."
NOT_DELIVERED = (
    "Versturen is niet gelukt: Teams weigerde het bericht aan de trajectbegeleider. Er werd niets "
    "verstuurd. Probeer het later opnieuw of neem contact op met {beheerder}."
)
NOT_INSTALLED = (
    "Versturen is niet gelukt: de bot kon niet voor de trajectbegeleider geïnstalleerd worden in Teams, "
    "en zonder de app kan Teams hen geen bericht sturen. Er werd niets verstuurd. Vraag {beheerder} om "
    "de Teams-beheerder van het agentschap de app te laten toestaan, en probeer het daarna opnieuw."
)
QUEUED_TITLE = "Terugkoppeling wordt verstuurd"
QUEUED_TEXT = (
    "Teams antwoordt nu even niet. De bot probeert het automatisch opnieuw en stuurt je een bericht "
    "zodra de terugkoppeling is aangekomen, of als het niet lukt. Je hoeft niets opnieuw te versturen."
)
ALREADY_CLOSED = "Deze terugkoppeling ({reference}) werd al afgehandeld. De inhoud is verwijderd."

# "Niet mijn klant" asks first: what confirming does cannot be undone.
RETURN_TITLE = "Is {reference} niet jouw klant?"
RETURN_INTRO = "Als je bevestigt, gebeurt dit meteen:"
RETURN_CONSEQUENCES = (
    "de terugkoppeling wordt uit de chat en uit het systeem gewist;",
    "de bemiddelaar krijgt bericht dat ze niet bij jou hoort;",
    "de bot registreert een incident: een terugkoppeling bij de verkeerde persoon is een datalek "
    "(art. 9 van het protocol).",
)
RETURN_IRREVERSIBLE = "Dit kan je niet ongedaan maken. Klik op 'Terug' als het wel jouw klant is."

NOTIFICATION_SUMMARY = "Nieuwe terugkoppeling {reference} van VDAB"
TRANSFERRED_RECIPIENT = (
    "{reference} is overgezet naar KBI/Allis. De terugkoppeling is uit de chat en uit het systeem verwijderd."
)
RETURNED_RECIPIENT = (
    "{reference} is teruggestuurd als 'niet mijn klant'. De terugkoppeling is verwijderd en de "
    "bemiddelaar is verwittigd."
)
TRANSFERRED_COUNSELLOR = (
    "{reference}: de trajectbegeleider heeft je terugkoppeling overgezet naar KBI/Allis. "
    "De inhoud is nu overal verwijderd. Je hoeft niets meer te doen."
)
RETURNED_COUNSELLOR = (
    "{reference}: de trajectbegeleider meldt dat dit niet hun klant is. De terugkoppeling is "
    "verwijderd en als incident geregistreerd. Kijk de trajectbegeleider na in het klantvolgsysteem en "
    "verstuur de terugkoppeling daarna opnieuw met 'terugkoppeling'."
)

REMINDER = (
    "Herinnering: terugkoppeling {reference} van {sent} wacht nog. Neem ze over in KBI/Allis en klik "
    "op 'Overgezet' (of op 'Niet mijn klant'). Op {purge} wordt ze automatisch gewist."
)
EXPIRED_RECIPIENT = (
    "{reference} werd niet binnen {retention} dagen als overgezet bevestigd en is automatisch uit de "
    "chat en uit het systeem gewist. De bemiddelaar is verwittigd."
)
UNDELIVERABLE_RECIPIENT = "{reference} kon niet bezorgd worden en is gewist."
WITHDRAWN_RECIPIENT = "{reference} werd ingetrokken. De terugkoppeling is uit deze chat en uit het systeem verwijderd."
PROTOCOL_ENDED_COUNSELLOR = (
    "{reference} werd ingetrokken: het protocol, of de deelname van het agentschap van {recipient}, is "
    "afgelopen. De inhoud is gewist. Is de informatie nog nodig, vraag dan {beheerder} hoe je ze nu "
    "bezorgt."
)
INCIDENT_WITHDRAWN_COUNSELLOR = (
    "{reference} werd ingetrokken: er werd gemeld dat ze bij de verkeerde persoon terechtkwam, of een "
    "ander incident. De inhoud is gewist bij {recipient} en in de bot; de DPO's worden verwittigd. "
    "Zoek de klant opnieuw op met 'terugkoppeling' als er nog een terugkoppeling nodig is: de bot "
    "vraagt de juiste trajectbegeleider dan opnieuw op."
)
PROTOCOL_ENDS = "Let op: terugkoppelingen via Teams kunnen nog tot en met {day}."
NO_LONGER_ELIGIBLE_COUNSELLOR = (
    "{reference} werd niet bezorgd: het klantvolgsysteem noemt intussen een andere trajectbegeleider, of de "
    "klant volgt geen actief inburgeringstraject meer. De inhoud is gewist. Zoek de klant opnieuw op met "
    "'terugkoppeling' als de terugkoppeling nog nodig is."
)
DIRECTORY_DOWN = (
    "Het klantvolgsysteem van VDAB is nu niet bereikbaar. Probeer het over enkele minuten opnieuw. "
    "Er werd niets verstuurd."
)
SUPERSEDED = "Dit bericht is vervangen door een nieuwer bericht voor {reference} in deze chat."
DELIVERED_LATE_COUNSELLOR = (
    "{reference} is alsnog aangekomen bij {recipient}. Je kopie is verwijderd. Je hoeft niets te doen."
)
UNDELIVERABLE_COUNSELLOR = (
    "{reference} kon na {attempts} pogingen niet bezorgd worden bij {recipient}: Teams bleef "
    "onbereikbaar. De inhoud is gewist. Verstuur de terugkoppeling opnieuw met 'terugkoppeling' of "
    "neem contact op met {beheerder}."
)
NOT_INSTALLED_COUNSELLOR = (
    "{reference} kon niet bezorgd worden bij {recipient}: de bot kon niet voor hen geïnstalleerd worden in "
    "Teams. De inhoud is gewist. Vraag {beheerder} om de Teams-beheerder van het agentschap de "
    "app te laten toestaan, en verstuur de terugkoppeling daarna opnieuw met 'terugkoppeling'."
)
UNCONFIRMED_COUNSELLOR = (
    "{reference} is na {reminders} herinneringen nog niet als overgezet bevestigd door {recipient}. "
    "Neem eventueel contact op met de trajectbegeleider, of trek ze in via 'overzicht'. Op {purge} wordt "
    "ze automatisch gewist."
)
EXPIRED_COUNSELLOR = (
    "{reference} werd niet binnen {retention} dagen als overgezet bevestigd door {recipient} en is "
    "automatisch gewist (bewaartermijn). Verstuur ze opnieuw met 'terugkoppeling' als de informatie nog "
    "nodig is."
)

# -- Art. 9: incidents to the data protection officers (bot.app.incidents) -------------------------
DPO_TITLE = "Incident {reference}: melding aan de DPO"
DPO_INTRO = (
    "De Terugkoppeling-bot meldt een incident onder het protocol voor gegevensdeling (art. 9). Deze "
    "melding bevat geen klantgegevens."
)
DPO_LABELS = {
    "reference": "Referentie",
    "category": "Soort",
    "agency": "Agentschap",
    "detected": "Vastgesteld",
    "notified": "Gemeld",
    "fields": "Ingevulde velden",
    "actions": "Wat de bot deed",
}
DPO_CATEGORIES = {
    "misdelivery": "Verkeerd bezorgd: de ontvanger meldde 'Niet mijn klant'",
    "recipient_not_allowed": "Ontvanger buiten de afgesproken agentschappen (geweigerd)",
    "content_left_in_teams": "Inhoud bleef in Teams staan: de bot kon de kaart niet verwijderen",
    "wrong_recipient": "Bij de verkeerde persoon bezorgd (later gemeld)",
    "other_breach": "Ander incident met deze terugkoppeling (later gemeld)",
}
DPO_NO_AGENCY = "geen (binnen VDAB)"
DPO_ACTIONS = {
    "purged": "de gegevens gewist in de bot",
    "card_removed": "de kaart bij de ontvanger overschreven en verwijderd (zie de audit)",
    "card_not_removed": "de kaart bij de ontvanger kon niet verwijderd worden: laat ze in Teams verwijderen",
    "refused": "de terugkoppeling geweigerd",
    "nothing_sent": "niets verstuurd",
    "reported": "het incident vastgelegd zoals het gemeld werd",
    "withdrawn_if_open": "de terugkoppeling ingetrokken en gewist als ze nog open stond (zie de audit)",
}
DPO_FIELDS_REQUIRED = (
    "{fields} (de verplichte velden; welke optionele velden ingevuld waren, is na het wissen niet meer gekend)"
)
DPO_NO_FIELDS = "geen: er werd niets verstuurd"
DPO_ACKNOWLEDGE = "Kennis genomen"
DPO_ACK_HINT = "Druk op 'Kennis genomen' zodra je de melding gelezen hebt; dat wordt vastgelegd in de audit."
DPO_MAIL_ACK = "Bevestig de kennisname via de melding in Teams, of laat het de functioneel beheerder weten."
DPO_SUMMARY = "Incident {reference}: melding aan de DPO"
DPO_ACK_TITLE = "Kennis genomen"
DPO_ACK_TEXT = "Je kennisname van incident {reference} is vastgelegd op {at}. Dank je."
DPO_ACK_REFUSED_TITLE = "Niet voor jou"
DPO_ACK_REFUSED_TEXT = "Alleen de DPO aan wie deze melding gericht is, kan ze als gelezen bevestigen."

# -- the trajectbegeleider's side (issue 14: openstaand, toon, doorsturen, undo) ----------------
COMMAND_PENDING = ("openstaand", "je terugkoppelingen die nog wachten op 'Overgezet'")
PENDING_TITLE = "Openstaande terugkoppelingen"
PENDING_INTRO = (
    "Deze terugkoppelingen wachten nog op 'Overgezet'. Druk op 'Toon' om een terugkoppeling opnieuw te bekijken."
)
PENDING_NONE = "Er wachten geen terugkoppelingen op jou. Nieuwe terugkoppelingen komen in deze chat binnen."
PENDING_LABELS = {"afzender": "Van", "ontvangen": "Ontvangen", "gewist": "Gewist op"}
PENDING_SHOW = "Toon"
PENDING_PAGE = "Pagina {page}"
PENDING_PAGE_UNREADABLE = (
    "Pagina {page}. {count} terugkoppeling(en) konden niet gelezen worden: meld dit aan {beheerder}."
)
PREVIOUS_PAGE = "Vorige"
NEXT_PAGE = "Volgende"
# "Doorsturen naar een collega" and the backup recipient
FORWARD = "Doorsturen"
FORWARD_TITLE = "{reference} doorsturen"
FORWARD_INTRO = (
    "Kies de collega van {agency} die deze terugkoppeling overneemt. Die krijgt het bericht in de eigen chat; "
    "bij jou wordt het verwijderd. De bemiddelaar krijgt een melding."
)
FORWARD_LABEL = "Collega"
FORWARD_PLACEHOLDER = "Kies een collega"
FORWARD_REQUIRED = "Kies een collega uit de lijst."
FORWARD_CONFIRM = "Doorsturen"
FORWARD_BACK = "Annuleren"
FORWARD_NONE_TITLE = "Geen collega gevonden"
FORWARD_NONE = (
    "Het klantvolgsysteem kent geen andere trajectbegeleiders van {agency}. Vraag {beheerder} om hulp, of "
    "handel de terugkoppeling zelf af."
)
FORWARDED_TITLE = "Doorgestuurd"
FORWARDED = "{reference} is doorgestuurd naar {recipient}. Het bericht is uit jouw chat verwijderd."
FORWARDED_PENDING = (
    "{reference} wordt doorgestuurd naar {recipient}. Zodra Teams bereikbaar is, krijgt die het bericht en "
    "wordt het uit jouw chat verwijderd."
)
FORWARDED_COPY = "{reference} is doorgestuurd naar {recipient}. De inhoud staat niet meer in deze chat."
REASSIGNED_COUNSELLOR = (
    "{reference} werd door de trajectbegeleider doorgestuurd naar een collega: {recipient}. Je hoeft niets te doen."
)
REASSIGNED_BACKUP_COUNSELLOR = (
    "{reference} bleef na de herinneringen liggen en ging naar de vervanger bij het agentschap: "
    "{recipient}. Je hoeft niets te doen."
)
REFUSALS[Reason.NOT_A_COLLEAGUE] = (
    "Niet doorgestuurd",
    "Deze persoon staat niet als trajectbegeleider van je agentschap in het klantvolgsysteem. Er werd niets "
    "doorgestuurd.",
)
# "Overgezet" can be undone for a short window (BOT_UNDO_MINUTES)
UNDO_TITLE = "{reference} overgezet"
UNDO_TEXT = (
    "Je hebt deze terugkoppeling als overgezet naar KBI/Allis gemarkeerd. Tot {until} kun je dat ongedaan "
    "maken. Daarna wordt de inhoud gewist, verdwijnt dit bericht en krijgt de bemiddelaar een melding."
)
UNDO = "Ongedaan maken"
# -- issue 14, the counsellor's side: the overview, a correction, a withdrawal ----------------------
NOTICE_NAMED = "{reference} ({name})"  # a notice to the counsellor names the client while it is known
OVERVIEW_TITLE = "Je terugkoppelingen"
OVERVIEW_INTRO = (
    "De terugkoppelingen die je verstuurde en die nog open zijn of kort geleden afgehandeld, de nieuwste "
    "eerst. De naam van de klant zie alleen jij, zolang de inhoud bestaat."
)
OVERVIEW_EMPTY = "Je hebt geen open of recent afgehandelde terugkoppelingen."
OVERVIEW_PAGE = "Pagina {page}"
OVERVIEW_UNREADABLE = (
    "{count} terugkoppeling(en) op deze pagina kon(den) niet gelezen worden en is (zijn) overgeslagen. "
    "{beheerder} is verwittigd via de audit."
)
OVERVIEW_PURGED_NAME = "naam gewist (de inhoud is verwijderd)"
OVERVIEW_LABELS = {
    "recipient": "Ontvanger",
    "sent": "Verstuurd",
    "reminders": "Herinneringen",
    "state": "Status",
    "purge": "Wordt gewist op",
    "purged": "Gewist op",
}
OVERVIEW_NOT_SENT = "nog niet"
OVERVIEW_STATES = {
    "delivering": "Wordt verstuurd",
    "delivered": "Wacht op 'Overgezet'",
    "transferred": "Overgezet naar KBI/Allis",
    "returned": "Niet de klant van deze trajectbegeleider (incident)",
    "expired": "Niet overgezet binnen de bewaartermijn",
    "undeliverable": "Niet bezorgd",
    "withdrawn": "Ingetrokken",
}
OVERVIEW_CORRECTED = " (gewijzigd)"
OVERVIEW_PREVIOUS = "Vorige"
OVERVIEW_NEXT = "Volgende"
OVERVIEW_BUTTON = "Overzicht"
CORRECT_BUTTON = "Wijzigen"
WITHDRAW_BUTTON = "Intrekken"
COMMAND_OVERVIEW = ("overzicht", "je verstuurde terugkoppelingen, met Wijzigen en Intrekken")
CORRECTION_BANNER = (
    "Je wijzigt {reference}. Na het versturen vervangt de nieuwe versie de vorige bij de trajectbegeleider: "
    "de vorige wordt eerst verwijderd."
)
CORRECTION_CANCELLED_TITLE = "Wijziging geannuleerd"
CORRECTION_CANCELLED_TEXT = (
    "Er werd niets gewijzigd: de trajectbegeleider ziet nog de versie van {reference} die je eerder verstuurde."
)
CORRECTED_TITLE = "Wijziging verstuurd"
CORRECTED_QUEUED_TITLE = "Wijziging wordt verstuurd"
CORRECTED_TEXT = (
    "De trajectbegeleider ziet nu alleen de nieuwe versie van {reference}: de vorige is vervangen."
)
CORRECTED_QUEUED_TEXT = (
    "Teams antwoordt nu even niet. De bot vervangt de vorige versie van {reference} automatisch en stuurt je "
    "een bericht zodra de nieuwe is aangekomen. Je hoeft niets opnieuw te versturen."
)
CORRECTED_RECIPIENT = (
    "{reference} is gewijzigd door de bemiddelaar. De vorige versie is gewist; de nieuwe volgt in een "
    "apart bericht."
)
WITHDRAW_TITLE = "{reference} intrekken?"
WITHDRAW_INTRO = "Als je bevestigt, gebeurt dit meteen:"
WITHDRAW_CONSEQUENCES = (
    "de terugkoppeling wordt bij de trajectbegeleider uit de chat verwijderd en uit het systeem gewist;",
    "de trajectbegeleider krijgt bericht dat je ze hebt ingetrokken.",
)
WITHDRAW_IRREVERSIBLE = (
    "Dit kan je niet ongedaan maken. Wil je alleen iets verbeteren? Klik dan op 'Terug' en kies 'Wijzigen'."
)
WITHDRAW_CONFIRM = "Intrekken"
WITHDRAW_BACK = "Terug"
WITHDRAWN_TITLE = "Ingetrokken"
WITHDRAWN_TEXT = (
    "{reference} is ingetrokken en gewist. Het bericht bij de trajectbegeleider is verwijderd en zij "
    "hebben er bericht van gekregen."
)
WITHDRAWN_PENDING_TEXT = (
    "{reference} is ingetrokken en gewist in de bot. Teams heeft het bericht bij de trajectbegeleider nog "
    "niet verwijderd; de bot probeert het automatisch opnieuw."
)
WITHDRAWN_BY_COUNSELLOR_RECIPIENT = (
    "{reference} werd ingetrokken door de bemiddelaar. De terugkoppeling is uit deze chat en uit het "
    "systeem verwijderd. Je hoeft niets te doen."
)
# -- digest reminders (issue 14): one reminder message per recipient per sweep -------------------
REMINDER_DIGEST_TITLE_ONE = "Herinnering: 1 terugkoppeling wacht op jou"
REMINDER_DIGEST_TITLE_MANY = "Herinnering: {count} terugkoppelingen wachten op jou"
REMINDER_DIGEST_INTRO = (
    "Neem ze over in KBI/Allis en klik in het bericht van elke terugkoppeling op 'Overgezet' (of op "
    "'Niet mijn klant'). Wat niet overgezet is, wordt op de vermelde datum automatisch gewist."
)
REMINDER_DIGEST_FROM = "Van"
REMINDER_DIGEST_RECEIVED = "Ontvangen"
REMINDER_DIGEST_PURGED = "Gewist op"
REMINDER_DIGEST_SHOW = "Toon bericht"

def reminder_digest_title(count: int) -> str:
    return REMINDER_DIGEST_TITLE_ONE if count == 1 else REMINDER_DIGEST_TITLE_MANY.format(count=count)
