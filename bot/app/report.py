"""The one-page report a privacy officer reads (Dutch, dates dd/mm/jjjj, Brussels time): period,
counts, incidents, proof of deletion, the chain's state, the signing key and the processors.
Signed like every export: the last line (an HTML comment) signs the page above it."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.app import signing
from bot.app.evidence import SUMMARY_EVENTS
from bot.app.export import Export

BRUSSELS = ZoneInfo("Europe/Brussels")
MAX_ROWS = 8  # one page: longer lists are cut, the CSV/JSON export has them all

AGENCIES = {"agii": "AgII (Agentschap Integratie en Inburgering)", "atlas": "Atlas (Antwerpen)",
            "amal": "Amal (Gent)"}
COUNTS = {
    "sent": "Verstuurd",
    "transferred": "Overgezet",
    "returned": "Teruggestuurd (niet mijn klant)",
    "expired": "Vervallen (concepten en overdrachten)",
    "purged": "Gewist",
    "incident": "Incidenten (art. 9)",
    "dpo_notified": "Gemeld aan een DPO",
    "acknowledged": "DPO: kennis genomen",
    "delivery_abandoned": "Onbestelbaar",
    "reminded": "Herinneringen",
    "escalated": "Escalaties naar de consulent",
    "refused": "Weigeringen",
}
BROKEN = {  # the chain's verdict, in the reader's words
    "missing": "event #{n} ontbreekt (verwijderd?)",
    "reordered": "event #{n} staat niet op zijn plaats (verplaatst of dubbel?)",
    "altered": "event #{n} is gewijzigd, of komt van elders",
    "truncated": "de events vanaf #{n} ontbreken (de trail is ingekort)",
    "wrong_key": "geen enkel event klopt onder deze sleutel: een andere sleutel dan waarmee de trail is "
                 "geschreven (BOT_HMAC_KEY), of alles is herschreven",
    "checkpoint": "het ijkpunt na de bewaartermijn (tot event #{n}) is gewijzigd",
}
INCIDENTS = {
    "misdelivery": "Verkeerde ontvanger (niet mijn klant)",
    "recipient_not_allowed": "Ontvanger buiten de toegelaten organisaties",
    "content_left_in_teams": "Inhoud bleef in Teams staan",
    "wrong_recipient": "Bij de verkeerde persoon (later gemeld)",
    "other_breach": "Ander incident (later gemeld)",
}

STYLE = """
@page { size: A4; margin: 14mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.35 "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1d2430; margin: 0 auto;
       max-width: 182mm; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0; }
