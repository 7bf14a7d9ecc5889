//! Who may talk to a member: a shared secret, the [`Token`], carried by
//! every request as `Authorization: Bearer <token>`, client or member.
//!
//! [`require_token`] wraps a member's routes (the Raft RPCs of
//! `http::raft_routes` and whatever else it serves):
//! a request without the header, or with another token, is answered
//! `401 Unauthorized` with a one-line text body and a
//! `WWW-Authenticate: Bearer` header, reported once to the caller's
//! `refused` callback (the member's log), and never reaches a route: its
//! body is not read, nothing is decoded or done. The comparison takes the
//! same time whatever the token sent has in common with the right one
//! ([`subtle`]). `http::HttpNetwork::with_token`
//! makes a member's own RPCs carry the token.
//!
//! The token authenticates, it does not encrypt: over plain HTTP anyone
//! who can read the traffic can read it too (docs/CLI.md, "Who may talk
//! to a member").

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// The fewest characters a token may have.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The longest token read (a token file is a line, not a document).
pub const MAX_TOKEN_CHARS: usize = 4096;

/// The secret the members of a cluster and their clients share.
///
/// Printable ASCII without spaces (`!` to `~`), [`MIN_TOKEN_CHARS`] to
/// [`MAX_TOKEN_CHARS`] characters, e.g. 32 random bytes in base64
/// (`head -c 32 /dev/urandom | base64`). Its `Debug` form does not show
/// it.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// The token `secret`, without the white space around it.
    ///
    /// # Errors
    /// [`graph_core::Error::InvalidArgument`] when it is shorter than
    /// [`MIN_TOKEN_CHARS`], longer than [`MAX_TOKEN_CHARS`], or holds a
    /// character outside `!` to `~`; the message does not quote it.
    pub fn new(secret: &str) -> graph_core::Result<Token> {
        let secret = secret.trim();
        let chars = secret.chars().count();
        if chars < MIN_TOKEN_CHARS {
            return Err(graph_core::Error::invalid(format!(
                "the token has {chars} characters, fewer than {MIN_TOKEN_CHARS}; make one with `head -c 32 /dev/urandom | base64`"
            )));
        }
        if chars > MAX_TOKEN_CHARS {
            return Err(graph_core::Error::invalid(format!(
                "the token has {chars} characters, more than {MAX_TOKEN_CHARS}"
            )));
        }
        if let Some(at) = secret.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(graph_core::Error::invalid(format!(
                "the token's character {} is not printable ASCII (`!` to `~`, no spaces)",
                at + 1
            )));
        }
        Ok(Token(Arc::from(secret)))
    }

    /// The token in the file at `path`: its whole content, without the
    /// white space around it (a trailing newline).
    ///
    /// # Errors
    /// [`graph_core::Error::Io`] when the file cannot be read (the message
    /// names it); as [`new`](Self::new) for its content.
    pub fn read(path: &Path) -> graph_core::Result<Token> {
        let bytes = std::fs::read(path).map_err(|e| graph_core::Error::Io {
            message: format!("cannot read the token file {}: {e}", path.display()),
        })?;
        if bytes.len() > MAX_TOKEN_CHARS * 4 {
            return Err(graph_core::Error::invalid(format!(
                "the token file {} holds {} bytes; a token is one line of at most {MAX_TOKEN_CHARS} characters",
                path.display(),
                bytes.len()
            )));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            graph_core::Error::invalid(format!(
                "the token file {} is not text (printable ASCII)",
                path.display()
            ))
        })?;
        Token::new(text).map_err(|e| match e {
            graph_core::Error::InvalidArgument(m) => {
                graph_core::Error::invalid(format!("{}: {m}", path.display()))
            }
            other => other,
        })
    }

    /// The `Authorization` header's value that carries this token, for a
    /// client to send. Never log it.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Whether `headers` carry this token, compared in constant time.
    pub fn admits(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(Refusal::Missing);
        };
        let Some(sent) = value.as_bytes().strip_prefix(b"Bearer ") else {
            return Err(Refusal::NotBearer);
        };
        if bool::from(sent.ct_eq(self.0.as_bytes())) {
            Ok(())
        } else {
            Err(Refusal::Wrong)
        }
    }
}

/// The address of the peer of a connection a listener other than a plain
/// TCP one accepted (`tls::serve_tls`'s), as its
/// `ConnectInfo`.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header of another scheme than `Bearer`.
    NotBearer,
    /// A bearer token that is not the member's.
    Wrong,
}

