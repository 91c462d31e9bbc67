#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the local busybox image (no registry
# needed), pull it into a store and run a command in it. Output: the steps (`+ …`, on stderr),
# the UUID and the command's output; nothing else unless something fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
# POLYTHENE_QUICKSTART_NO_SETUP=1: skip it (the quickstart's own test, which must not rebuild
# the workspace under the other tests' feet).
if [ "${POLYTHENE_QUICKSTART_NO_SETUP:-}" != 1 ]; then bash tooling/scripts/setup.sh; fi

# A static busybox image imported into podman as localhost/polythene-test/busybox:latest.
image=$(cd tooling/test-images && pnpm --silent exec tsx src/cli.ts images |
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).busybox)')
store=${POLYTHENE_STORE:-/var/tmp/polythene}
polythene=(node apps/cli/dist/polythene.cjs --store "$store")

echo "+ polythene pull $image" >&2
uuid=$("${polythene[@]}" pull --quiet "$image")
echo "$uuid"
echo "+ polythene exec $uuid -- uname -a" >&2
"${polythene[@]}" exec "$uuid" -- uname -a
echo "+ polythene exec $uuid -- sh -c 'echo hello from inside the rootfs > /greeting && cat /greeting'" >&2
"${polythene[@]}" exec "$uuid" -- sh -c 'echo hello from inside the rootfs > /greeting && cat /greeting'
