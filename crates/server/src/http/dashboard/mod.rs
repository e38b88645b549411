//! The dashboard at `/`: a page, its script and style, and uPlot (a small
//! charting library, MIT-licensed, `vendor/LICENSE-uPlot`), all compiled
//! into the binary so that it works offline and needs no CDN.
//!
//! The files hold no data: the script fetches everything through the API
//! (with the bearer token, when the server has one, which the page asks
//! for), so they are served without the token.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The files, by path.
const FILES: &[(&str, &str, &[u8])] = &[
    ("/", "text/html; charset=utf-8", include_bytes!("index.html")),
    ("/assets/dashboard.js", "text/javascript; charset=utf-8", include_bytes!("dashboard.js")),
    ("/assets/dashboard.css", "text/css; charset=utf-8", include_bytes!("dashboard.css")),
    (
        "/assets/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("vendor/uPlot.iife.min.js"),
    ),
    ("/assets/uPlot.min.css", "text/css; charset=utf-8", include_bytes!("vendor/uPlot.min.css")),
];

/// Whether `path` is one of the dashboard's files, which need no token.
pub(crate) fn is_public(path: &str) -> bool {
    FILES.iter().any(|(file, _, _)| *file == path)
}

/// The routes serving the files.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES.iter().fold(Router::new(), |router, &(path, content_type, body)| {
        router.route(path, get(move || async move { file(content_type, body) }))
    })
}

fn file(content_type: &'static str, body: &'static [u8]) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        // A new binary may bring new files: ask the browser to revalidate.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
        ),
    ];
    (StatusCode::OK, headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use crate::http::tests::{app_with, send_text};
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_page_and_its_files_are_served_without_the_token_and_the_data_is_not() {
        let (_dir, app) = app_with(&[], Some("sesame-sesame-sesame"));
        let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
        for (path, content_type, text) in [
            ("/", "text/html", "<script src=\"assets/dashboard.js\">"),
            ("/assets/dashboard.js", "text/javascript", "/render"),
            ("/assets/dashboard.css", "text/css", ".chart"),
            ("/assets/uPlot.iife.min.js", "text/javascript", "uPlot"),
            ("/assets/uPlot.min.css", "text/css", ".uplot"),
        ] {
            let response = app.clone().oneshot(get(path)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers();
            assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(content_type), "{path}");
            assert!(headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("default-src 'self'"));
            let (_, body) = send_text(&app, get(path)).await;
            assert!(body.contains(text), "{path}");
        }
        for path in ["/render?target=a", "/api/v1/series", "/assets/other.js"] {
            assert_eq!(send_text(&app, get(path)).await.0, StatusCode::UNAUTHORIZED, "{path}");
        }
    }
}