impl Refusal {
    /// What the refusal says, as the body of the `401` and in the log.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "no bearer token (the member requires one: give --token-file)",
            Refusal::NotBearer => "the Authorization header is not `Bearer <token>`",
            Refusal::Wrong => "wrong bearer token",
        }
    }
}

/// A refused request, as reported to [`require_token`]'s callback.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The request's method and path.
    pub request: String,
    /// Who sent it, when the server records peers' addresses
    /// (`http::serve` and `tls::serve_tls` do).
    pub from: Option<SocketAddr>,
    /// Why it was refused.
    pub why: Refusal,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused {}", self.request)?;
        if let Some(from) = self.from {
            write!(f, " from {from}")?;
        }
        write!(f, ": {}", self.why.reason())
    }
}

/// `app` with every route behind `token`: see the module's documentation.
/// `refused` is called once for each request refused.
pub fn require_token(
    app: axum::Router,
    token: Token,
    refused: impl Fn(&Refused) + Send + Sync + 'static,
) -> axum::Router {
    let refused: Arc<dyn Fn(&Refused) + Send + Sync> = Arc::new(refused);
    app.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let token = token.clone();
            let refused = Arc::clone(&refused);
            async move {
                match token.admits(request.headers()) {
                    Ok(()) => next.run(request).await,
                    Err(why) => {
                        refused(&Refused {
                            request: format!("{} {}", request.method(), request.uri().path()),
                            from: peer(&request),
                            why,
                        });
                        unauthorized(why)
                    }
                }
            }
        },
    ))
}

/// The address of the request's peer, over http or https.
fn peer(request: &Request) -> Option<SocketAddr> {
    let ext = request.extensions();
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .or_else(|| ext.get::<ConnectInfo<Peer>>().map(|c| c.0.0))
}

/// The answer to a refused request.
fn unauthorized(why: Refusal) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, "Bearer")],
        why.reason(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(value: Option<&str>) -> Result<HeaderMap, Box<dyn std::error::Error>> {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(AUTHORIZATION, HeaderValue::from_str(v)?);
        }
        Ok(h)
    }

    #[test]
    fn tokens_are_checked_when_made() {
        for (secret, ok) in [
            ("0123456789abcdef", true),
            ("  0123456789abcdef\n", true),
            ("0123456789abcde", false),
            ("", false),
            ("0123456789 abcdef", false),
            ("0123456789abcdéf", false),
            ("0123456789abcdef\u{7f}", false),
        ] {
            assert_eq!(Token::new(secret).is_ok(), ok, "{secret:?}");
        }
        let long = "x".repeat(MAX_TOKEN_CHARS + 1);
        assert!(Token::new(&long).is_err());
        // Neither the value nor its error shows the secret.
        let t = Token::new("s3cret-s3cret-s3cret").ok();
        assert_eq!(format!("{t:?}"), "Some(Token(..))");
        let e = Token::new("short secret").err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| !m.contains("short")));
    }

    #[test]
    fn only_the_right_bearer_token_is_admitted() -> Result<(), Box<dyn std::error::Error>> {
        let t = Token::new("0123456789abcdef")?;
        assert_eq!(t.admits(&headers(Some("Bearer 0123456789abcdef"))?), Ok(()));
        for (value, why) in [
            (None, Refusal::Missing),
            (Some("Basic 0123456789abcdef"), Refusal::NotBearer),
            (Some("bearer0123456789abcdef"), Refusal::NotBearer),
            (Some("Bearer 0123456789abcdeF"), Refusal::Wrong),
            (Some("Bearer 0123456789abcdef0"), Refusal::Wrong),
            (Some("Bearer 0123456789abcde"), Refusal::Wrong),
            (Some("Bearer "), Refusal::Wrong),
        ] {
            assert_eq!(t.admits(&headers(value)?), Err(why), "{value:?}");
        }
        Ok(())
    }

    #[test]
    fn a_token_file_is_read_without_its_newline() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("token");
        std::fs::write(&path, "0123456789abcdef\n")?;
        let t = Token::read(&path)?;
        assert_eq!(t.bearer(), "Bearer 0123456789abcdef");
        std::fs::write(&path, "short\n")?;
        let e = Token::read(&path).err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("token") && m.contains("fewer than 16")));
        let missing = Token::read(&dir.path().join("none"));
        assert!(matches!(missing, Err(graph_core::Error::Io { .. })));
        Ok(())
    }
}
