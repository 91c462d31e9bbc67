#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the local busybox image (no registry
# needed), pull it into a store and run a command in it.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tooling/scripts/setup.sh

# A static busybox image imported into podman as localhost/polythene-test/busybox:latest.
image=$(cd tooling/test-images && pnpm --silent exec tsx src/cli.ts images |
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).busybox)')
store=${POLYTHENE_STORE:-/var/tmp/polythene}
polythene=(node apps/cli/dist/polythene.cjs --store "$store")

echo "+ polythene pull $image" >&2
uuid=$("${polythene[@]}" pull "$image")
echo "$uuid"
echo "+ polythene exec $uuid -- uname -a" >&2
"${polythene[@]}" exec "$uuid" -- uname -a
echo "+ polythene exec $uuid -- sh -c 'echo hello from inside the rootfs > /greeting && cat /greeting'" >&2
"${polythene[@]}" exec "$uuid" -- sh -c 'echo hello from inside the rootfs > /greeting && cat /greeting'
