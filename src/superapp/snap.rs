//! The v3 redemption's signature, as Bank Indonesia's SNAP "B2B2C Get
//! Token" defines it (TCMPP's 1219/72340 names the headers, SNAP the
//! algorithm): `X-SIGNATURE = base64(SHA256withRSA(private key, clientId +
//! "|" + X-TIMESTAMP))`, `X-TIMESTAMP` ISO-8601 with an offset,
//! `X-CLIENT-KEY` the client id. The platform signs with its private key;
//! the super-app server verifies with the platform's public key.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};

use super::signing::{SignatureRefusal, within_window};

/// The header carrying the request time, ISO-8601 with an offset.
pub const X_TIMESTAMP: &str = "X-TIMESTAMP";
/// The header carrying the client id.
pub const X_CLIENT_KEY: &str = "X-CLIENT-KEY";
/// The header carrying the RSA signature.
pub const X_SIGNATURE: &str = "X-SIGNATURE";

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file could not be read.
    #[error("cannot read the key file {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// No PEM section of the expected kind.
    #[error("{0}: expected a PEM \"{1}\" section")]
    NotPem(String, &'static str),
    /// A key ring refuses (not RSA, too short, malformed).
    #[error("{0}: not a usable RSA key (2048 to 8192 bits): {1}")]
    Rejected(String, String),
}

/// The platform's side: signs `clientId|X-TIMESTAMP`.
#[derive(Clone)]
pub struct SnapSigner {
    client_key: String,
    key: Arc<RsaKeyPair>,
}

impl SnapSigner {
    /// A signer from a PEM private key (`BEGIN PRIVATE KEY`, PKCS#8, or
    /// `BEGIN RSA PRIVATE KEY`, PKCS#1). `shown` names the key in errors.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the PEM holds no usable RSA private key.
    pub fn from_pem(
        client_key: impl Into<String>,
        pem: &[u8],
        shown: &str,
    ) -> Result<Self, KeyError> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| KeyError::NotPem(shown.to_owned(), "PRIVATE KEY"))?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => {
                return Err(KeyError::Rejected(
                    shown.to_owned(),
                    "not an RSA key".into(),
                ));
            }
        }
        .map_err(|e| KeyError::Rejected(shown.to_owned(), e.to_string()))?;
        Ok(SnapSigner {
            client_key: client_key.into(),
            key: Arc::new(key),
        })
    }

    /// [`from_pem`](Self::from_pem) with the PEM read from `path`.
    ///
    /// # Errors
    ///
    /// [`KeyError::Unreadable`] or what `from_pem` says.
    pub fn from_pem_file(client_key: impl Into<String>, path: &Path) -> Result<Self, KeyError> {
        let (pem, shown) = read_pem(path)?;
        SnapSigner::from_pem(client_key, &pem, &shown)
    }

    /// The client id sent as `X-CLIENT-KEY`.
    pub fn client_key(&self) -> &str {
        &self.client_key
    }

    /// `base64(SHA256withRSA(clientId|timestamp))`.
    pub fn sign(&self, timestamp: &str) -> String {
        let message = format!("{}|{timestamp}", self.client_key);
        let mut out = vec![0; self.key.public().modulus_len()];
        // PKCS#1 v1.5 draws no randomness; the rng is for blinding. A
        // failure (none is known for a loaded key) leaves a signature the
        // server refuses, never a panic.
        if self
            .key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut out,
            )
            .is_err()
        {
            out.clear();
        }
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// The three headers' values (timestamp, client key, signature) at `now_ms`.
    pub fn headers(&self, now_ms: u64) -> (String, String, String) {
        let timestamp = iso8601(now_ms);
        let signature = self.sign(&timestamp);
        (timestamp, self.client_key.clone(), signature)
    }
}

impl fmt::Debug for SnapSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapSigner")
            .field("client_key", &self.client_key)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The super-app server's side: verifies with the platform's public key.
#[derive(Clone)]
pub struct SnapVerifier {
    client_key: String,
    /// PKCS#1 `RSAPublicKey` DER, what ring verifies with.
    public_key: Arc<[u8]>,
}

impl SnapVerifier {
    /// A verifier from a PEM public key (`BEGIN PUBLIC KEY`, what `openssl
    /// rsa -pubout` writes) for requests from `client_key`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the PEM holds no RSA public key.
    pub fn from_pem(
        client_key: impl Into<String>,
        pem: &[u8],
        shown: &str,
    ) -> Result<Self, KeyError> {
        let spki = SubjectPublicKeyInfoDer::from_pem_slice(pem)
            .map_err(|_| KeyError::NotPem(shown.to_owned(), "PUBLIC KEY"))?;
        let public_key = rsa_public_key_from_spki(&spki)
            .ok_or_else(|| KeyError::Rejected(shown.to_owned(), "not an RSA public key".into()))?;
        Ok(SnapVerifier {
            client_key: client_key.into(),
            public_key: public_key.into(),
        })
    }

