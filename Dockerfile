# syntax=docker/dockerfile:1
# The Floorsync server image: the Node stage builds the front-end assets, the Python stage installs the server
# from the pinned set and runs it as a non-root user. docker-compose.yml shows how it is run in production.

FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY pwa ./pwa
# Writes server/web/static/vendor/ (the office UI's htmx and the Gantt's vis-timeline) and pwa/dist (the floor app).
RUN npm run build


FROM python:3.11-slim AS server
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLOORSYNC_DATA_DIR=/var/lib/floorsync
# pg_dump/pg_restore for `floorsync backup|restore`; Debian bookworm's client is 15, the server's major version.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY schemas ./schemas
COPY server ./server
COPY sync ./sync
COPY devices ./devices
COPY --from=assets /src/server/web/static/vendor ./server/web/static/vendor
COPY --from=assets /src/pwa/dist ./pwa/dist
RUN pip install -c requirements.lock . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/floorsync --create-home floorsync
USER floorsync
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["floorsync", "serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
