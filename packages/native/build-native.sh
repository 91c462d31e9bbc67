#!/usr/bin/env bash
# Compiles every native/<name>.c (with the shared native/*.h) into bin/<name>-<arch> (x64, and
# arm64 where Debian's cross compiler gcc-aarch64-linux-gnu is installed): static, so a user's
# machine needs no compiler and no particular libc. A binary newer than its sources (and this
# script) is kept.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
flags=(-static -Os -s -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE)
build() { # compiler source output
  local compiler=$1 source=$2 output=$3
  local fresh=1 header
  [ -e "$output" ] && [ "$output" -nt "$source" ] && [ "$output" -nt build-native.sh ] || fresh=0
  for header in native/*.h; do [ "$output" -nt "$header" ] || fresh=0; done
  if [ "$fresh" = 1 ]; then return; fi
  "$compiler" "${flags[@]}" -o "$output.tmp" "$source"
  mv -f "$output.tmp" "$output"
}
case "$(uname -m)" in
  x86_64) native=x64 ;;
  aarch64) native=arm64 ;;
  *) native=$(uname -m) ;;
esac
shopt -s nullglob
for source in native/*.c; do
  name=$(basename "$source" .c)
  build gcc "$source" "bin/$name-$native"
  if [ "$native" = x64 ] && command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    build aarch64-linux-gnu-gcc "$source" "bin/$name-arm64"
  fi
done
