#!/usr/bin/env bash
# Generates the Python, Kotlin and Swift bindings of superapp-openapi-ffi
# from the built library (UniFFI library mode) into bindings/ffi/generated/.
#
#   bash bindings/ffi/generate.sh
#
# The bindings are generated from the unstripped dev build: a stripped
# library has no UniFFI metadata. The same metadata is in every profile's
# build, so the bindings load the stripped release-ffi library as well
# (test.sh runs them against it).
#
# Known UniFFI issues handled here, not to rediscover:
# - UniFFI 0.32.2's generated Python cancels a host coroutine with
#   `loop.call_soon` from the Rust thread that dropped the call; call_soon is
#   not thread-safe (the loop is not woken, and asyncio's debug mode raises).
#   It must be `call_soon_threadsafe`: the generated file is patched below,
#   and the script fails if the line it patches is not there (a newer UniFFI
#   either fixed it or moved it: look again).
# - UniFFI 0.32.2's Kotlin lowers a foreign method's return value of another
#   crate's enum (the core's ConsentState, PromptAnswer) with that crate's
#   RustBuffer type, which does not compile: such methods return the ffi
#   crate's ConsentAnswer and an Option<bool> instead (src/consent.rs).
# - Python hosts must call `uniffi_set_event_loop(loop)` before Rust calls
#   their async methods: those calls arrive on the library's threads, which
#   have no running loop (the tests and examples do it first thing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$here/generated"

echo "--- cargo build -p superapp-openapi-ffi -p uniffi-bindgen (dev, unstripped)"
# Two builds, not one: built together, cargo would unify UniFFI's features
# and the library's build would get the bindgen's clap and cargo_metadata.
cargo build --quiet -p superapp-openapi-ffi --lib
cargo build --quiet -p uniffi-bindgen
lib="$target/debug/libsuperapp_openapi_ffi.so"
bindgen="$target/debug/uniffi-bindgen"

rm -rf "$out"
for language in python kotlin swift; do
  echo "--- uniffi-bindgen generate --library (${language})"
  "$bindgen" generate --library "$lib" --language "$language" --no-format \
    --out-dir "$out/$language" >/dev/null
done

py="$out/python/superapp_openapi_ffi.py"
buggy='eventloop.call_soon(_uniffi_cancel_task, task)'
fixed='eventloop.call_soon_threadsafe(_uniffi_cancel_task, task)'
if grep -qF "$buggy" "$py"; then
  python3 - "$py" "$buggy" "$fixed" <<'PY'
import sys
path, buggy, fixed = sys.argv[1:]
text = open(path).read()
indent = "    "
note = (
    indent + "# Patched by bindings/ffi/generate.sh: Rust drops a host future from its own\n"
    + indent + "# thread, so the cancel must be scheduled thread-safely (UniFFI 0.32.2 uses\n"
    + indent + "# call_soon, which does not wake the loop and is not thread-safe).\n"
)
text = text.replace(indent + buggy, note + indent + fixed, 1)
open(path, "w").write(text)
PY
  echo "--- patched the generated Python: call_soon -> call_soon_threadsafe when a host call is cancelled"
elif ! grep -qF "$fixed" "$py"; then
  echo "generate.sh: the generated Python no longer has the host-future cancel line; check UniFFI's Async.py" >&2
  exit 1
fi

# The Swift delegate must carry every method (there is no Swift toolchain
# here to compile it: see docs/native-hosts.md).
swift="$out/swift/superapp_openapi_ffi.swift"
for method in \
  "func login(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func checkSession(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func getPhoneNumber(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func getEmail(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func chooseAvatar(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func getNickName(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func getUserInfo(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func getUserProfile(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func requestPayment(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func requestMidasPaymentGameItem(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func requestVirtualPayment(app: AppInfo, params: JsonText) async throws  -> JsonText" \
  "func getAuthCode(app: AppInfo, request: AuthCodeRequest) async throws  -> AuthGrant" \
  "func openApiVersion(app: AppInfo) throws  -> ApiVersion?" \
  "func appUid(app: AppInfo) throws  -> String?" \
  "func consentPrompt(app: AppInfo, prompt: ConsentPrompt) async throws  -> ConsentAnswer" \
  "func openSetting(app: AppInfo, settings: [ScopeConsent]) async throws  -> [ScopeConsent]" \
  "public protocol OpenApiHandler: AnyObject, Sendable" \
  "public protocol CustomApiHandler: AnyObject, Sendable" \
  "func call(app: AppInfo, params: JsonText, states: StateSender) async throws  -> JsonText" \
  "public protocol ConsentStore: AnyObject, Sendable" \
  "public protocol StateSink: AnyObject, Sendable" \
  "public typealias JsonText = String"; do
  if ! grep -qF -- "$method" "$swift"; then
    echo "generate.sh: the Swift bindings lack: $method" >&2
    exit 1
  fi
done
echo "--- Swift: the OpenApiHandler protocol has its 16 methods; CustomApiHandler, ConsentStore and StateSink are there"
echo "bindings in $out"
