"""The Microsoft 365 Agents Toolkit project (m365agents*.yml, env/, appPackage/), checked offline.

``tools/agents-toolkit/validate.mjs`` runs the pinned toolkit CLI: each yml against the YAML schema
the CLI ships for its version, every ``${{VAR}}`` declared for its environment, then ``atk
validate`` (manifest schema and app package rules) and ``atk package`` with sample ids. What needs
a sign-in (creating the Teams app, the Entra app, the bot registration; upload) is not run here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.manifest import agents_toolkit_files, check_package

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "agents-toolkit"
ENVIRONMENTS = {"m365agents.yml": "dev", "m365agents.local.yml": "local"}


def env_file(name: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / "env" / f".env.{name}").read_text().splitlines()
             if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", line))
    return dict(pairs)


def test_app_package_is_the_bot_manifest_template_with_the_toolkit_placeholders():
    expected = agents_toolkit_files()
    on_disk = {p.name: p.read_bytes() for p in (ROOT / "appPackage").iterdir() if p.is_file()}
    assert on_disk == expected, "regenerate it: .venv/bin/python -m bot manifest --agents-toolkit appPackage"
    manifest = json.loads(expected["manifest.json"])
    assert manifest["id"] == "${{TEAMS_APP_ID}}" and manifest["bots"][0]["botId"] == "${{BOT_ID}}"
    assert manifest["name"]["short"].endswith("${{APP_NAME_SUFFIX}}")


def test_filled_in_the_package_passes_the_bots_own_upload_rules():
    text = agents_toolkit_files()["manifest.json"].decode()
    values = {"TEAMS_APP_ID": "7d5c1b9e-3a2f-4c6d-8e0f-1a2b3c4d5e6f", "BOT_ID": "2f0e6a3c-4b1d-4e8a-9c7f-0a1b2c3d4e5f",
              "APP_NAME_SUFFIX": env_file("dev")["APP_NAME_SUFFIX"]}
    filled = re.sub(r"\$\{\{(\w+)\}\}", lambda m: values[m[1]], text)
    files = {**agents_toolkit_files(), "manifest.json": filled.encode()}
    assert check_package(files) == []


def test_each_environment_has_its_own_suffix_and_no_secret_in_git():
    dev, local = env_file("dev"), env_file("local")
    assert dev["APP_NAME_SUFFIX"] and local["APP_NAME_SUFFIX"] and dev["APP_NAME_SUFFIX"] != local["APP_NAME_SUFFIX"]
    for values in (dev, local):
        assert {"TEAMS_APP_ID", "BOT_ID", "BOT_ENDPOINT"} <= set(values)
        assert not [k for k, v in values.items() if k.startswith("SECRET_") and v]
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "env/.env.*.user" in ignored, "env/.env.*.user (the toolkit's secrets) must be gitignored"


def _validator() -> list[str]:
    if not (TOOL / "node_modules" / ".bin" / "atk").exists() or shutil.which("node") is None:
        pytest.fail("needs Node.js and `npm ci --ignore-scripts --prefix tools/agents-toolkit` (make test installs it)")
    return ["node", str(TOOL / "validate.mjs")]


def test_the_toolkit_cli_accepts_the_project_offline():
    done = subprocess.run(_validator(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for yml, env in ENVIRONMENTS.items():
        assert f"{yml} (env {env}): schema v1.13 ok; atk validate ok; atk package: Terugkoppeling" in done.stdout


def test_the_toolkit_check_names_a_broken_action_and_an_undeclared_variable(tmp_path):
    for name in ("m365agents.yml", "m365agents.local.yml", "env", "appPackage"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    yml = tmp_path / "m365agents.yml"
    yml.write_text(yml.read_text().replace("messagingEndpoint:", "messagingEndpiont:"))
    local = tmp_path / "env" / ".env.local"
    local.write_text(re.sub(r"(?m)^BOT_ENDPOINT=.*\n", "", local.read_text()))
    done = subprocess.run(_validator(), cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AGENTS_TOOLKIT_PROJECT": str(tmp_path)})
    assert done.returncode == 1
    assert "(botFramework/create)/with must have required property 'messagingEndpoint'" in done.stderr
    assert "${{BOT_ENDPOINT}} is neither in env/.env.local nor written by an action" in done.stderr
