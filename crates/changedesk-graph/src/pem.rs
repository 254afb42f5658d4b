//! Just enough PEM (RFC 7468) to find a certificate and a private key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One `-----BEGIN LABEL----- … -----END LABEL-----` block.
pub(crate) struct Block {
    pub label: String,
    /// Whether the block carries RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`).
    pub encrypted: bool,
    pub der: Vec<u8>,
}

impl Block {
    /// The block written again in canonical form (64-character lines).
    pub fn to_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.der);
        let mut out = format!("-----BEGIN {}-----\n", self.label);
        for chunk in b64.as_bytes().chunks(64) {
            // base64 output is ASCII
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(&format!("-----END {}-----\n", self.label));
        out
    }
}

/// Every well-formed block of `text`, in order. Text outside blocks (such as
/// OpenSSL's "Bag Attributes") is ignored. A block whose base64 is invalid or
/// whose END label differs from its BEGIN label is an error, naming the label.
pub(crate) fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut current: Option<(String, bool, String)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_string(), false, String::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            let Some((begin, encrypted, b64)) = current.take() else {
                continue;
            };
            if begin != label {
                return Err(format!("PEM block BEGIN {begin} ends with END {label}"));
            }
            let der = STANDARD
                .decode(b64.as_bytes())
                .map_err(|_| format!("the {begin} PEM block is not valid base64"))?;
            out.push(Block {
                label: begin,
                encrypted,
                der,
            });
        } else if let Some((_, encrypted, b64)) = current.as_mut() {
            if line.contains(':') {
                // an RFC 1421 header inside the block
                if line.to_ascii_uppercase().contains("ENCRYPTED") {
                    *encrypted = true;
                }
            } else {
                b64.push_str(line);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_and_round_trips() {
        let text = "Bag Attributes\n    localKeyID: 01\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
                    junk\n-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\nDEK-Info: AES,00\r\n\r\nBAU=\r\n-----END RSA PRIVATE KEY-----\r\n";
        let b = blocks(text).expect("parses");
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].label, "CERTIFICATE");
        assert_eq!(b[0].der, vec![0, 1, 2, 3]);
        assert!(!b[0].encrypted);
        assert_eq!(b[1].label, "RSA PRIVATE KEY");
        assert!(b[1].encrypted);
        assert_eq!(b[1].der, vec![4, 5]);
        assert_eq!(
            b[0].to_pem(),
            "-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n"
        );
        assert!(blocks("no pem here").expect("parses").is_empty());
    }

    #[test]
    fn rejects_broken_blocks() {
        assert!(blocks("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").is_err());
        assert!(blocks("-----BEGIN CERTIFICATE-----\nAA==\n-----END PRIVATE KEY-----\n").is_err());
    }
}
