//! AES-128-CBC with PKCS#7 under the session key, and the base64 around it:
//! the bytes of `encryptedData`, checked before any block is decrypted.

use aes::Aes128;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};

use super::OpenDataError;
use crate::secret::SessionKey;

/// AES's block, and the length of the key and of the iv.
pub(super) const BLOCK: usize = 16;

/// The 16 bytes a base64 field stands for, or `error`.
fn sixteen_bytes(text: &str, error: OpenDataError) -> Result<[u8; BLOCK], OpenDataError> {
    // 16 bytes are 24 base64 characters: anything longer is refused before
    // decoding, so a huge value costs nothing.
    if text.len() != 24 {
        return Err(error);
    }
    let bytes = STANDARD.decode(text).map_err(|_| error.clone())?;
    bytes.try_into().map_err(|_| error)
}

/// The AES key a session key stands for.
pub(super) fn aes_key(session_key: &SessionKey) -> Result<[u8; BLOCK], OpenDataError> {
    sixteen_bytes(session_key.secret(), OpenDataError::SessionKey)
}

/// The iv a base64 `iv` field stands for.
pub(super) fn iv_bytes(iv: &str) -> Result<[u8; BLOCK], OpenDataError> {
    // Not base64 at all, or base64 of another length: two different mistakes.
    if iv.len() <= 4 * BLOCK && STANDARD.decode(iv).is_err() {
        return Err(OpenDataError::Base64 { field: "iv" });
    }
    sixteen_bytes(iv, OpenDataError::Iv)
}

/// `plaintext` in AES-128-CBC under `key` and `iv`, padded with PKCS#7.
pub(super) fn encrypt(plaintext: &[u8], key: &[u8; BLOCK], iv: &[u8; BLOCK]) -> Vec<u8> {
    cbc::Encryptor::<Aes128>::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext)
}

/// The plaintext of base64 `encrypted_data`, with its PKCS#7 padding checked
/// and removed.
pub(super) fn decrypt(
    encrypted_data: &str,
    key: &[u8; BLOCK],
    iv: &[u8; BLOCK],
) -> Result<Vec<u8>, OpenDataError> {
    let ciphertext = STANDARD
        .decode(encrypted_data)
        .map_err(|_| OpenDataError::Base64 {
            field: "encryptedData",
        })?;
    if ciphertext.is_empty() || ciphertext.len() % BLOCK != 0 {
        return Err(OpenDataError::Truncated {
            len: ciphertext.len(),
        });
    }
    cbc::Decryptor::<Aes128>::new(key.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&ciphertext)
        .map_err(|_| OpenDataError::BadPadding)
}

/// 16 fresh bytes from the thread's CSPRNG: a new iv for every seal, so two
/// seals of the same data under the same key differ.
pub(super) fn random_iv() -> [u8; BLOCK] {
    let mut iv = [0u8; BLOCK];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut iv);
    iv
}

/// Standard base64, as WeChat sends `encryptedData` and `iv`.
pub(super) fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // WeChat's published vectors (wechatpy's test_wxa_decrypt_message among
    // them), kept once for these tests and tests/opendata.rs.
    include!("../../tests/vectors/wechat.rs");

    #[test]
    fn encrypting_wechats_sample_plaintext_gives_its_published_ciphertext() {
        // The known answer in the other direction: what decrypt gives back,
        // encrypted again under the same key and iv, is the sample byte for
        // byte (so the padding is PKCS#7 to 16, as WeChat's).
        let key = aes_key(&SessionKey::new(SESSION_KEY)).unwrap();
        let iv = iv_bytes(IV).unwrap();
        let plaintext = decrypt(ENCRYPTED_DATA, &key, &iv).unwrap();
        assert!(plaintext.starts_with(br#"{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE""#));
        assert_eq!(to_base64(&encrypt(&plaintext, &key, &iv)), ENCRYPTED_DATA);
    }

    #[test]
    fn keys_and_ivs_that_are_not_sixteen_bytes_are_refused() {
        for bad in [
            "",
            "AAAA",
            "tiihtNczf5v6AKRyjwEUhQ=",
            "tiihtNczf5v6AKRyjwEUhQ===",
        ] {
            assert_eq!(
                aes_key(&SessionKey::new(bad)),
                Err(OpenDataError::SessionKey)
            );
        }
        assert_eq!(iv_bytes("AAAA"), Err(OpenDataError::Iv));
        assert_eq!(
            iv_bytes("r7BXXKkLb8qrSNn05n0qiA=!"),
            Err(OpenDataError::Base64 { field: "iv" })
        );
    }

    #[test]
    fn fresh_ivs_differ() {
        assert_ne!(random_iv(), random_iv());
    }
}
