# Terugkoppeling-bot: a slim, non-root image running `terugkoppeling serve` on $PORT (3978).
#
#   docker build -t terugkoppeling .                  # production: no demo data, needs MicrosoftAppId
#   docker build --target local -t terugkoppeling:local .
#   docker run --rm -p 127.0.0.1:3978:3978 -e BOT_INSECURE_DEVELOPMENT_NO_AUTH=true terugkoppeling:local
#
# The base is pinned by digest: python:3.11-slim-bookworm (Python 3.11.16, Debian 12), the
# multi-platform index digest Docker Hub served for that tag in late August 2026, as recorded in
# docker-library/repo-info (repos/python/remote/3.11-slim-bookworm.md). To move to a newer build:
# `docker buildx imagetools inspect python:3.11-slim-bookworm` and replace the digest (both FROM lines).
FROM python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cards ./cards
COPY manifest ./manifest
# The base's setuptools builds the wheel; cards/ and manifest/ go in as package data.
RUN pip wheel --no-deps --no-build-isolation --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=3978
WORKDIR /app

# Dependencies in their own layer, before any source: a code change does not reinstall them.
# The declared dependencies, at the versions in requirements.lock.
COPY pyproject.toml requirements.lock /tmp/deps/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/deps/pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/deps/requirements.txt \
 && pip install -c /tmp/deps/requirements.lock -r /tmp/deps/requirements.txt \
 && rm -rf /tmp/deps \
 && useradd --system --uid 10001 --home-dir /app bot \
 && mkdir -p /app/data && chown bot /app/data

# The bot itself (no dependency resolution: they are all above).
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
USER bot

# `docker stop` and Kubernetes send SIGTERM: the bot stops accepting, finishes what is in flight
# and the running sweep step, then exits 0.
STOPSIGNAL SIGTERM
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:${PORT:-3978}/healthz', timeout=2).status == 200 else 1)"
CMD ["terugkoppeling", "serve"]

# Local mode with the demo client directory (fictional people), for a try-out only. Local mode has
# no authentication: run it with BOT_INSECURE_DEVELOPMENT_NO_AUTH=true, published on loopback only.
FROM runtime AS local
COPY examples/clients.json /app/examples/clients.json
ENV BOT_DIRECTORY_FILE=/app/examples/clients.json

# The default target: no demo data. BOT_DIRECTORY_FILE or BOT_DIRECTORY_URL names the real directory.
FROM runtime AS production
