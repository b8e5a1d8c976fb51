// Render Adaptive Card JSON files to PNG the way Teams shows them, with the official
// `adaptivecards` renderer and the Teams host config, in headless Debian Chromium.
//
//   node tools/render/render.mjs [--theme light|dark] [--width 460] OUT_DIR CARD.json [CARD.json ...]
//
// Offline: uses /usr/bin/chromium (apt) via playwright-core; never downloads a browser.
import { readFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const theme = option("--theme", "light");
const width = Number(option("--width", "460"));
const [outDir, ...cards] = args;
if (!outDir || cards.length === 0) {
  console.error("usage: render.mjs [--theme light|dark] [--width 460] OUT_DIR CARD.json [...]");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const lib = readFileSync(join(here, "node_modules/adaptivecards/dist/adaptivecards.min.js"), "utf8");
const css = readFileSync(join(here, "node_modules/adaptivecards/dist/adaptivecards.css"), "utf8");
const hostConfig = JSON.parse(readFileSync(join(here, `hostconfig-teams-${theme}.json`), "utf8"));
const dark = theme === "dark";

const page_html = `<!doctype html><html lang="nl-BE"><head><meta charset="utf-8"><style>${css}
  body { margin: 0; padding: 24px; background: ${dark ? "#1f1f1f" : "#f5f5f5"};
         font-family: "Segoe UI", "DejaVu Sans", system-ui, sans-serif; }
  #bubble { width: ${width}px; background: ${dark ? "#2d2c2c" : "#ffffff"}; border-radius: 6px;
            border: 1px solid ${dark ? "#3d3d3d" : "#e1dfdd"}; box-shadow: 0 1px 2px rgba(0,0,0,.12); overflow: hidden; }
  .ac-pushButton { border: 1px solid ${dark ? "#605e5c" : "#d1d1d1"}; border-radius: 4px; padding: 5px 12px;
                   background: ${dark ? "#292929" : "#fff"}; color: ${dark ? "#fff" : "#242424"}; font-weight: 600; cursor: pointer; }
  .ac-pushButton.style-positive { background: #5b5fc7; color: #fff; border-color: #5b5fc7; }
  .ac-pushButton.style-destructive { background: ${dark ? "#292929" : "#fff"} !important; color: #c4314b !important; border-color: #c4314b !important; }
  .ac-input { font-family: inherit; font-size: 14px; padding: 5px 8px; border: 1px solid ${dark ? "#605e5c" : "#d1d1d1"};
              border-radius: 4px; background: ${dark ? "#1f1f1f" : "#fff"}; color: inherit; box-sizing: border-box; }
  .ac-input.ac-multiline { min-height: 64px; }
</style><script>${lib}</script></head><body><div id="bubble"></div></body></html>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  env: { ...process.env, LANG: "nl_BE.UTF-8", LANGUAGE: "nl_BE:nl" },  // date inputs read dd/mm/jjjj
  args: ["--lang=nl-BE", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
let failed = 0;
try {
  const context = await browser.newContext({ locale: "nl-BE", deviceScaleFactor: 2, viewport: { width: width + 48, height: 800 } });
  const page = await context.newPage();
  for (const file of cards) {
    await page.setContent(page_html);
    const card = JSON.parse(readFileSync(resolve(file), "utf8"));
    const problems = await page.evaluate(({ card, hostConfig }) => {
      const AC = window.AdaptiveCards;
      const adaptiveCard = new AC.AdaptiveCard();
      adaptiveCard.hostConfig = new AC.HostConfig(hostConfig);
      const context = new AC.SerializationContext();
      adaptiveCard.parse(card, context);
      const errors = [];
      for (let i = 0; i < context.eventCount; i++) {
        const e = context.getEventAt(i);
        errors.push(`${e.phase}/${e.event}: ${e.message}`);
      }
      const element = adaptiveCard.render();
      if (!element) errors.push("render returned nothing");
      else document.getElementById("bubble").appendChild(element);
      return errors;
    }, { card, hostConfig });
    const out = join(outDir, basename(file).replace(/\.json$/, ".png"));
    await page.locator("#bubble").screenshot({ path: out });
    if (problems.length) {
      failed++;
      console.error(`${file}: ${problems.join("; ")}`);
    }
    console.log(out);
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
