#!/usr/bin/env bash
# Native hosts, end to end, on a fresh machine:
#
#   bash bindings/ffi/test.sh
#
# 1. builds superapp-openapi-ffi and generates the Python, Kotlin and Swift
#    bindings from it (generate.sh; the Swift delegate is checked there);
# 2. runs the adapter's Rust tests (cargo test -p superapp-openapi-ffi);
# 3. builds the shipped library (profile release-ffi: opt-level "s", LTO,
#    stripped) and reports its size; everything below runs against it;
# 4. runs the Python suite (pytest, in bindings/ffi/.venv);
# 5. compiles and runs the Kotlin suite on the JVM over JNA (kotlinc from
#    the npm package kotlin-compiler into bindings/ffi/.tools, JNA from
#    Debian's libjna-java);
# 6. runs the Python example host (examples/host.py) and the bench
#    (bench.py).
#
# It installs what it needs: libjna-java with apt-get when missing, kotlinc
# with npm, pytest with pip. Needs cargo, python3 (with venv), npm and a
# Java 17 runtime.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR=never
target="${CARGO_TARGET_DIR:-$root/target}"
KOTLIN_COMPILER_VERSION=2.4.20

step() { printf '\n==> %s\n' "$*"; }

for tool in cargo python3 npm java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test.sh: $tool is missing" >&2
    exit 1
  fi
done

step "generate the bindings (bindings/ffi/generate.sh)"
bash "$here/generate.sh"

step "the adapter from Rust (cargo test -p superapp-openapi-ffi)"
cargo test --quiet -p superapp-openapi-ffi

step "build the shipped library (profile release-ffi)"
cargo build --quiet -p superapp-openapi-ffi --lib --profile release-ffi
shipped="$target/release-ffi/libsuperapp_openapi_ffi.so"
size=$(stat -c %s "$shipped")
echo "stripped libsuperapp_openapi_ffi.so: $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB)"
# Everything below loads the shipped library with the bindings generated
# from the unstripped one.
cp "$shipped" "$here/generated/python/"
mkdir -p "$here/build/lib"
cp "$shipped" "$here/build/lib/"

step "Python suite (pytest)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import pytest" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pytest>=8"
fi
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests/python"

step "Kotlin suite (kotlinc, JVM, JNA)"
if [ ! -f /usr/share/java/jna.jar ]; then
  echo "--- apt-get install libjna-java"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq libjna-java >/dev/null
fi
kotlin_home="$here/.tools/kotlin/node_modules/kotlin-compiler"
if [ ! -x "$kotlin_home/bin/kotlinc" ]; then
  echo "--- npm install kotlin-compiler@$KOTLIN_COMPILER_VERSION"
  npm install --silent --no-audit --no-fund --prefix "$here/.tools/kotlin" \
    "kotlin-compiler@$KOTLIN_COMPILER_VERSION"
fi
classpath="/usr/share/java/jna.jar:$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
suite="$here/build/kotlin/suite.jar"
mkdir -p "$here/build/kotlin"
"$kotlin_home/bin/kotlinc" -nowarn -cp "$classpath" -d "$suite" \
  "$here/tests/kotlin/HostSuite.kt" \
  "$here/generated/kotlin/uniffi/superapp_openapi/superapp_openapi.kt" \
  "$here/generated/kotlin/uniffi/superapp_openapi_ffi/superapp_openapi_ffi.kt"
java -Djna.library.path="$here/build/lib" \
  -cp "$suite:$classpath:$kotlin_home/lib/kotlin-stdlib.jar" HostSuiteKt

step "Python example host (examples/host.py)"
"$venv/bin/python" "$here/examples/host.py"

step "bench (bench.py): invoke vs one bare FFI round trip to the same Python host"
"$venv/bin/python" "$here/bench.py"
