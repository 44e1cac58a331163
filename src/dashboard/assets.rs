//! Static files embedded in the binary, served at `/assets/NAME`. Pages link
//! them as `/assets/NAME?v=HASH`; a request with the current hash may be
//! cached for a year, because a changed file gets a new hash.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
    /// First 16 hex digits of the SHA-256 of `bytes`.
    hash: String,
}

macro_rules! asset {
    ($name:literal, $path:literal, $content_type:literal) => {
        ($name, $content_type, &include_bytes!($path)[..])
    };
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    let files: [(&str, &str, &[u8]); 6] = [
        asset!("app.css", "../../assets/app.css", "text/css; charset=utf-8"),
        asset!("favicon.svg", "../../assets/favicon.svg", "image/svg+xml"),
        asset!(
            "overview.js",
            "../../assets/overview.js",
            "text/javascript; charset=utf-8"
        ),
        asset!(
            "session.js",
            "../../assets/session.js",
            "text/javascript; charset=utf-8"
        ),
        asset!(
            "chart.umd.min.js",
            "../../assets/vendor/chartjs/chart.umd.min.js",
            "text/javascript; charset=utf-8"
        ),
        asset!(
            "chart.js-LICENSE.md",
            "../../assets/vendor/chartjs/LICENSE.md",
            "text/plain; charset=utf-8"
        ),
    ];
    files
        .into_iter()
        .map(|(name, content_type, bytes)| {
            let hash = hex::encode(Sha256::digest(bytes))[..16].to_owned();
            let asset = Asset {
                content_type,
                bytes,
                hash,
            };
            (name, asset)
        })
        .collect()
});

/// URL of an embedded file with its content hash; a name that is not
/// embedded gets a URL that returns 404.
pub fn url(name: &str) -> String {
    match ASSETS.get(name) {
        Some(asset) => format!("/assets/{name}?v={}", asset.hash),
        None => format!("/assets/{name}"),
    }
}

#[derive(Deserialize)]
pub struct VersionQuery {
    v: Option<String>,
}

pub async fn serve(Path(name): Path<String>, Query(query): Query<VersionQuery>) -> Response {
    let Some(asset) = ASSETS.get(name.as_str()) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let cache = if query.v.as_deref() == Some(asset.hash.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.bytes,
    )
        .into_response()
}
