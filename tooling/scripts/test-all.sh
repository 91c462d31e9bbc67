#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up, then build, typecheck, lint, dry-run the release
# and test every package (integration tests drive real podman, bwrap, proot and chroot, as root
# and as an unprivileged user; tooling/acceptance installs the packed tarballs with npm). Ends with one summary line: "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tooling/scripts/setup.sh
pnpm typecheck --output-logs=errors-only
pnpm lint
# The release path as a dry run: version from the changesets, build and pack every
# publishable package, in a temporary copy (this checkout is left as it is).
pnpm release --dry-run

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
pnpm test 2>&1 | tee "$log" || status=$?
# Sum vitest's per-package "Tests  N passed | N failed | N skipped (N)" lines.
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^\S+:test:\s+Tests\s' | awk '
  { for (i = 1; i <= NF; i++) {
      if ($(i+1) ~ /^passed/) passed += $i
      if ($(i+1) ~ /^failed/) failed += $i
      if ($(i+1) ~ /^skipped/) skipped += $i
  } }
  END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }'
exit "$status"
