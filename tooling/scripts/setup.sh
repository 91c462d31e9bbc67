#!/usr/bin/env bash
# Installs everything Polythene's build and tests need on a fresh Debian 12 machine that has
# only Node 20 and npm: the system tools (podman, bubblewrap, proot, …), pnpm, the workspace
# dependencies, and a build. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: what each is for.
#   podman uidmap slirp4netns fuse-overlayfs  pull/export images, also rootless
#   bubblewrap proot                          the unprivileged backends
#   libcap2-bin util-linux                    capsh/unshare for the chroot backend
#   busybox-static                            the local test image
#   gcc libc6-dev gcc-aarch64-linux-gnu …     build the static C helpers (x64 and arm64)
#   docker-registry skopeo apache2-utils      the loopback registry tests pull from (htpasswd)
#   tmux                                      the real-terminal tests of `polythene shell`
#   debootstrap apt-utils                     the Debian test image and its local APT repository
#   attr                                      getfattr/setfattr: tests that extended attributes survive
packages=(podman uidmap slirp4netns fuse-overlayfs bubblewrap proot libcap2-bin util-linux
  gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  busybox-static docker-registry skopeo apache2-utils ca-certificates tar procps iproute2 tmux
  debootstrap apt-utils attr)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm" >&2
  as_root npm install -g pnpm@10 >/dev/null
fi

# Quiet unless something fails: pnpm's and turbo's banners and summaries are not what a
# user needs to see, and the log is shown in full when the build fails.
echo "setup: installing dependencies and building" >&2
pnpm install --frozen-lockfile --reporter=silent
build_log=$(mktemp)
if ! pnpm --silent build --output-logs=errors-only >"$build_log" 2>&1; then
  cat "$build_log" >&2
  rm -f "$build_log"
  exit 1
fi
rm -f "$build_log"
