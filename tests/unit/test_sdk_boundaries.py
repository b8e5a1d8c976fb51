"""Each Teams SDK is imported by its own host package only (issue 16): botbuilder (and its
botframework/msrest parts) by bot/teams/, the Microsoft 365 Agents SDK by bot/agents/. The
shared code (cards, texts, invoke parsing, bot/chat, bot/app, bot/domain) imports neither."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
SDKS = {"botbuilder": "teams", "botframework": "teams", "msrest": "teams", "microsoft_agents": "agents"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_each_sdk_is_imported_by_its_own_package_only():
    misplaced = []
    seen = set()
    for path in sorted(BOT.rglob("*.py")):
        package = path.relative_to(BOT).parts[0]
        for name in _imports(path):
            root = name.split(".")[0]
            if root in SDKS:
                seen.add(root)
                if package != SDKS[root]:
                    misplaced.append(f"{path.relative_to(BOT.parent)} imports {name}")
    assert misplaced == []
    assert {"botbuilder", "microsoft_agents"} <= seen  # the walk looked at both hosts


def test_the_agents_host_loads_without_botbuilder_and_the_shared_modules_without_either():
    """Importing the Agents host (with the shared cards, texts and use cases it uses, and the
    composition root and command line that choose a host) loads no botbuilder module; the shared
    modules alone load no SDK at all."""
    script = (
        "import sys\n"
        "import bot.teams.activity, bot.teams.cards, bot.teams.texts, bot.teams.verbs, bot.teams.graph\n"
        "import bot.app.services, bot.app.counsellor, bot.app.recipient, bot.chat.turns, bot.chat.delivery\n"
        "import bot.chat.connector, bot.chat.removal\n"
        "shared = sorted({m.split('.')[0] for m in sys.modules} & {'botbuilder', 'botframework', 'msrest',"
        " 'microsoft_agents'})\n"
        "import bot.bootstrap, bot.__main__, bot.agents.host\n"
        "agents = sorted({m.split('.')[0] for m in sys.modules} & {'botbuilder', 'botframework', 'msrest'})\n"
        "print(shared, agents, 'microsoft_agents' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            cwd=BOT.parent, check=True)
    assert result.stdout.split() == ["[]", "[]", "True"], result.stdout + result.stderr
