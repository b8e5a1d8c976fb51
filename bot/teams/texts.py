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
YOU = "je bemiddelaar"
A_COUNSELLOR = "een bemiddelaar"
PREVIEW_HEADING = "Van {counsellor} · nog niet verstuurd"
RECIPIENT_HEADING = "{reference} · van {counsellor} · {sent}"
SENT_TITLE = "Terugkoppeling verstuurd"
SENT_AT = "Verstuurd"
OFFERED_AT = "Aangeboden"
UNSUPPORTED_INVOKE = "Deze actie wordt niet ondersteund."
BAD_ACTION = "Ongeldige kaartactie."
OTHER_CLIENT = "Andere klant zoeken"

FIELD_LABELS: dict[str, str] = {
    "naam": "Naam van de klant",
    "geboortedatum": "Geboortedatum",
    "jobdoelwit": "Jobdoelwit of sector",
    "eerstvolgende_contact": "Eerstvolgende contact",
    "eerstvolgende_contact_tijd": "Uur",
    "stappen": "Geplande stappen naar werk",
    "partner": "Betrokken partner",
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

_ART3 = "het protocol laat alleen het jobdoelwit, het eerstvolgende contact en de stappen naar werk toe."
_ERRORS: dict[ErrorCode, str] = {
    ErrorCode.REQUIRED: "Vul dit veld in.",
    ErrorCode.TOO_SHORT: "Gebruik minstens {limit} tekens.",
    ErrorCode.TOO_LONG: "Gebruik hoogstens {limit} tekens.",
    ErrorCode.BAD_DATE: "Geef een geldige datum (dd/mm/jjjj).",
    ErrorCode.BAD_TIME: "Geef een geldig uur (uu:mm).",
    ErrorCode.NOT_PAST: "De geboortedatum moet in het verleden liggen.",
    ErrorCode.AGE: "De klant moet tussen 16 en 100 jaar oud zijn. Kijk de geboortedatum na.",
    ErrorCode.NOT_FUTURE: "Het eerstvolgende contact ligt vandaag of later.",
    ErrorCode.BAD_CHOICE: "Kies alleen uit de stappen in de lijst.",
    ErrorCode.NO_CHOICE: "Kies minstens één stap.",
    ErrorCode.CONTROL: "Dit veld bevat onzichtbare of niet-toegelaten tekens.",
    ErrorCode.INSZ: (
        "Dit lijkt een rijksregisternummer (INSZ). Het protocol verbiedt dat: naam en geboortedatum volstaan."
    ),
    ErrorCode.EMAIL: "Een e-mailadres hoort niet in de terugkoppeling.",
    ErrorCode.PHONE: "Een telefoonnummer hoort niet in de terugkoppeling.",
    ErrorCode.IBAN: "Een rekeningnummer hoort niet in de terugkoppeling.",
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


REFUSALS: dict[Reason, tuple[str, str]] = {
    Reason.NOT_PERSONAL: (
        "Alleen in een persoonlijke chat",
        "Een terugkoppeling bevat persoonsgegevens. Open een persoonlijke chat met de bot om ze te versturen.",
    ),
    Reason.COUNSELLOR_TENANT: (
        "Geen toegang",
        "Alleen bemiddelaars van VDAB kunnen een terugkoppeling versturen.",
    ),
    Reason.OUTSIDE_PROTOCOL: (
        "Protocol niet van kracht",
        "Terugkoppelingen via Teams kunnen alleen binnen de looptijd van het protocol.",
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
        "Deze klant heeft geen actief inburgeringstraject. Het protocol laat een "
        "terugkoppeling alleen toe voor klanten met dat label. Er werd niets verstuurd.",
    ),
    Reason.RECIPIENT_NOT_ALLOWED: (
        "Trajectbegeleider niet bereikbaar",
        "De trajectbegeleider van deze klant hoort niet bij een toegelaten agentschap. "
        "Er werd niets verstuurd. Meld dit aan de beheerder van de bot.",
    ),
    Reason.NOT_OWNER: (
        "Niet jouw terugkoppeling",
        "Alleen de bemiddelaar die deze terugkoppeling begon, kan ze verder invullen.",
    ),
    Reason.NOT_RECIPIENT: (
        "Niet voor jou bestemd",
        "Alleen de trajectbegeleider aan wie deze terugkoppeling gericht is, kan ze afhandelen.",
    ),
    Reason.STALE: (
        "Deze terugkoppeling is niet meer open",
        "Ze werd al verstuurd, afgehandeld, geannuleerd of is verlopen. "
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
        "Er werd niets verstuurd. Meld dit aan de functioneel beheerder.",
    ),
    Reason.AGENCY_ENDED: (
        "Agentschap neemt niet meer deel",
        "Het agentschap van deze trajectbegeleider neemt niet meer deel aan het protocol. Er werd niets "
        "verstuurd. Bezorg de informatie via de gewone weg als dat nog mag.",
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
    "Een terugkoppeling bevat persoonsgegevens en kan alleen in een persoonlijke chat met mij. "
    "Open een chat met de bot en typ 'terugkoppeling'."
)
HELP = (
    "Typ **terugkoppeling** om een terugkoppeling aan de trajectbegeleider van een klant "
    "met een actief inburgeringstraject te versturen."
)
WELCOME = (
    "Hallo! Met deze bot stuurt een VDAB-bemiddelaar een terugkoppeling naar de trajectbegeleider van "
    "een klant met een actief inburgeringstraject, volgens het protocol tussen VDAB en de agentschappen. "
    "Bemiddelaars typen **terugkoppeling** om te beginnen. Trajectbegeleiders hoeven niets te doen: "
    "terugkoppelingen verschijnen vanzelf in deze chat."
)
DRAFT_ENDED_TITLE = "Deze terugkoppeling is niet meer open"
DRAFT_ENDED_TEXT = (
    "Ze werd verstuurd, geannuleerd of is verlopen, en de gegevens zijn hier verwijderd. "
    "Typ 'terugkoppeling' om een nieuwe te beginnen."
)
CANCELLED_TITLE = "Geannuleerd"
CANCELLED_TEXT = "De terugkoppeling werd geannuleerd. Er werd niets verstuurd en niets bewaard."
NOT_DELIVERED = (
    "Versturen is niet gelukt: Teams weigerde het bericht aan de trajectbegeleider. Er werd niets "
    "verstuurd. Probeer het later opnieuw of neem contact op met de functioneel beheerder."
)
NOT_INSTALLED = (
    "Versturen is niet gelukt: de bot kon niet voor de trajectbegeleider geïnstalleerd worden in Teams, "
    "en zonder de app kan Teams hen geen bericht sturen. Er werd niets verstuurd. Vraag de functioneel "
    "beheerder om de Teams-beheerder van het agentschap de app te laten toestaan, en probeer het daarna opnieuw."
)
QUEUED_TITLE = "Terugkoppeling wordt verstuurd"
QUEUED_TEXT = (
    "Teams antwoordt nu even niet. De bot probeert het automatisch opnieuw en stuurt je een bericht "
    "zodra de terugkoppeling is aangekomen, of als het niet lukt. Je hoeft niets opnieuw te versturen."
)
ALREADY_CLOSED = "Deze terugkoppeling ({reference}) werd al afgehandeld. De inhoud is verwijderd."

NOTIFICATION_SUMMARY = "Nieuwe terugkoppeling {reference} van VDAB"
TRANSFERRED_RECIPIENT = (
    "{reference} is overgezet naar KBI/Allis. De terugkoppeling is uit deze chat en uit de bot verwijderd."
)
RETURNED_RECIPIENT = (
    "{reference} is teruggestuurd als 'niet mijn klant'. De terugkoppeling is verwijderd en de "
    "bemiddelaar is verwittigd."
)
TRANSFERRED_COUNSELLOR = (
    "{reference}: de trajectbegeleider heeft je terugkoppeling overgezet naar KBI/Allis. "
    "De inhoud is nu overal verwijderd."
)
RETURNED_COUNSELLOR = (
    "{reference}: de trajectbegeleider meldt dat dit niet hun klant is. De terugkoppeling is "
    "verwijderd en als incident geregistreerd. Kijk de trajectbegeleider na in het klantvolgsysteem."
)

REMINDER = (
    "Herinnering: terugkoppeling {reference} van {sent} wacht nog. Zet ze over naar KBI/Allis en klik "
    "op 'Overgezet' (of 'Niet mijn klant'). Na {retention} dagen wordt ze automatisch gewist."
)
EXPIRED_RECIPIENT = (
    "{reference} werd niet binnen {retention} dagen als overgezet bevestigd en is automatisch uit deze "
    "chat en uit de bot gewist. De bemiddelaar is verwittigd."
)
UNDELIVERABLE_RECIPIENT = "{reference} kon niet bezorgd worden en is gewist."
WITHDRAWN_RECIPIENT = "{reference} werd ingetrokken. De terugkoppeling is uit deze chat en uit het systeem verwijderd."
PROTOCOL_ENDED_COUNSELLOR = (
    "{reference} werd ingetrokken: het protocol, of de deelname van het agentschap van {recipient}, is "
    "afgelopen. De inhoud is gewist."
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
SUPERSEDED = "Deze kaart werd vervangen door een nieuwere kaart voor {reference} in deze chat."
DELIVERED_LATE_COUNSELLOR = "{reference} is alsnog aangekomen bij {recipient}. Je kopie is verwijderd."
UNDELIVERABLE_COUNSELLOR = (
    "{reference} kon na {attempts} pogingen niet bezorgd worden bij {recipient}: Teams bleef "
    "onbereikbaar. De inhoud is gewist. Verstuur de terugkoppeling opnieuw met 'terugkoppeling' of "
    "neem contact op met de functioneel beheerder."
)
NOT_INSTALLED_COUNSELLOR = (
    "{reference} kon niet bezorgd worden bij {recipient}: de bot kon niet voor hen geïnstalleerd worden in "
    "Teams. De inhoud is gewist. Vraag de functioneel beheerder om de Teams-beheerder van het agentschap de "
    "app te laten toestaan, en verstuur de terugkoppeling daarna opnieuw met 'terugkoppeling'."
)
UNCONFIRMED_COUNSELLOR = (
    "{reference} is na {reminders} herinneringen nog niet als overgezet bevestigd door {recipient}. "
    "Neem eventueel contact op met de trajectbegeleider. Na {retention} dagen wordt ze automatisch gewist."
)
EXPIRED_COUNSELLOR = (
    "{reference} werd niet binnen {retention} dagen als overgezet bevestigd door {recipient} en is "
    "automatisch gewist (bewaartermijn). Verstuur ze opnieuw als de informatie nog nodig is."
)