h2 { font-size: 11.5pt; margin: 14px 0 5px; padding-bottom: 2px; border-bottom: 1px solid #d5dae3; }
.sub { color: #56607a; margin: 2px 0 10px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 18px; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: 2px 6px 2px 0; vertical-align: top; }
th { font-weight: 600; color: #56607a; font-size: 9pt; }
td.t { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; width: 4em; }
.ok, .bad { display: inline-block; padding: 1px 7px; border-radius: 9px; font-weight: 600; font-size: 9.5pt; }
.ok { background: #e3f4e8; color: #17612f; } .bad { background: #fbe3e1; color: #9b1c13; }
code { font: 9pt "DejaVu Sans Mono", Consolas, monospace; overflow-wrap: anywhere; }
.note { color: #56607a; font-size: 9pt; }
footer { margin-top: 14px; color: #56607a; font-size: 8.5pt; border-top: 1px solid #d5dae3; padding-top: 5px; }
.who td { padding-bottom: 4px; }
@media print { body { padding: 0; font-size: 9.5pt; line-height: 1.3; } h2 { margin-top: 10px; } }
"""


def _day(value: datetime) -> str:
    return value.astimezone(BRUSSELS).strftime("%d/%m/%Y")


def _moment(value: datetime) -> str:
    return value.astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M")


def _period(export: Export) -> str:
    first = export.since.strftime("%d/%m/%Y") if export.since else None
    last = (export.until - timedelta(days=1)).strftime("%d/%m/%Y") if export.until else None
    if first and last:
        return f"{first} tot en met {last}"
    if first:
        return f"vanaf {first}"
    if last:
        return f"tot en met {last}"
    if export.events:
        return f"de volledige audittrail ({_day(export.events[0].at)} tot en met {_day(export.events[-1].at)})"
    return "de volledige audittrail (nog leeg)"


def _badge(good: bool, yes: str, no: str) -> str:
    return f'<span class="ok">{yes}</span>' if good else f'<span class="bad">{no}</span>'


def _rows(items: list[str], empty: str, colspan: int = 1) -> str:
    if not items:
        return f'<tr><td colspan="{colspan}" class="note">{empty}</td></tr>'
    shown = items[:MAX_ROWS]
    if len(items) > MAX_ROWS:
        shown.append(f'<tr><td colspan="{colspan}" class="note">… en nog {len(items) - MAX_ROWS} '
                     "(de CSV- of JSON-export bevat ze allemaal)</td></tr>")
    return "".join(shown)


def _incident_row(incident: dict[str, object]) -> str:
    """One incident, and which DPOs were told of it and took note (organisations; the times are in
    the JSON/CSV export)."""
    def orgs(items: object, key: str) -> str:
        found = [str(d[key]).split(":")[0] for d in items if isinstance(d, dict)] if isinstance(items, list) else []
        return ", ".join(dict.fromkeys(found)) or "—"

    reason = str(incident["reason"])
    return (f"<tr><td class=\"t\">{_moment(datetime.fromisoformat(str(incident['at'])))}</td>"
            f"<td><code>{escape(str(incident['reference']))}</code></td>"
            f"<td>{escape(str(incident['agency']))}</td><td>{escape(INCIDENTS.get(reason, reason))}</td>"
            f"<td>{escape(orgs(incident.get('notified'), 'to'))} / "
            f"{escape(orgs(incident.get('acknowledged'), 'by'))}</td></tr>")


def to_html(export: Export, key: Ed25519PrivateKey) -> bytes:
    summary = export.summary
    verdict = summary.verdict
    who = AGENCIES.get(summary.agency or "", "Alle organisaties (export van VDAB)")
    counts = "".join(f'<tr><td>{escape(label)}</td><td class="n">{summary.counts[SUMMARY_EVENTS[name]]}</td></tr>'
                     for name, label in COUNTS.items())
    incidents = _rows([_incident_row(i) for i in summary.incidents], "Geen incidenten in deze periode.", 5)
    cards = summary.cards
    unproven = list(cards["deletion_unproven"])  # type: ignore[call-overload]
    if unproven:
        listed = ", ".join(f"<code>{escape(r)}</code>" for r in unproven[:2 * MAX_ROWS])
        more = f" … en nog {len(unproven) - 2 * MAX_ROWS}" if len(unproven) > 2 * MAX_ROWS else ""
        unproven_note = f"Niet bewezen: {listed}{more}."
    else:
        unproven_note = "Geen: van elke kaart die verwijderd moest worden, is de verwijdering bewezen."
    chain = (_badge(True, "intact", "") + f" — {verdict.events} events, elke schakel nagerekend" if verdict.intact
             else _badge(False, "", f"gebroken bij event #{verdict.broken_at}")
             + f" — {escape(BROKEN.get(verdict.kind, verdict.problem).format(n=verdict.broken_at))}")
    if verdict.checkpoint is not None:  # issue 15: the oldest events were pruned behind a checkpoint
        c = verdict.checkpoint
        chain += (f" vanaf het ijkpunt van {_day(c.made_at)}: {c.count} oudere events (#1 tot #{c.seq}, "
                  f"{_day(c.first_at)} tot {_day(c.last_at)}) zijn na de bewaartermijn verwijderd")
    content = _badge(not summary.content_left, "ja", f"nee: {len(summary.content_left)} overdracht(en)")
    processors = "".join(f"<tr><td>{escape(p['name'])}<div class=\"note\">{escape(p['role'])}</div></td></tr>"
                         for p in summary.processors) or '<tr><td class="note">Niet opgegeven.</td></tr>'
    refusals = ", ".join(f"{escape(code or '—')}: {n}" for code, n in sorted(summary.refusals.items())) or "geen"
    page = f"""<!DOCTYPE html>
<html lang="nl-BE">
<head><meta charset="utf-8"><title>Bewijsrapport terugkoppelingen — {escape(who)}</title>
<style>{STYLE}</style></head>
<body>
<h1>Bewijsrapport terugkoppelingen</h1>
<p class="sub">{escape(who)} · periode: {_period(export)} · opgemaakt op {_moment(export.exported_at)} (Brussel)</p>
<div class="grid">
<section><h2>Kerncijfers</h2><table>{counts}</table>
<p class="note">Weigeringen per reden: {refusals}. Events in dit rapport: {len(export.events)}.</p>
<h2>Verwijdering bij de ontvanger (F.3)</h2>
<table>
<tr><td>Kaarten overschreven zonder inhoud</td><td class="n">{cards["overwritten"]}</td></tr>
<tr><td>Kaarten verwijderd (bewezen)</td><td class="n">{cards["deleted"]}</td></tr>
<tr><td>Verwijderen mislukt</td><td class="n">{cards["delete_failed"]}</td></tr>
<tr><td>Verwijdering niet bewezen {_badge(not unproven, "geen", "nakijken")}</td>
<td class="n">{len(unproven)}</td></tr>
</table></section>
<section><h2>Bewijs</h2><table>
<tr><th>Audittrail</th></tr><tr><td>{chain}</td></tr>
<tr><th>Laatste schakel (bewaar als ijkpunt)</th></tr><tr><td><code>{escape(verdict.last_mac or "—")}</code></td></tr>
<tr><th>Geen inhoud meer bij afgesloten overdrachten</th></tr><tr><td>{content}</td></tr>
<tr><th>Handtekening (Ed25519), vingerafdruk van de sleutel</th></tr>
<tr><td><code>{escape(export.fingerprint)}</code></td></tr>
</table>
<h2>Verwerkers (art. 6)</h2>
<table class="who">{processors}</table></section>
</div>
<p class="note">{unproven_note}</p>
<h2>Incidenten (art. 9)</h2>
<table><tr><th>Vastgesteld</th><th>Referentie</th><th>Organisatie</th><th>Categorie</th>
<th>DPO: gemeld / kennis</th></tr>{incidents}</table>
<footer>Dit rapport bevat geen cliëntgegevens: alleen referenties, tijdstippen, organisaties en redencodes.
De audittrail is een keten over alle organisaties heen; de handtekening dekt elke byte van dit bestand.
Nakijken met de publieke sleutel van VDAB:
<code>python -m bot audit verify-export rapport.html --public-key SLEUTEL</code>
(of met OpenSSL, zie de README).</footer>
</body>
</html>
"""
    return signing.sign(page, key, "html")
