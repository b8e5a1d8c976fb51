"""Every sentence a user reads, in Dutch (nl-BE), in one place."""

from __future__ import annotations

from bot.domain.model import Agency, Reason
from bot.domain.template import ErrorCode, FieldError, Stap

AGENCY_NAMES: dict[Agency, str] = {
    Agency.AGII: "Agentschap Integratie en Inburgering",
    Agency.ATLAS: "Atlas Antwerpen",
    Agency.AMAL: "Amal Gent",
}

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
        "Dit lijkt een rijksregisternummer (INSZ). Het protocol verbiedt dat: "
        "naam en geboortedatum volstaan."
    ),
    ErrorCode.EMAIL: "Een e-mailadres hoort niet in de terugkoppeling.",
    ErrorCode.PHONE: "Een telefoonnummer hoort niet in de terugkoppeling.",
    ErrorCode.IBAN: "Een rekeningnummer hoort niet in de terugkoppeling.",
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
CANCELLED_TITLE = "Geannuleerd"
CANCELLED_TEXT = "De terugkoppeling werd geannuleerd. Er werd niets verstuurd en niets bewaard."
NOT_DELIVERED = (
    "Versturen is niet gelukt: Teams was niet bereikbaar. Er werd niets verstuurd. "
    "Probeer het zo meteen opnieuw."
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
