//! `uniffi-bindgen-swift`: UniFFI's Swift generator (Swift sources, the C
//! header and an xcframework module map) for an iOS build; see
//! `docs/native-hosts.md`.

fn main() {
    uniffi::uniffi_bindgen_swift()
}
