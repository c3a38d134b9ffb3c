# syntax=docker/dockerfile:1
# maxim-bot as a container image. Build: `docker build -t maxim-bot .`
# Config: mount a config file at /etc/maxim-bot/config.toml; secrets come from env
# (SLACK_BOT_TOKEN, ...). See docs/deploy.md and compose.yaml.

# ---- build: the wheel, then a venv with it and its dependencies --------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY maxims ./maxims
COPY bot ./bot
# hatchling (the build backend) is fetched by pip's isolated build; no other tool is needed.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/maxim-bot \
    && /opt/maxim-bot/bin/pip install --no-cache-dir -c constraints.txt /wheels/maxim_bot-*.whl \
    && /opt/maxim-bot/bin/python -m compileall -q /opt/maxim-bot/lib

# ---- runtime: the venv on a clean slim image, as a non-root user --------------------------------
FROM python:3.11-slim-bookworm
# A numeric user: Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
RUN groupadd --system --gid 10001 maxim \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/maxim-bot --create-home maxim
COPY --from=build /opt/maxim-bot /opt/maxim-bot
ENV PATH=/opt/maxim-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MAXIM_BOT_CONFIG=/etc/maxim-bot/config.toml
USER 10001:10001
# The default SQLite store (a relative path in the config) lands in the user's home.
WORKDIR /var/lib/maxim-bot
# 3000: Slack HTTP mode (/slack/events); 8000: the public pages ([web]); 8080: the probe and
# metrics server ([server] in the config: /healthz, /readyz, /metrics), which must be enabled
# for the HEALTHCHECK below.
EXPOSE 3000 8000 8080
# No curl in a slim image: Python's urllib fails (exit 1) on a refused connection or a non-2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# The bot stops cleanly on SIGTERM within schedule.stop_grace_seconds (default 10 s). The
# container's stop timeout must be longer, or the runtime kills it mid-post: compose sets
# stop_grace_period: 30s; with `docker run` / `docker stop` pass --stop-timeout 30 / -t 30.
STOPSIGNAL SIGTERM
CMD ["maxim-bot", "run"]
