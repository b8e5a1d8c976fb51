// Drives the Microsoft 365 Agents Playground in headless Debian Chromium through one whole
// terugkoppeling: type "terugkoppeling", identify the client, fill the template, preview, send,
// see the card arrive, open the overview from the receipt, correct it ("Wijzigen": the card is
// replaced), ask "Niet mijn klant" and go back from its confirmation, click "Overgezet" on the new
// card, see it replaced. Screenshots go to OUT_DIR.
//   node drive.mjs OUT_DIR [PLAYGROUND_URL]
// Prints one JSON line with what it saw; exits 1 on the first step that fails.
import { mkdirSync } from "node:fs";
import { chromium } from "../render/node_modules/playwright-core/index.mjs";

const out = process.argv[2] ?? "out";
const url = process.argv[3] ?? "http://127.0.0.1:56150/";
mkdirSync(out, { recursive: true });
const seen = { steps: [] };
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, locale: "nl-BE" });

async function shot(name) {
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${out}/${name}.png` });
  seen.steps.push(name);
}

const cards = () => page.locator(".ac-adaptiveCard");

// The card posted after ``before`` cards were on screen (a fixed position: later cards don't move it).
async function newCard(before, what) {
  for (let i = 0; i < 150; i++) {
    if ((await cards().count()) > before) return cards().nth(before);
    await page.waitForTimeout(100);
  }
  throw new Error(`no new card after ${what}`);
}

// The Fluent date picker takes no typing: walk its calendar (year range, year, month, day).
async function pickDate(input, iso) {
  const [year, month, day] = iso.split("-").map(Number);
  await input.click();
  const dialog = page.locator("[role=dialog]").last();
  await dialog.locator("button").first().click(); // "November 2026" → months of the year
  await dialog.locator("button").first().click(); // "2026" → a range of years
  for (let i = 0; i < 20; i++) {
    const [from, to] = (await dialog.locator("button").first().innerText()).split(" - ").map(Number);
    if (year >= from && year <= to) break;
    await dialog.locator("button").nth(year < from ? 1 : 2).click();
  }
  await dialog.locator("button", { hasText: new RegExp(`^${year}$`) }).click();
  await dialog.locator(`button[aria-label='${MONTHS[month - 1]}']`).click();
  await dialog.locator(`button[aria-label='${day}, ${MONTHS[month - 1]}, ${year}']`).click();
}

async function say(text) {
  await page.locator("[data-lexical-editor=true]").click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

try {
  await page.goto(url, { waitUntil: "networkidle" });
  await page.getByText("Personal Chat", { exact: true }).first().click();
  await page.waitForTimeout(800);

  const contact = new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10);
  let before = await cards().count();
  await say("terugkoppeling");
  const card = await newCard(before, "terugkoppeling");
  await card.locator("input[aria-label^=Voornaam]").fill("Samira Haddad");
  await card.locator("input[aria-label^='dd/mm/jjjj']").fill("05/05/1996");  // typed, as people write it
  await shot("1-identificatie");
  await card.getByRole("button", { name: "Zoek klant" }).click();
  await card.getByText("Stap 2 van 3").or(card.getByText("Al eerder een terugkoppeling")).first().waitFor();
  if (await card.getByRole("button", { name: "Toch versturen" }).count()) {
    await card.getByRole("button", { name: "Toch versturen" }).click();  // art. 5, a rerun
    await card.getByText("Stap 2 van 3").waitFor();
  }
  const texts = card.locator("input[type=text]:not([aria-label]), textarea");
  await texts.nth(0).fill("Magazijnmedewerker in de logistiek");
  await pickDate(card.locator("input[aria-label^='Select a date']").first(), contact);
  await card.locator("input[aria-label='Opleiding']").check();
  await card.locator("input[aria-label='Stage']").check();
  await card.locator("input[aria-label^='bv. Groep Intro']").fill("Groep Intro");
  await texts.nth(1).fill("Start opleiding heftruck in januari, daarna stage.");
  await shot("2-inhoud");
  await card.getByRole("button", { name: "Voorbeeld", exact: true }).click();
  await card.getByRole("button", { name: "Versturen" }).waitFor();
  await shot("3-voorbeeld");
  before = await cards().count();
  await card.getByRole("button", { name: "Versturen" }).click();
  await card.getByText("Terugkoppeling verstuurd").waitFor();
  seen.receipt = await card.innerText();
  const delivered = await newCard(before, "versturen");
  await delivered.getByRole("button", { name: "Overgezet", exact: true }).waitFor();
  seen.delivered = await delivered.innerText();
  await shot("4-ontvangen");
  // Issue 14: "overzicht", then "Wijzigen": the recipient's card is replaced.
  before = await cards().count();
  await say("overzicht");
  const overview = await newCard(before, "overzicht");
  await overview.getByText("Je terugkoppelingen").waitFor();
  seen.overview = await overview.innerText();
  await shot("5-overzicht");
  await overview.getByRole("button", { name: "Wijzigen", exact: true }).first().click();
  await overview.getByText(/Je wijzigt TK-/).waitFor();
  await overview.locator("input[type=text]:not([aria-label]), textarea").nth(0)
    .fill("Zorgkundige in een woonzorgcentrum");
  await shot("6-wijzigen");
  await overview.getByRole("button", { name: "Voorbeeld", exact: true }).click();
  await overview.getByRole("button", { name: "Versturen" }).waitFor();
  await overview.getByRole("button", { name: "Versturen" }).click();
  await overview.getByText("Wijziging verstuurd").waitFor();
  const replaced = cards().filter({ hasText: "Zorgkundige in een woonzorgcentrum" })
    .filter({ has: page.getByRole("button", { name: "Overgezet", exact: true }) });
  await replaced.first().waitFor();
  seen.corrected = await replaced.first().innerText();
  seen.live = (await cards().allInnerTexts()).filter((t) => t.includes("Samira Haddad")).length;
  await shot("7-gewijzigd");
  // Issue 14: "Niet mijn klant" asks first and says what will happen; "Terug" changes nothing.
  const live = replaced.first();
  await live.getByRole("button", { name: "Niet mijn klant", exact: true }).click();
  await page.getByText(/Is TK-[0-9A-F]{6} niet jouw klant\?/).first().waitFor();
  seen.confirmation = (await cards().allInnerTexts()).find((t) => /Is TK-[0-9A-F]{6} niet jouw klant\?/.test(t)) ?? "";
  await shot("8-bevestigen");
  await page.getByRole("button", { name: "Terug", exact: true }).first().click();
  await replaced.first().getByRole("button", { name: "Overgezet", exact: true }).waitFor();
  await replaced.first().getByRole("button", { name: "Overgezet", exact: true }).click();
  await page.getByText(/is overgezet naar KBI\/Allis/).first().waitFor();
  await page.waitForTimeout(1500);
  // Only the cards: the counsellor's text notice names the client, by design (issue 14; here the
  // counsellor and the trajectbegeleider are one Playground user).
  seen.after = (await cards().allInnerTexts()).join("\n");
  await shot("9-overgezet");
  if (!seen.delivered.includes("Samira Haddad")) throw new Error("the card did not carry the client");
  if (seen.after.includes("Samira") || seen.after.includes("05/05/1996")) {
    throw new Error("client data still on screen after Overgezet");
  }
  delete seen.after;  // the page text also holds the playground's log panel: not worth printing
} catch (error) {
  seen.error = String(error);
  await page.screenshot({ path: `${out}/failure.png` });
  console.log(JSON.stringify(seen));
  await browser.close();
  process.exit(1);
}
console.log(JSON.stringify(seen));
await browser.close();
