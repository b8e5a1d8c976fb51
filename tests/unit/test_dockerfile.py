"""No Docker engine runs here: the Dockerfile and .dockerignore are checked statically, for what
issue 18 asks of the container (and what the README says of it)."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTIONS = {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "HEALTHCHECK", "CMD", "ARG", "LABEL",
                "STOPSIGNAL"}
PINNED = re.compile(r"python:3\.1[1-9]-slim-bookworm@sha256:[0-9a-f]{64}")


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines]


def stages() -> dict[str, list[tuple[str, str]]]:
    """Each build stage by name (``FROM … AS name``), in order; the last one is the default target."""
    found: dict[str, list[tuple[str, str]]] = {}
    for keyword, args in instructions():
        if keyword == "FROM":
            name = args.split()[-1] if " AS " in args.upper() else f"stage{len(found)}"
            found[name] = [(keyword, args)]
        else:
            found[list(found)[-1]].append((keyword, args))
    return found


def ancestry(name: str, all_stages: dict[str, list[tuple[str, str]]]) -> list[str]:
    chain = [name]
    while (base := all_stages[chain[-1]][0][1].split()[0]) in all_stages:
        chain.append(base)
    return chain


def test_the_dockerfile_parses_and_every_base_is_pinned_by_digest():
    steps = instructions()
    assert {keyword for keyword, _ in steps} <= INSTRUCTIONS
    external = [args.split()[0] for keyword, args in steps if keyword == "FROM" and args.split()[0] not in stages()]
    assert external and all(PINNED.fullmatch(image) for image in external), external
    assert "docker-library/repo-info" in (ROOT / "Dockerfile").read_text(), "say where the digest came from"


def test_dependencies_are_installed_in_their_own_layer_before_the_source():
    runtime = stages()["runtime"]
    copies = [(i, args) for i, (keyword, args) in enumerate(runtime) if keyword == "COPY"]
    installs = [i for i, (keyword, args) in enumerate(runtime)
                if keyword == "RUN" and "-c /tmp/deps/requirements.lock" in args]
    assert len(installs) == 1
    before = [args for i, args in copies if i < installs[0]]
    assert before == ["pyproject.toml requirements.lock /tmp/deps/"], "only the dependency manifests come first"
    after = [args for i, args in copies if i > installs[0]]
    assert after and all("--from=wheel" in args for args in after)
    wheel = " ".join(args for keyword, args in stages()["wheel"] if keyword == "COPY")
    for needed in ("bot", "cards", "manifest", "pyproject.toml"):
        assert needed in wheel, needed
    assert any(keyword == "RUN" and "--no-deps" in args for keyword, args in runtime[installs[0] + 1:])


def test_the_default_image_is_non_root_stops_on_sigterm_and_checks_health_on_its_port():
    all_stages = stages()
    default = list(all_stages)[-1]
    steps = [step for name in reversed(ancestry(default, all_stages)) for step in all_stages[name]]
    found = dict(steps)  # the last value of each instruction wins, as in Docker
    assert found["USER"] not in ("root", "0")
    assert found["STOPSIGNAL"] == "SIGTERM"
    assert "${PORT" in found["HEALTHCHECK"] and "/healthz" in found["HEALTHCHECK"]
    assert "3978/" not in found["HEALTHCHECK"], "the health check must follow $PORT"
    assert found["EXPOSE"] == "3978" and "PORT=3978" in found["ENV"]
    assert json.loads(found["CMD"]) == ["terugkoppeling", "serve"]


def test_demo_data_is_only_in_the_local_target():
    all_stages = stages()
    default = list(all_stages)[-1]
    assert "local" not in ancestry(default, all_stages)
    for name in ancestry(default, all_stages):
        copied = " ".join(args for keyword, args in all_stages[name] if keyword == "COPY")
        assert "examples" not in copied, name
    local = " ".join(args for keyword, args in all_stages["local"] if keyword in ("COPY", "ENV"))
    assert "examples/clients.json" in local and "BOT_DIRECTORY_FILE" in local


def ignored(path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context (.dockerignore: last match wins)."""
    verdict = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        deep = pattern.removeprefix("**/")
        if any(fnmatch(p, pattern) for p in prefixes) or (
            pattern.startswith("**/") and any(fnmatch(part, deep) for part in parts)
        ):
            verdict = not negate
    return verdict


def test_the_build_context_leaves_out_secrets_state_and_tooling():
    for path in (".venv/bin/python", "node_modules/x", "tools/playground/node_modules/x", "data/dev-master.key",
                 "data/terugkoppeling.db", ".env", ".env.local", ".git/config", ".pytest_cache/v",
                 ".hypothesis/examples/x", "devTools/m365agentsplayground.log", "bot/__pycache__/web.cpython-311.pyc",
                 "tests/unit/test_dockerfile.py", "env/.env.dev.user", "appPackage/build/appPackage.dev.zip"):
        assert ignored(path), path
    for keyword, args in instructions():
        if keyword == "COPY" and "--from=" not in args:
            for source in args.split()[:-1]:
                assert not ignored(source), f"{source} is copied but left out of the build context"
    assert not ignored("bot/teams/cards.py") and not ignored("manifest/schema/teams-manifest-1.30.schema.json")


def test_the_readme_runs_the_same_entry_point():
    readme = (ROOT / "README.md").read_text()
    assert "terugkoppeling serve" in readme and "Dockerfile" in readme
