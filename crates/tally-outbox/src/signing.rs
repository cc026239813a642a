//! Standard Webhooks signing: the `whsec_` secret, the `v1,` HMAC-SHA256 signature of
//! `{webhook-id}.{webhook-timestamp}.{body}`, and the receiver's check.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";
/// Fewest secret bytes (the spec's minimum, 24 bytes).
pub const SECRET_BYTES_MIN: usize = 24;
/// Most secret bytes (the spec's maximum, 64 bytes).
pub const SECRET_BYTES_MAX: usize = 64;
/// Secret bytes of a generated secret.
pub const SECRET_BYTES_GENERATED: usize = 32;
/// How far a receiver accepts a `webhook-timestamp` from its own clock (the spec's
/// suggestion: five minutes), against replayed requests.
pub const TOLERANCE_S: i64 = 300;

/// An endpoint's signing secret: 24 to 64 random bytes, written `whsec_<base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A secret that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// It does not start with `whsec_`.
    #[error("a secret starts with 'whsec_'")]
    Prefix,
    /// The rest is not standard base64.
    #[error("the secret after 'whsec_' is not base64")]
    Base64,
    /// Too short or too long.
    #[error("the secret has {0} bytes; 24 to 64 are accepted")]
    Length(usize),
}

impl Secret {
    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::Prefix)?;
        let bytes = BASE64.decode(encoded.trim()).map_err(|_| SecretError::Base64)?;
        if !(SECRET_BYTES_MIN..=SECRET_BYTES_MAX).contains(&bytes.len()) {
            return Err(SecretError::Length(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// A new random secret (32 bytes from the operating system).
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; SECRET_BYTES_GENERATED];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        Self(bytes)
    }

    /// The text form, `whsec_<base64>` (to show once, or to store).
    #[must_use]
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(&self.0))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this cannot fail.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        }
    }

    /// The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    #[must_use]
    pub fn sign(&self, id: &str, timestamp_s: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_s.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
    }

    /// What a receiver does: the timestamp is within [`TOLERANCE_S`] of `now_s`, and one of
    /// the space-separated signatures in `signature_header` is a `v1` signature of this id,
    /// timestamp and body (compared in constant time).
    pub fn verify(
        &self,
        id: &str,
        timestamp_header: &str,
        body: &[u8],
        signature_header: &str,
        now_s: i64,
    ) -> Result<(), VerifyError> {
        let timestamp_s: i64 =
            timestamp_header.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
        if (now_s - timestamp_s).abs() > TOLERANCE_S {
            return Err(VerifyError::Stale);
        }
        for candidate in signature_header.split(' ') {
            let Some(encoded) = candidate.strip_prefix("v1,") else { continue };
            let Ok(given) = BASE64.decode(encoded) else { continue };
            let mut mac = self.mac();
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp_s.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            if mac.verify_slice(&given).is_ok() {
                return Ok(());
            }
        }
        Err(VerifyError::NoMatch)
    }
}

/// Why a received webhook does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// `webhook-timestamp` is not an integer.
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    /// Too far from the receiver's clock.
    #[error("webhook-timestamp is outside the tolerance")]
    Stale,
    /// No signature matches.
    #[error("no v1 signature matches")]
    NoMatch,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's test vectors: the same secret, id,
    /// timestamp and body sign to the published value.
    #[test]
    fn signs_the_specification_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        secret
            .verify("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, &signature, 1_614_265_400)
            .expect("verifies");
        assert_eq!(
            secret.verify("msg_other", "1614265330", body, &signature, 1_614_265_330),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            secret.verify(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "1614265330",
                body,
                &signature,
                1_614_275_330
            ),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn reads_only_well_formed_secrets() {
        assert_eq!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(SecretError::Prefix));
        assert_eq!(Secret::parse("whsec_!!!"), Err(SecretError::Base64));
        assert_eq!(Secret::parse("whsec_AAAA"), Err(SecretError::Length(3)));
        let generated = Secret::generate();
        assert_eq!(Secret::parse(&generated.expose()), Ok(generated));
    }
}
