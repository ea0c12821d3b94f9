#!/usr/bin/env bash
# Compiles native/mkl_vendor_shim.c into OUT_DIR/libtbar_mkl_shim.so (called by the BuildMklVendorShim target of
# Directory.Build.targets). Without a working C compiler the build still succeeds: OUT_DIR/libtbar_mkl_shim.unavailable
# then holds the reason, which Tbar.NativeStartup reports. Never fails its caller.
set -uo pipefail
out="${1:?usage: build-mkl-shim.sh OUT_DIR}"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/native/mkl_vendor_shim.c"
lib="$out/libtbar_mkl_shim.so" reason="$out/libtbar_mkl_shim.unavailable"
mkdir -p "$out"
cc="${CC:-}"
[ -n "$cc" ] || cc=$(command -v cc || command -v gcc || command -v clang || true)
if [ -z "$cc" ]; then
  rm -f "$lib"
  echo "no C compiler (cc, gcc or clang) was found when Tbar was built; install one (apt-get install gcc) and rebuild" >"$reason"
  exit 0
fi
tmp="$lib.$$.tmp"
if log=$("$cc" -O2 -shared -fPIC -o "$tmp" "$src" 2>&1); then
  mv -f "$tmp" "$lib" && rm -f "$reason"
else
  rm -f "$tmp" "$lib"
  printf '%s failed to compile %s: %s\n' "$cc" "$src" "$(echo "$log" | head -n 3 | tr '\n' ' ')" >"$reason"
fi
exit 0
