// Render Adaptive Card JSON files to PNG the way Teams shows them, with the official
// `adaptivecards` renderer and the Teams host config, in headless Debian Chromium.
//
//   node tools/render/render.mjs [--theme light|dark] [--width 460] [--locale nl-BE] OUT_DIR CARD.json [CARD.json ...]
//
// Writes OUT_DIR/<basename>.png per card (2x pixel density, cropped to the message bubble).
// Problems the renderer reports go to stderr; the exit code is 1 when any card is not valid
// JSON, fails to parse or validate, or renders nothing (its picture is still written if it
// rendered), 2 on a usage error. Markdown stays off, as in Teams' TextRun: text is literal.
// Offline: uses /usr/bin/chromium (apt) via playwright-core; never downloads a browser.
import { readFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const usage = "usage: render.mjs [--theme light|dark] [--width 460] [--locale nl-BE] OUT_DIR CARD.json [...]";
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const theme = option("--theme", "light");
const width = Number(option("--width", "460"));
const locale = option("--locale", "nl-BE");
const [outDir, ...cards] = args;
if (!outDir || cards.length === 0 || !["light", "dark"].includes(theme) || !(width >= 100) ||
    [outDir, ...cards].some((a) => a.startsWith("--"))) {
  console.error(usage);
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const lib = readFileSync(join(here, "node_modules/adaptivecards/dist/adaptivecards.min.js"), "utf8");
const css = readFileSync(join(here, "node_modules/adaptivecards/dist/adaptivecards.css"), "utf8");
const hostConfig = JSON.parse(readFileSync(join(here, `hostconfig-teams-${theme}.json`), "utf8"));
// Segoe UI is not on Linux: Liberation Sans (Debian fonts-liberation) has Arial's metrics, whose
// average width is within 1% of Segoe UI's, so text wraps where Teams wraps it. DejaVu Sans (the
// fallback otherwise) is some 15% wider. Only this in-memory copy changes, not the host config file.
const fonts = { default: "'Segoe UI', 'Liberation Sans', Arial, sans-serif",
                monospace: "'Courier New', 'Liberation Mono', monospace" };
for (const [type, family] of Object.entries(fonts)) {
  if (hostConfig.fontTypes?.[type]) hostConfig.fontTypes[type].fontFamily = family;
}

const dark = theme === "dark";
const c = dark
  ? { page: "#1f1f1f", bubble: "#292929", edge: "#3d3d3d", field: "#1f1f1f", fieldEdge: "#5c5c5c", fieldLine: "#adadad",
      text: "#ffffff", button: "#292929", buttonEdge: "#666666", brand: "#4f52b2", check: "#7f85f5", brandText: "#ffffff", danger: "#dc626d" }
  : { page: "#f5f5f5", bubble: "#ffffff", edge: "#e0e0e0", field: "#ffffff", fieldEdge: "#d1d1d1", fieldLine: "#616161",
      text: "#242424", button: "#ffffff", buttonEdge: "#d1d1d1", brand: "#5b5fc7", check: "#5b5fc7", brandText: "#ffffff", danger: "#c4314b" };

// A Teams chat message: a white bubble with a hairline edge and soft shadow on the grey chat
// background; the picture is the bubble plus a few pixels of background.
const pageHtml = `<!doctype html><html lang="${locale}"><head><meta charset="utf-8"><style>${css}
  html, body { margin: 0; background: ${c.page}; }
  body { font-family: ${fonts.default}; color: ${c.text}; }
  #frame { display: inline-block; padding: 8px; background: ${c.page}; }
  #bubble { width: ${width}px; background: ${c.bubble}; border: 1px solid ${c.edge}; border-radius: 4px;
            box-shadow: 0 1.6px 3.6px rgba(0,0,0,.13), 0 .3px .9px rgba(0,0,0,.11); overflow: hidden; }
  #bubble * { accent-color: ${c.check}; }
  .ac-pushButton { font-family: ${fonts.default}; font-size: 14px; font-weight: 600; min-height: 32px;
                   padding: 5px 12px; border-radius: 4px; border: 1px solid ${c.buttonEdge};
                   background: ${c.button}; color: ${c.text}; }
  .ac-pushButton.style-positive { background: ${c.brand}; color: ${c.brandText}; border-color: ${c.brand}; }
  .ac-pushButton.style-destructive { background: ${c.button}; color: ${c.danger}; border-color: ${c.buttonEdge}; }
  .ac-pushButton.expandable:after { font-family: ${fonts.default}; font-weight: 400; margin-left: 6px; content: "\\25BE"; }
  .ac-pushButton.expandable.expanded:after { content: "\\25B4"; }
  .ac-pushButton.expanded { background: ${dark ? "#3d3d3d" : "#ebebeb"}; color: ${c.text}; border-color: ${c.buttonEdge}; }
  #bubble :is(.ac-textInput, .ac-numberInput, .ac-dateInput, .ac-timeInput, .ac-choiceSetInput-compact,
             .ac-choiceSetInput-filtered-textbox) {
    font-family: inherit; font-size: 14px; min-height: 32px; padding: 4px 10px; box-sizing: border-box;
    border: 1px solid ${c.fieldEdge}; border-bottom-color: ${c.fieldLine}; border-radius: 4px;
    background: ${c.field}; color: ${c.text}; color-scheme: ${dark ? "dark" : "light"}; }
  #bubble .ac-textInput.ac-multiline { min-height: 64px; resize: none; }
  .ac-input-container input[type=checkbox], .ac-input-container input[type=radio] { width: 16px; height: 16px; margin: 0 8px 0 0; }
  .ac-choiceSetInput-expanded > div:not(:last-child), .ac-choiceSetInput-multiSelect > div:not(:last-child) { margin-bottom: 6px; }
</style><script>${lib}</script></head><body><div id="frame"><div id="bubble"></div></div></body></html>`;

// Which of the renderer's events are only advice; any other event means Teams would not show the card as written.
const advisory = new Set(["Hint", "Deprecated", "RequiredInputsShouldHaveLabel", "RequiredInputsShouldHaveErrorMessage"]);

// The types whose every occurrence in the card JSON carries a "fallback".
function typesWithFallback(node) {
  const all = new Set(), bare = new Set();
  (function walk(n) {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n === null || typeof n !== "object") return;
    if (typeof n.type === "string") (n.fallback !== undefined ? all : bare).add(n.type);
    Object.values(n).forEach(walk);
  })(node);
  return new Set([...all].filter((t) => !bare.has(t)));
}

const started = Date.now();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  env: { ...process.env, LANG: `${locale.replace("-", "_")}.UTF-8`, LANGUAGE: locale.replace("-", "_") },  // date input format
  args: [`--lang=${locale}`, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
let failed = 0;
try {
  const context = await browser.newContext({ locale, deviceScaleFactor: 2, viewport: { width: width + 64, height: 800 },
                                             colorScheme: dark ? "dark" : "light" });
  const page = await context.newPage();
  for (const file of cards) {
    let card;
    try {
      card = JSON.parse(readFileSync(resolve(file), "utf8"));
    } catch (e) {
      failed++;
      console.error(`${file}: error: ${e.message}`);
      continue;
    }
    await page.setContent(pageHtml);
    const { events, rendered } = await page.evaluate(({ card, hostConfig }) => {
      const AC = window.AdaptiveCards;
      const events = [];
      const note = (e) => events.push({ phase: AC.ValidationPhase[e.phase], event: AC.ValidationEvent[e.event],
                                        message: e.message });
      if (card === null || typeof card !== "object" || Array.isArray(card)) {
        return { events: [{ phase: "Parse", event: "Other", message: "the card is not a JSON object" }], rendered: false };
      }
      if (card.type !== "AdaptiveCard") {
        note({ phase: AC.ValidationPhase.Parse, event: AC.ValidationEvent.MissingCardType,
               message: `"type" is ${JSON.stringify(card.type)}, not "AdaptiveCard"` });
      }
      const adaptiveCard = new AC.AdaptiveCard();
      adaptiveCard.hostConfig = new AC.HostConfig(hostConfig);
      const context = new AC.SerializationContext();
      adaptiveCard.parse(card, context);
      for (let i = 0; i < context.eventCount; i++) note(context.getEventAt(i));
      adaptiveCard.validateProperties().validationEvents.forEach(note);
      const element = adaptiveCard.render();
      if (element) document.getElementById("bubble").appendChild(element);
      return { events, rendered: Boolean(element) };
    }, { card, hostConfig });
    // Let images settle (offline, remote ones fail fast and the renderer hides them).
    await page.evaluate(() => Promise.race([
      Promise.all([...document.images].map((img) => img.complete ? null : new Promise((r) => { img.onload = img.onerror = r; }))),
      new Promise((r) => setTimeout(r, 3000)),
    ]));
    // An unknown element or action type is fine where every use of it names a fallback (Teams uses that).
    const covered = typesWithFallback(card);
    for (const e of events) {
      const type = /^Unknown (element|action) type "(.*)"/.exec(e.message)?.[2];
      if (type !== undefined && covered.has(type)) e.advisory = true;
    }
    const version = /^(\d+)\.(\d+)$/.exec(String(card?.version ?? ""));
    if (version && (Number(version[1]) > 1 || Number(version[2]) > 5)) {
      events.push({ phase: "Validation", event: "Hint", advisory: true,
                    message: `card version ${card?.version}: Teams (and the designer's Teams container) target 1.5` });
    }
    const isAdvisory = (e) => e.advisory || advisory.has(e.event);
    const errors = events.filter((e) => !isAdvisory(e));
    for (const e of events) {
      console.error(`${file}: ${isAdvisory(e) ? "warning" : "error"}: ${e.phase}/${e.event}: ${e.message}`);
    }
    if (!rendered) {
      console.error(`${file}: error: the renderer drew nothing`);
      failed++;
      continue;
    }
    const out = join(outDir, basename(file).replace(/\.json$/i, "") + ".png");
    await page.locator("#frame").screenshot({ path: out });
    if (errors.length) failed++;
    console.log(out);
  }
} finally {
  await browser.close();
}
if (process.env.RENDER_TIMING) console.error(`${cards.length} card(s) in ${Date.now() - started} ms`);
process.exit(failed ? 1 : 0);
