#!/usr/bin/env bash
# Runs a command with another Node.js major first on PATH: `scripts/with-node.sh 24 vitest run` runs the
# tests on the Node the image ships. The binary is the npm registry's node-linux-<arch> package (Node's
# official build), fetched once into node_modules/.cache/node-<major>.
set -euo pipefail
major=$1
shift
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "with-node: no node-linux package for $(uname -m)" >&2; exit 2 ;;
esac
dir="$(cd "$(dirname "$0")/.." && pwd)/node_modules/.cache/node-$major"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$major" >/dev/null && tar xzf node-linux-"$arch"-*.tgz)
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
  rm -rf "$tmp"
fi
echo "with-node: $("$dir/bin/node" --version)" >&2
PATH="$dir/bin:$PATH" exec "$@"
