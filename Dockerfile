# Terugkoppeling-bot: a slim, non-root image running `python -m bot` on port 3978.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 \
    PORT=3978

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY bot ./bot
COPY cards ./cards
COPY examples ./examples
COPY manifest ./manifest
RUN pip install -c requirements.lock . \
 && useradd --system --uid 10001 --home-dir /app bot \
 && mkdir -p /app/data && chown bot /app/data
USER bot

EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3978/healthz', timeout=2).status == 200 else 1)"
CMD ["python", "-m", "bot"]
