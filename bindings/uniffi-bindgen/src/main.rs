//! `uniffi-bindgen`, pinned to the UniFFI version of `superapp-openapi-ffi`:
//! `bindings/ffi/generate.sh` runs it in library mode on the built library.

fn main() {
    uniffi::uniffi_bindgen_main()
}
