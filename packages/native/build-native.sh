#!/usr/bin/env bash
# Compiles every native/<name>.c (with the shared native/*.h) into bin/<name>-<arch> (x64, and
# arm64 where Debian's cross compiler gcc-aarch64-linux-gnu is installed): static, so a user's
# machine needs no compiler and no particular libc. Each native/addon/<name>.c is a Node-API
# addon built the same way into bin/<name>-<arch>.node: a shared object with no library at all
# (-nostdlib, raw system calls), so it loads under any libc. A binary newer than its sources
# (and this script) is kept.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
flags=(-static -Os -s -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE)
addon_flags=(-shared -fPIC -nostdlib -fno-stack-protector -Os -s -Wall -Wextra -Werror -std=gnu11)
build() { # compiler source output [flags...]
  local compiler=$1 source=$2 output=$3
  shift 3
  local -a chosen=("${flags[@]}")
  if [ $# -gt 0 ]; then chosen=("$@"); fi
  local fresh=1 header
  [ -e "$output" ] && [ "$output" -nt "$source" ] && [ "$output" -nt build-native.sh ] || fresh=0
  for header in native/*.h; do [ "$output" -nt "$header" ] || fresh=0; done
  if [ "$fresh" = 1 ]; then return; fi
  "$compiler" "${chosen[@]}" -o "$output.tmp" "$source"
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
for source in native/addon/*.c; do
  name=$(basename "$source" .c)
  build gcc "$source" "bin/$name-$native.node" "${addon_flags[@]}"
  if [ "$native" = x64 ] && command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    build aarch64-linux-gnu-gcc "$source" "bin/$name-arm64.node" "${addon_flags[@]}"
  fi
done
