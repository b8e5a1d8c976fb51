// Offline checks of the Microsoft 365 Agents Toolkit project (m365agents.yml, m365agents.local.yml,
// env/, appPackage/) with the pinned toolkit CLI. `node tools/agents-toolkit/validate.mjs` from anywhere.
//
// What it checks:
//  1. each m365agents*.yml against the YAML schema the CLI itself ships for the file's `version`
//     (resource/yaml-schema/<version>/yaml.schema.json): action names, required inputs, outputs;
//  2. every ${{VAR}} the yml files and appPackage/manifest.json use is declared in that environment's
//     env/.env.<env> template, written by an action, or a SECRET_ (kept in the gitignored .user file);
//  3. `atk validate` (the manifest schema and the toolkit's app package rules) and `atk package`
//     (placeholders filled from env/, zipped) on a copy with sample ids in place of the provisioned ones.
// What it cannot check offline: anything that needs a sign-in (teamsApp/create, aadApp/create,
// botFramework/create, teamsApp/update and publish run against Microsoft 365 and Entra only when provisioning).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import Ajv from "ajv";
import yaml from "js-yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = process.env.AGENTS_TOOLKIT_PROJECT || join(here, "..", "..");  // a copy, for the tests
const cli = join(here, "node_modules", "@microsoft", "m365agentstoolkit-cli");
const atk = join(here, "node_modules", ".bin", "atk");
const projects = { "m365agents.yml": "dev", "m365agents.local.yml": "local" };
const builtins = new Set(["TEAMSFX_ENV"]);
const sample = {
  TEAMS_APP_ID: "7d5c1b9e-3a2f-4c6d-8e0f-1a2b3c4d5e6f",
  BOT_ID: "2f0e6a3c-4b1d-4e8a-9c7f-0a1b2c3d4e5f",
  TEAMS_APP_TENANT_ID: "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
  BOT_ENDPOINT: "https://example-3978.euw.devtunnels.ms",
};
const problems = [];

function placeholders(text) {
  return new Set([...text.matchAll(/\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]));
}

function declared(envFile) {
  const names = new Set();
  for (const line of readFileSync(envFile, "utf8").split("\n")) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line.trim());
    if (match) names.add(match[1]);
  }
  return names;
}

function written(document) {
  const names = new Set();
  for (const stage of ["provision", "deploy", "publish", "share"]) {
    for (const action of document[stage] ?? []) {
      for (const name of Object.values(action.writeToEnvironmentFile ?? {})) names.add(name);
    }
  }
  return names;
}

// The schema is one big anyOf over every action type; to name what is wrong with an action, it is
// checked against the definitions for its own `uses` only.
function schemaProblems(file, document, schema) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(schema, "atk");
  const definitions = schema.definitions ?? {};
  const usesOf = (definition) => definition?.properties?.uses?.const
    ?? (definition?.allOf ?? []).map((part) => definitions[String(part.$ref).split("/").pop()]?.properties?.uses?.const).find(Boolean);
  const found = [];
  const format = (where, errors) => errors.map((e) => `${file}: ${where}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  for (const stage of ["provision", "deploy", "publish", "share"]) {
    (document[stage] ?? []).forEach((action, index) => {
      const where = `/${stage}/${index} (${action?.uses})`;
      const candidates = Object.keys(definitions).filter((name) => usesOf(definitions[name]) === action?.uses && !name.endsWith("Base"));
      if (!candidates.length) {
        found.push(`${file}: ${where}: not an action this toolkit version knows`);
        return;
      }
      const results = candidates.map((name) => {
        const check = ajv.getSchema(`atk#/definitions/${name}`);
        return check(action) ? [] : format(where, check.errors);
      });
      if (results.every((errors) => errors.length)) found.push(...results.sort((a, b) => a.length - b.length)[0]);
    });
  }
  const whole = ajv.getSchema("atk");
  if (!found.length && !whole(document)) {
    const top = whole.errors.filter((e) => !/^\/(provision|deploy|publish|share)\//.test(e.instancePath));
    found.push(...(top.length ? format("", top) : [`${file}: does not match the toolkit's schema`]));
  }
  return found;
}

