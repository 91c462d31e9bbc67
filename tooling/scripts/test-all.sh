#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up, then build, typecheck, lint and test every
# package (integration tests drive real podman, bwrap, proot and chroot, as root and as an
# unprivileged user).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tooling/scripts/setup.sh
pnpm typecheck --output-logs=errors-only
pnpm lint
pnpm test
