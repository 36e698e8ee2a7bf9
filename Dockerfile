# syntax=docker/dockerfile:1
#
# chatflow-db: migrations, backups, restores and the sidecar in one image.
#
# The runtime is the official PostgreSQL image, so pg_dump/psql are PostgreSQL 17: pg_dump must be at
# least as new as the server it dumps (it refuses newer servers), and 17 covers servers 9.2-17.
# Node.js 24 (the active LTS in 2026) is copied in from the official node image of the same Debian release (bookworm).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG PG_IMAGE=postgres:17-bookworm

# 1. Build: all dependencies, compile TypeScript into dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped here because `prepare` (= build) needs the sources, copied next.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# The image ships the CLI only (src/, scripts/): benchmarks and tests stay out.
RUN echo '{ "extends": "./tsconfig.build.json", "include": ["src", "scripts"] }' > tsconfig.image.json \
 && npx tsc -p tsconfig.image.json

# 2. Production dependencies only (no build step: dist/ comes from stage 1).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime.
FROM ${NODE_IMAGE} AS node
FROM ${PG_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="chatflow-db" \
      org.opencontainers.image.description="ChatFlow database operations: schema, migrations, streaming verified backups, safe restores, sidecar with /healthz and /metrics." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/chatflow/chatflow-db" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.base.name="docker.io/library/postgres:17-bookworm"

COPY --from=node /usr/local/bin/node /usr/local/bin/node
# node needs libstdc++ (normally already there through PostgreSQL's LLVM JIT; made explicit here).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libstdc++6 \
 && rm -rf /var/lib/apt/lists/*

# A non-root user of our own (the image's `postgres` user belongs to the server it is not running).
RUN groupadd --system --gid 10001 chatflow \
 && useradd --system --uid 10001 --gid chatflow --home-dir /app --no-create-home --shell /usr/sbin/nologin chatflow \
 && mkdir -p /app /backups \
 && chown chatflow:chatflow /backups

WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY initdb ./initdb
# The package's bin on PATH; node resolves ../dist from the symlink's target.
RUN chmod 0755 bin/chatflow-db.js \
 && ln -s /app/bin/chatflow-db.js /usr/local/bin/chatflow-db \
 && node --version && pg_dump --version && chatflow-db --help >/dev/null

ENV NODE_ENV=production
# The postgres image stops its server with SIGINT; the sidecar expects Docker's usual SIGTERM.
STOPSIGNAL SIGTERM
USER chatflow
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8080)+'/healthz',{signal:AbortSignal.timeout(8000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["chatflow-db"]
CMD ["start"]
