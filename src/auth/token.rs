//! HS256 tokens. A session token (24 hours) lets the legacy REST API write
//! into one session of one project; a project token (30 days, what SDK 0.4
//! trades its API key for) lets OTLP exports write into one project.

use std::path::Path;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::model::ProjectId;

pub const SESSION_TOKEN_TTL_SECS: i64 = 24 * 60 * 60;
pub const PROJECT_TOKEN_TTL_SECS: i64 = 30 * 24 * 60 * 60;

/// File in the data folder that keeps the generated signing secret.
pub const SECRET_FILE: &str = "jwt-secret";

const SESSION_TYPE: &str = "session";
const PROJECT_TYPE: &str = "project";
const PROJECT_AUDIENCE: &str = "authenticated";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionClaims {
    pub session_id: String,
    pub project_id: ProjectId,
    /// Row id of the API key the token was issued for; the token stops
    /// working when that key is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<i64>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectClaims {
    pub project_id: ProjectId,
    /// Row id of the API key the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<i64>,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
}

/// Signs and verifies tokens with one HMAC secret.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner { .. }")
    }
}

impl TokenSigner {
    /// Fails when the secret is empty.
    pub fn new(secret: &[u8]) -> std::io::Result<Self> {
        let invalid = |err: jsonwebtoken::errors::Error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid secret: {err}"),
            )
        };
        Ok(TokenSigner {
            encoding: EncodingKey::from_secret(secret).map_err(invalid)?,
            decoding: DecodingKey::from_secret(secret).map_err(invalid)?,
        })
    }

    /// Reads the secret kept in `data_dir`, generating it with owner-only
    /// permissions on first use.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::new(text.trim().as_bytes()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let secret = hex::encode(rand::random::<[u8; 32]>());
                write_private(&path, &secret)?;
                Self::new(secret.as_bytes())
            }
            Err(err) => Err(err),
        }
    }

    pub fn issue_session(
        &self,
        project_id: ProjectId,
        key_id: Option<i64>,
        session_id: &str,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = SessionClaims {
            session_id: session_id.to_owned(),
            project_id,
            kid: key_id,
            iat: now,
            exp: now + SESSION_TOKEN_TTL_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            typ: SESSION_TYPE.to_owned(),
        };
        self.sign(&claims)
    }

    pub fn issue_project(
        &self,
        project_id: ProjectId,
        key_id: Option<i64>,
    ) -> (String, ProjectClaims) {
        let now = chrono::Utc::now().timestamp();
        let claims = ProjectClaims {
            project_id,
            kid: key_id,
            aud: PROJECT_AUDIENCE.to_owned(),
            iat: now,
            exp: now + PROJECT_TOKEN_TTL_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            typ: PROJECT_TYPE.to_owned(),
        };
        (self.sign(&claims), claims)
    }

    fn sign<T: Serialize>(&self, claims: &T) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail")
    }

    pub fn verify_session(&self, token: &str) -> Result<SessionClaims, TokenError> {
        let claims: SessionClaims = self.verify(token, None)?;
        if claims.typ != SESSION_TYPE {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    pub fn verify_project(&self, token: &str) -> Result<ProjectClaims, TokenError> {
        let claims: ProjectClaims = self.verify(token, Some(PROJECT_AUDIENCE))?;
        if claims.typ != PROJECT_TYPE {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    fn verify<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        audience: Option<&str>,
    ) -> Result<T, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat"]);
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        match jsonwebtoken::decode::<T>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(err) if matches!(err.kind(), ErrorKind::ExpiredSignature) => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_token_round_trips() {
        let signer = TokenSigner::new(b"test-secret").unwrap();
        let token = signer.issue_session(7, None, "s-1");
        let claims = signer.verify_session(&token).unwrap();
        assert_eq!(claims.session_id, "s-1");
        assert_eq!(claims.project_id, 7);
    }

    #[test]
    fn session_token_rejects_other_secret() {
        let token = TokenSigner::new(b"one")
            .unwrap()
            .issue_session(1, None, "s");
        let result = TokenSigner::new(b"two").unwrap().verify_session(&token);
        assert_eq!(result.unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn project_token_not_accepted_as_session() {
        let signer = TokenSigner::new(b"k").unwrap();
        let (token, _) = signer.issue_project(1, None);
        assert_eq!(
            signer.verify_session(&token).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn session_token_not_accepted_as_project() {
        let signer = TokenSigner::new(b"k").unwrap();
        let token = signer.issue_session(1, None, "s");
        assert_eq!(
            signer.verify_project(&token).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn expired_token_reports_expiry() {
        let signer = TokenSigner::new(b"k").unwrap();
        let now = chrono::Utc::now().timestamp();
        let claims = SessionClaims {
            session_id: "s".into(),
            project_id: 1,
            kid: None,
            iat: now - 100_000,
            exp: now - 1,
            jti: "j".into(),
            typ: SESSION_TYPE.into(),
        };
        let token = signer.sign(&claims);
        assert_eq!(
            signer.verify_session(&token).unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn unsigned_alg_none_token_rejected() {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = chrono::Utc::now().timestamp();
        let header = engine.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = engine.encode(format!(
            r#"{{"session_id":"s","project_id":1,"iat":{now},"exp":{},"jti":"j","typ":"session"}}"#,
            now + 60
        ));
        let token = format!("{header}.{payload}.");
        let signer = TokenSigner::new(b"k").unwrap();
        assert_eq!(
            signer.verify_session(&token).unwrap_err(),
            TokenError::Invalid
        );
    }
}