    /// [`from_pem`](Self::from_pem) with the PEM read from `path`.
    ///
    /// # Errors
    ///
    /// [`KeyError::Unreadable`] or what `from_pem` says.
    pub fn from_pem_file(client_key: impl Into<String>, path: &Path) -> Result<Self, KeyError> {
        let (pem, shown) = read_pem(path)?;
        SnapVerifier::from_pem(client_key, &pem, &shown)
    }

    /// Checks a request's three headers against `now_ms` and the window.
    ///
    /// # Errors
    ///
    /// The [`SignatureRefusal`] that says what was wrong.
    pub fn verify(
        &self,
        client_key: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        now_ms: u64,
        window: Duration,
    ) -> Result<(), SignatureRefusal> {
        let client_key = client_key.ok_or(SignatureRefusal::Missing(X_CLIENT_KEY))?;
        let timestamp = timestamp.ok_or(SignatureRefusal::Missing(X_TIMESTAMP))?;
        let signature = signature.ok_or(SignatureRefusal::Missing(X_SIGNATURE))?;
        if !crate::digest::secrets_equal(client_key.as_bytes(), self.client_key.as_bytes()) {
            return Err(SignatureRefusal::UnknownClient);
        }
        let millis = parse_iso8601(timestamp).ok_or(SignatureRefusal::BadTimestamp(X_TIMESTAMP))?;
        within_window(X_TIMESTAMP, millis, now_ms, window)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .map_err(|_| SignatureRefusal::Mismatch(X_SIGNATURE))?;
        let message = format!("{client_key}|{timestamp}");
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &*self.public_key)
            .verify(message.as_bytes(), &raw)
            .map_err(|_| SignatureRefusal::Mismatch(X_SIGNATURE))
    }
}

impl fmt::Debug for SnapVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapVerifier")
            .field("client_key", &self.client_key)
            .finish_non_exhaustive()
    }
}

/// A PEM file's bytes and its name for errors.
fn read_pem(path: &Path) -> Result<(Vec<u8>, String), KeyError> {
    let shown = path.display().to_string();
    match std::fs::read(path) {
        Ok(pem) => Ok((pem, shown)),
        Err(source) => Err(KeyError::Unreadable {
            path: shown,
            source,
        }),
    }
}

/// One DER element: (tag, contents, the rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The `RSAPublicKey` inside a SubjectPublicKeyInfo whose algorithm is
/// rsaEncryption (1.2.840.113549.1.1.1).
fn rsa_public_key_from_spki(spki: &[u8]) -> Option<Vec<u8>> {
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (0x30, info, _) = der_element(spki)? else {
        return None;
    };
    let (0x30, algorithm, rest) = der_element(info)? else {
        return None;
    };
    let (0x06, oid, _) = der_element(algorithm)? else {
        return None;
    };
    let (0x03, bits, _) = der_element(rest)? else {
        return None;
    };
    let (&unused, key) = bits.split_first()?;
    (oid == RSA_ENCRYPTION && unused == 0).then(|| key.to_vec())
}

/// `YYYY-MM-DDTHH:MM:SS+00:00` for `millis` since the epoch (UTC; SNAP
/// allows any offset).
pub fn iso8601(millis: u64) -> String {
    let secs = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let text = text.trim();
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3 = &fraction[..digits.min(3)];
        millis = first3.parse::<i64>().ok()? * 10_i64.pow(3 - u32::try_from(first3.len()).ok()?);
        rest = &fraction[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hhmm = rest.get(1..)?.replace(':', "");
            if hhmm.len() != 4 || !hhmm.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            sign * (hhmm[..2].parse::<i64>().ok()? * 3600 + hhmm[2..].parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3600 + mi * 60 + s - offset_secs) * 1000 + millis)
}

