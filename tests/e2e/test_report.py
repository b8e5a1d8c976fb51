"""The one-page report a DPO reads: made by `audit report` from a scripted day, printed by
headless Chromium to exactly one A4 page and drawn to a PNG (docs/evidence/report.png is one,
made with EVIDENCE_SCREENSHOTS=docs/evidence); signed like every export; no client data."""

import base64
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.e2e.conftest import AMAL, ATLAS, VDAB
from tests.e2e.flows import identify, receive, send
from tests.support.teams import DATA_KEY

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SIGNING_KEY = base64.b64encode(bytes(range(50, 82))).decode()
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                    reason="needs Debian chromium")


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"BOT_COUNSELLOR_TENANTS": VDAB,  # AgII listed, but with another tenant than its trajectbegeleiders'
            "BOT_AGENCY_TENANTS": f"atlas={ATLAS},amal={AMAL},agii=tenant-elsewhere"}


def bot(harness, *args: str) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "BOT_STORE": f"sqlite:///{harness.db_path}",
           "BOT_DATA_KEY": DATA_KEY, "BOT_EVIDENCE_SIGNING_KEY": SIGNING_KEY,
           "BOT_HOSTING": "Microsoft Azure App Service (West Europe)", **harness.env}
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag, attrs):
        self._skip = tag in ("style", "title")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        return re.sub(r"\s+", " ", " ".join(parser.parts))


def chromium(*args: str) -> None:
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--hide-scrollbars", *args],
                   capture_output=True, timeout=90, check=True)


@needs_chromium
async def test_the_report_is_one_signed_page_in_dutch(harness, counsellor, els, pieter, tmp_path):
    await send(counsellor)  # Amina → Els (Atlas), transferred
    receive(els)
    await els.click("overgezet")
    await send(counsellor, "Yonas Tesfaye", "1987-11-03")  # → Pieter (Amal): niet mijn klant
    receive(pieter)
    await pieter.click("niet_mijn_klant")  # asks first
    await pieter.click("bevestig_niet_mijn_klant")
    await identify(counsellor, "Olena Kovalenko", "1995-02-28")  # AgII: not an allowed tenant
    await identify(counsellor, "Jan Janssens", "1980-01-01")  # unknown

    report = tmp_path / "rapport.html"
    assert "signed by key" in bot(harness, "audit", "report", "--since", "2026-11-30", "--until", "2026-12-01",
                                  "--out", str(report))
    public = bot(harness, "audit", "public-key").split(": ", 1)[1].split("\n", 1)[0]
    fingerprint = bot(harness, "audit", "public-key").split("fingerprint: ", 1)[1].split("\n", 1)[0]
    html = report.read_text()
    text = Text.of(html)
    assert "Bewijsrapport terugkoppelingen" in text and "Alle organisaties" in text
    assert "periode: 30/11/2026 tot en met 30/11/2026" in text
    for label, count in (("Verstuurd", 2), ("Overgezet", 1), ("Teruggestuurd (niet mijn klant)", 1),
                         ("Incidenten (art. 9)", 2), ("Weigeringen", 2)):
        assert f"{label} {count}" in text, label
    assert "Verkeerde ontvanger (niet mijn klant)" in text and "Ontvanger buiten de toegelaten organisaties" in text
    assert re.search(r"30/11/2026 \d\d:\d\d TK-[0-9A-F]{6} amal", text)
    assert "Audittrail intact" in text and fingerprint in text
    assert "Verwijdering niet bewezen geen 0" in text
    assert "Microsoft Teams en Azure Bot Service (Microsoft)" in text
    assert "Microsoft Azure App Service (West Europe)" in text
    for private in ("Amina", "Idrissi", "Yonas", "Tesfaye", "Olena", "Janssens", "1990-04-12", "Magazijn"):
        assert private not in html
    done = subprocess.run([sys.executable, "-m", "bot", "audit", "verify-export", str(report), "--public-key", public],
                          cwd=ROOT, env={}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout

    pdf = tmp_path / "rapport.pdf"
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))
    assert pages == 1, f"the report prints on {pages} pages"
    png = tmp_path / "rapport.png"
    chromium("--window-size=820,1160", f"--screenshot={png}", report.as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (820, 1160)
    if os.environ.get("EVIDENCE_SCREENSHOTS"):
        shutil.copy(png, ROOT / os.environ["EVIDENCE_SCREENSHOTS"] / "report.png")

    amal = tmp_path / "amal.html"
    bot(harness, "audit", "--agency", "amal", "--format", "html", "--out", str(amal))
    text = Text.of(amal.read_text())
    assert "Amal (Gent)" in text and "Verstuurd 1" in text and "Incidenten (art. 9) 1" in text
    assert "Ontvanger buiten de toegelaten organisaties" not in text  # AgII's incident is not Amal's


@needs_chromium
def test_a_busy_month_still_prints_on_one_page(tmp_path):
    """Lists are cut to fit (the CSV and JSON have everything): 19 incidents, 20 cards whose
    deletion is unproven, a broken chain and every processor a full Azure deployment has."""
    from datetime import UTC, datetime, timedelta

    from bot.app import export, signing
    from bot.app.evidence import verify
    from bot.app.report import to_html
    from bot.config import Settings
    from bot.domain.model import Agency, AuditEvent
    from bot.evidence_setup import processors_of

    key = signing.private_key_from_seed(bytes(32))
    events = [AuditEvent.model_construct(at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=i),
                                         event=["incident", "card_delete_failed", "sent"][i % 3],
                                         subject=f"TK-{i:06X}", actor="", agency=Agency.AMAL,
                                         reason="misdelivery" if i % 3 == 0 else None, seq=i, mac="forged")
              for i in range(1, 60)]
    processors = processors_of(Settings(
        _env_file=None, BOT_STORE="https://acc.table.core.windows.net", BOT_KEY_VAULT_URL="https://v.vault.azure.net",
        BOT_GRAPH_CREDENTIAL="secret", BOT_HOSTING="Microsoft Azure App Service (West Europe)",
        APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=x"))
    built = export.build(events, verify(events, 59, b"k" * 32), [], agency=Agency.AMAL,
                         since=datetime(2026, 12, 1, tzinfo=UTC), until=datetime(2027, 1, 1, tzinfo=UTC),
                         exported_at=datetime(2027, 1, 2, 8, tzinfo=UTC),
                         fingerprint=signing.fingerprint(key.public_key()),
                         processors=processors)
    report = tmp_path / "druk.html"
    report.write_bytes(to_html(built, key))
    text = Text.of(report.read_text())
    assert "… en nog 11" in text and "gebroken bij event #1" in text and "Application Insights" in text
    pdf = tmp_path / "druk.pdf"
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    assert len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes())) == 1
