#!/usr/bin/env bash
# The bot in local mode and the Microsoft 365 Agents Playground (a Teams-like client, offline), together.
# Open http://localhost:56150, choose "Personal Chat", type "terugkoppeling", and look up
# Samira Haddad, born 05/05/1996: her trajectbegeleider is the playground's own user, so the
# whole loop (form, preview, the recipient's card, "Overgezet") happens in this one chat.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
export BOT_TEAMS_SERVICE_URL="http://localhost:56150/_connector"  # the playground's mock Bot Connector
export BOT_SWEEP_INTERVAL_SECONDS="${BOT_SWEEP_INTERVAL_SECONDS:-5}"
"$PYTHON" -m bot &
BOT=$!
trap 'kill "$BOT" 2>/dev/null' EXIT
TEAMSAPPTESTER_BROWSER="${TEAMSAPPTESTER_BROWSER:-none}" \
  tools/playground/node_modules/.bin/agentsplayground -e http://127.0.0.1:3978/api/messages -c msteams --dt
