#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up, then build, typecheck, lint, dry-run the release
# and test every package (integration tests drive real podman, bwrap, proot and chroot, as root
# and as an unprivileged user; tooling/acceptance installs the packed tarballs with npm). Ends with one summary line: "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tooling/scripts/setup.sh
# Standard hosts ship /dev/net/tun as 0666, which an unprivileged private network needs
# (slirp4netns opens it as the user); some sandboxes make it 0600. Test as a standard host.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  if [ "$(id -u)" -eq 0 ]; then chmod 0666 /dev/net/tun; else sudo chmod 0666 /dev/net/tun; fi
fi
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
