#!/usr/bin/env bash
# The bot in local mode and the Microsoft 365 Agents Playground (a Teams-like client, offline), together.
# Open http://localhost:56150, choose "Personal Chat", type "terugkoppeling", and look up
# Samira Haddad, born 05/05/1996: her trajectbegeleider is the playground's own user, so the
# whole loop (form, preview, the recipient's card, "Overgezet") happens in this one chat.
#
# A bot in local mode already listening on PORT (`make run`) is reused; anything else on that port
# is named and nothing starts. The playground logs every message it shows, client data included:
# its log goes to a private temporary folder that is removed when this script ends, never to
# devTools/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
PORT="${PORT:-3978}"
PLAYGROUND_PORT=56150  # fixed: the bot is told to deliver to this mock connector
CONNECTOR="http://localhost:${PLAYGROUND_PORT}/_connector"
PLAYGROUND=tools/playground/node_modules/.bin/agentsplayground

if [ ! -x "$PYTHON" ] || [ ! -x "$PLAYGROUND" ]; then
  echo "playground: run \`make playground\` (it installs .venv and tools/playground first)" >&2
  exit 1
fi

# free | bot-<mode> (this bot, with its /healthz mode) | other
probe() {
  "$PYTHON" - "$1" "$2" <<'PY'
import json, socket, sys, urllib.request
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=1).close()
except OSError:
    print("free")
    sys.exit()
try:
    with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as response:
        body = json.loads(response.read())
    print(f"bot-{body.get('mode', 'unknown')}" if isinstance(body, dict) and body.get("status") == "ok" else "other")
except Exception:
    print("other")
PY
}

if [ "$(probe localhost "$PLAYGROUND_PORT")" != free ]; then
  echo "playground: port $PLAYGROUND_PORT is taken (another playground?). Stop it first: the playground" \
       "would move to another port, and the bot's cards would not reach it." >&2
  exit 1
fi

LOGDIR="$(mktemp -d)"  # mode 700; holds what the playground shows, until this script ends
BOT_PID="" PLAYGROUND_PID=""
cleanup() {
  if [ -n "$PLAYGROUND_PID" ]; then kill "$PLAYGROUND_PID" 2>/dev/null || true; wait "$PLAYGROUND_PID" 2>/dev/null || true; fi
  if [ -n "$BOT_PID" ]; then kill "$BOT_PID" 2>/dev/null || true; wait "$BOT_PID" 2>/dev/null || true; fi
  rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -f devTools/m365agentsplayground.log  # left by earlier versions of this script, with client data
rmdir devTools 2>/dev/null || true

case "$(probe 127.0.0.1 "$PORT")" in
  free)
    BOT_TEAMS_SERVICE_URL="$CONNECTOR" BOT_SWEEP_INTERVAL_SECONDS="${BOT_SWEEP_INTERVAL_SECONDS:-5}" \
      PORT="$PORT" "$PYTHON" -m bot &
    BOT_PID=$!
    state=free
    for _ in $(seq 300); do
      state="$(probe 127.0.0.1 "$PORT")"
      [ "$state" = free ] || break
      if ! kill -0 "$BOT_PID" 2>/dev/null; then
        BOT_PID=""
        echo "playground: the bot did not start (its message is above)" >&2
        exit 1
      fi
      sleep 0.1
    done
    if [ "$state" != bot-local ]; then
      echo "playground: the bot did not come up in local mode ($state; a .env with MicrosoftAppId?)." \
           "The playground talks to a bot without authentication only." >&2
      exit 1
    fi
    ;;
  bot-local)
    echo "playground: reusing the bot in local mode already on http://127.0.0.1:$PORT (make run)."
    echo "  The trajectbegeleider's card reaches the playground only if that bot was started with"
    echo "  BOT_TEAMS_SERVICE_URL=$CONNECTOR; otherwise stop it and run \`make playground\` alone."
    ;;
  bot-*)
    echo "playground: a bot that is not in local mode is listening on port $PORT; the playground" \
         "talks to a bot without authentication only. Stop it, or run PORT=<free port> make playground." >&2
    exit 1
    ;;
  *)
    echo "playground: port $PORT is taken by something that is not this bot. Stop it, or run" \
         "PORT=<free port> make playground." >&2
    exit 1
    ;;
esac

M365_AGENTS_PLAYGROUND_LOGFILE="$LOGDIR/m365agentsplayground.log" \
TEAMSAPPTESTER_BROWSER="${TEAMSAPPTESTER_BROWSER:-none}" \
  "$PLAYGROUND" -e "http://127.0.0.1:$PORT/api/messages" -c msteams --dt &
PLAYGROUND_PID=$!
for _ in $(seq 300); do
  [ "$(probe localhost "$PLAYGROUND_PORT")" != free ] && break
  kill -0 "$PLAYGROUND_PID" 2>/dev/null || { PLAYGROUND_PID=""; echo "playground: it did not start" >&2; exit 1; }
  sleep 0.1
done
echo "playground: open http://localhost:$PLAYGROUND_PORT, Personal Chat, type 'terugkoppeling' (Ctrl-C stops both)"
wait "$PLAYGROUND_PID"
