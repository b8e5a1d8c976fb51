"""No Docker engine runs here; the Dockerfile is at least well-formed and says what the README says."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTIONS = {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "HEALTHCHECK", "CMD", "ARG", "LABEL"}


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile_parses_and_is_locked_slim_non_root_and_healthy():
    steps = instructions()
    assert {keyword for keyword, _ in steps} <= INSTRUCTIONS
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.1[1-9]-slim", steps[0][1])
    found = dict(steps)
    assert "-c requirements.lock" in found["RUN"] and found["USER"] not in ("root", "0")
    assert found["EXPOSE"] == "3978" and "/healthz" in found["HEALTHCHECK"]
    copied = " ".join(args for keyword, args in steps if keyword == "COPY")
    for needed in ("bot", "cards", "examples", "manifest", "requirements.lock", "pyproject.toml"):
        assert needed in copied, needed
    assert json.loads(found["CMD"]) == ["python", "-m", "bot"]


def test_the_readme_runs_the_same_entry_point():
    readme = (ROOT / "README.md").read_text()
    assert "python -m bot" in readme and "Dockerfile" in readme
