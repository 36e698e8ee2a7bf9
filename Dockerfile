# chatflow-db: migrations, backups, restores and the sidecar in one image.
#
# The runtime is Debian bookworm with Node.js 24 (the active LTS) and only the client tools of one
# PostgreSQL major: pg_dump must be at least as new as the server it dumps (it refuses newer servers), so
# build for the major of your server or newer. PG_MAJOR=15 comes from Debian itself; other majors (17, the
# default, and 18) from the PostgreSQL project's apt repository (PGDG), set up with the script and signing
# key that Debian's postgresql-common package ships.
#
#   docker build -t chatflow-db:0.1.0 .                              # pg_dump/psql 17
#   docker build -t chatflow-db:0.1.0-pg18 --build-arg PG_MAJOR=18 . # pg_dump/psql 18

ARG NODE_IMAGE=node:24-bookworm-slim
ARG BASE_IMAGE=debian:bookworm-slim

# 1. Build: all dependencies, compile TypeScript into dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped here because `prepare` (= build) needs the sources, copied next.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# The image ships the CLI only (src/, scripts/): benchmarks, tests and their shared helpers stay out.
RUN echo '{ "extends": "./tsconfig.build.json", "include": ["src", "scripts"], "exclude": ["scripts/support"] }' > tsconfig.image.json \
 && npx tsc -p tsconfig.image.json

# 2. Production dependencies only (no build step: dist/ comes from stage 1).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: a sidecar only (no server, no data volume, nothing listening but /healthz and /metrics).
FROM ${NODE_IMAGE} AS node
FROM ${BASE_IMAGE} AS runtime

ARG PG_MAJOR=17
RUN set -eux; \
    apt-get update; \
    if ! apt-cache show "postgresql-client-${PG_MAJOR}" >/dev/null 2>&1; then \
      apt-get install -y --no-install-recommends ca-certificates postgresql-common; \
      /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
    fi; \
    apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"; \
    rm -rf /var/lib/apt/lists/*
# The tools of exactly this major first on PATH (not Debian's wrapper, which picks by cluster).
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:$PATH

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
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim" \
      io.chatflow.postgresql-client.major="${PG_MAJOR}"

COPY --from=node /usr/local/bin/node /usr/local/bin/node

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
 && node --version \
 && pg_dump --version | grep -q " ${PG_MAJOR}\." \
 && psql --version | grep -q " ${PG_MAJOR}\." \
 && chatflow-db --help >/dev/null

ENV NODE_ENV=production
STOPSIGNAL SIGTERM
USER chatflow
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8080)+'/livez',{signal:AbortSignal.timeout(8000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["chatflow-db"]
CMD ["start"]