// Howard Hinnant's civil-calendar algorithms (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_PKCS8: &[u8] = include_bytes!("../../tests/data/superapp/platform-test-key.pem");
    const KEY_PKCS1: &[u8] =
        include_bytes!("../../tests/data/superapp/platform-test-key-pkcs1.pem");
    const PUBLIC: &[u8] = include_bytes!("../../tests/data/superapp/platform-test-pub.pem");
    const TIMESTAMP: &str = "2025-01-01T08:00:00+08:00";
    /// `printf 'platform-client|2025-01-01T08:00:00+08:00' |
    ///  openssl dgst -sha256 -sign tests/data/superapp/platform-test-key.pem | base64 -w0`
    const OPENSSL_SIGNATURE: &str = "RXVjfE+lBtwD7jf5qHPACan3NUhJSqy9NXEMO40uhlUGlCONanmEoheutrHKBccN1aL+tv4SCGxiy7U4PHzvkP7x0yhH+6pGWyWyDSPRbpxZb1AjDSBV53vYxbpLrOQPFb4cBjMKleta7dJyKIqKJu+HGolNN6CODabM/aJgtWrziLnlE5lz7PxGZWO0Lk+oemmNggQX/C2B/UNcNKiNOcF2tLIZfBL6tgZVajCHzxcx7a+fJZtd4iemeHQYHbPp46KG4JFgIVTbviTAd8B2vGdmmBDx2QRh2L+Wn4luUmbKgHON2fGsXZMNCgyDk1WfLJ10Kw/GWI16werK2F0NOA==";
    const NOW: u64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z

    #[test]
    fn the_signature_matches_openssl_s_known_answer_from_either_pem_form() {
        for pem in [KEY_PKCS8, KEY_PKCS1] {
            let signer = SnapSigner::from_pem("platform-client", pem, "test key").unwrap();
            assert_eq!(signer.sign(TIMESTAMP), OPENSSL_SIGNATURE);
        }
    }

    #[test]
    fn the_verifier_accepts_openssl_s_signature_and_refuses_what_is_wrong() {
        let v = SnapVerifier::from_pem("platform-client", PUBLIC, "test pub").unwrap();
        let w = Duration::from_secs(300);
        let ok = |c, t, s| v.verify(Some(c), Some(t), Some(s), NOW, w);
        assert_eq!(ok("platform-client", TIMESTAMP, OPENSSL_SIGNATURE), Ok(()));
        assert_eq!(
            ok("other", TIMESTAMP, OPENSSL_SIGNATURE),
            Err(SignatureRefusal::UnknownClient)
        );
        assert_eq!(
            ok(
                "platform-client",
                "2025-01-01T08:00:01+08:00",
                OPENSSL_SIGNATURE
            ),
            Err(SignatureRefusal::Mismatch(X_SIGNATURE))
        );
        assert!(matches!(
            v.verify(
                Some("platform-client"),
                Some(TIMESTAMP),
                Some(OPENSSL_SIGNATURE),
                NOW + 600_000,
                w
            ),
            Err(SignatureRefusal::Stale { .. })
        ));
        assert_eq!(
            v.verify(None, Some(TIMESTAMP), Some(OPENSSL_SIGNATURE), NOW, w),
            Err(SignatureRefusal::Missing(X_CLIENT_KEY))
        );
    }

    #[test]
    fn signer_and_verifier_agree_on_fresh_headers() {
        let signer = SnapSigner::from_pem("c-1", KEY_PKCS8, "k").unwrap();
        let v = SnapVerifier::from_pem("c-1", PUBLIC, "p").unwrap();
        let (ts, client, sig) = signer.headers(NOW);
        assert_eq!(ts, "2025-01-01T00:00:00+00:00");
        assert_eq!(
            v.verify(
                Some(&client),
                Some(&ts),
                Some(&sig),
                NOW,
                Duration::from_secs(1)
            ),
            Ok(())
        );
        assert!(!format!("{signer:?}").contains("BEGIN"));
    }

    #[test]
    fn keys_that_are_not_pem_or_not_rsa_are_refused_with_the_file_named() {
        let err = SnapSigner::from_pem("c", b"nonsense", "key.pem")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key.pem") && err.contains("PRIVATE KEY"),
            "{err}"
        );
        let err = SnapVerifier::from_pem("c", KEY_PKCS8, "pub.pem")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pub.pem") && err.contains("PUBLIC KEY"),
            "{err}"
        );
        let err = SnapSigner::from_pem_file("c", Path::new("/nonexistent/key.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/key.pem"), "{err}");
    }

    #[test]
    fn iso8601_round_trips_and_reads_offsets_and_fractions() {
        assert_eq!(parse_iso8601(TIMESTAMP), Some(NOW as i64));
        assert_eq!(parse_iso8601("2025-01-01T00:00:00Z"), Some(NOW as i64));
        assert_eq!(
            parse_iso8601("2024-12-31T17:00:00.250-07:00"),
            Some(NOW as i64 + 250)
        );
        assert_eq!(
            parse_iso8601(&iso8601(NOW + 86_400_000 * 400)),
            Some((NOW + 86_400_000 * 400) as i64)
        );
        for bad in [
            "",
            "2025-01-01",
            "2025-13-01T00:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00:00+0x:00",
            "2025-01-01T00:00:0é0Z",
            "2025-01-01T00:00:00.éZ",
            "2025-01-01T00:00:00+é",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