const manifestText = readFileSync(join(root, "appPackage", "manifest.json"), "utf8");
for (const [file, env] of Object.entries(projects)) {
  const text = readFileSync(join(root, file), "utf8");
  const document = yaml.load(text);
  const schemaFile = join(cli, "resource", "yaml-schema", String(document.version), "yaml.schema.json");
  if (!existsSync(schemaFile)) {
    problems.push(`${file}: version ${document.version} is not one the pinned toolkit CLI knows`);
    continue;
  }
  problems.push(...schemaProblems(file, document, JSON.parse(readFileSync(schemaFile, "utf8"))));
  const envFile = join(root, "env", `.env.${env}`);
  if (!existsSync(envFile)) {
    problems.push(`${file}: env/.env.${env} is missing`);
    continue;
  }
  const known = new Set([...declared(envFile), ...written(document), ...builtins]);
  for (const name of new Set([...placeholders(text), ...placeholders(manifestText)])) {
    if (!known.has(name) && !name.startsWith("SECRET_")) {
      problems.push(`${file}: \${{${name}}} is neither in env/.env.${env} nor written by an action`);
    }
  }
  for (const name of written(document)) {
    if (!name.startsWith("SECRET_") && !declared(envFile).has(name)) {
      problems.push(`env/.env.${env}: ${name} (written by ${file}) should be listed, empty, in the template`);
    }
  }
  for (const line of readFileSync(envFile, "utf8").split("\n")) {
    if (/^SECRET_[A-Z0-9_]*=./.test(line.trim())) problems.push(`env/.env.${env}: holds a secret value (${line.split("=")[0]})`);
  }

  if (problems.length) continue;  // the CLI would only repeat them, slowly

  // The CLI itself, on a copy with sample ids where provisioning would write real ones.
  const work = mkdtempSync(join(tmpdir(), "atk-"));
  try {
    for (const name of [file, "env", "appPackage"]) cpSync(join(root, name), join(work, name), { recursive: true });
    if (file !== "m365agents.yml") cpSync(join(root, file), join(work, "m365agents.yml"));
    const filled = readFileSync(envFile, "utf8").split("\n")
      .map((line) => { const [name] = line.split("="); return sample[name] && line === `${name}=` ? `${name}=${sample[name]}` : line; })
      .join("\n");
    writeFileSync(join(work, "env", `.env.${env}`), filled);
    const flags = ["--env", env, "--folder", work, "--interactive", "false", "--telemetry", "false"];
    for (const command of [["validate", "--manifest-file", join(work, "appPackage", "manifest.json")], ["package"]]) {
      try {
        execFileSync(atk, [...command, ...flags], { cwd: work, stdio: "pipe", timeout: 120_000, encoding: "utf8" });
      } catch (error) {
        problems.push(`atk ${command[0]} --env ${env}: ${(error.stdout || "") + (error.stderr || "")}`.trim());
      }
    }
    const zip = join(work, "appPackage", "build", `appPackage.${env}.zip`);
    const built = join(work, "appPackage", "build", `manifest.${env}.json`);
    if (!existsSync(zip) || !existsSync(built)) {
      problems.push(`atk package --env ${env}: no ${zip}`);
    } else {
      const manifest = JSON.parse(readFileSync(built, "utf8"));
      if (manifest.id !== sample.TEAMS_APP_ID || manifest.bots?.[0]?.botId !== sample.BOT_ID) {
        problems.push(`atk package --env ${env}: the Teams app id and the bot id were not filled apart`);
      }
      const suffix = declared(envFile).has("APP_NAME_SUFFIX") && /^APP_NAME_SUFFIX=(.*)$/m.exec(filled)[1];
      if (suffix && !manifest.name.short.endsWith(suffix)) problems.push(`atk package --env ${env}: no ${suffix} in the name`);
      console.log(`${file} (env ${env}): schema ${document.version} ok; atk validate ok; atk package: ${manifest.name.short}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (problems.length) {
  for (const problem of problems) console.error(`- ${problem}`);
  process.exit(1);
}
console.log("Agents Toolkit project: all checks passed");
