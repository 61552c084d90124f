//! The web page's own origin: the static files of the web bundle (`infra/web/dist`,
//! built with `npm ci && npm run build` in infra/web) on a second port of the same
//! host, with the security headers a deployment serves them with, and a generated
//! `/config.json` that points the page at the local API. Development only.

use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;
use serde_json::json;

use crate::response::{insert, with_body, HttpResponse};

/// The page served in place of the bundle while it is not built.
const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>patgate: web bundle not built</title></head>
<body>
<h1>The web bundle is not built</h1>
<p>Build it with <code>npm ci &amp;&amp; npm run build</code> in <code>infra/web</code>, then reload this page.</p>
</body>
</html>
";

/// The static files of one directory, served as the web page's origin.
pub struct WebSite {
    dir: PathBuf,
    api_base: String,
    content_security_policy: String,
}

impl WebSite {
    /// Serves `dir`; the page calls the API at `api_base` (its origin, no path).
    pub fn new(dir: PathBuf, api_base: &str) -> Self {
        WebSite {
            dir,
            api_base: api_base.to_owned(),
            content_security_policy: content_security_policy(api_base),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the bundle's directory exists (else a page says how to build it).
    pub fn is_built(&self) -> bool {
        self.dir.is_dir()
    }

    /// Answers one request for `raw_path` (as received, percent-encoded); for HEAD,
    /// hyper leaves the body out.
    pub async fn serve(&self, method: &str, raw_path: &str) -> HttpResponse {
        let mut response = if method != "GET" && method != "HEAD" {
            let mut refused = text(405, "Method Not Allowed\n");
            insert(&mut refused, "allow", "GET, HEAD");
            refused
        } else if raw_path == "/config.json" {
            let config = json!({ "apiBase": self.api_base, "mode": "local" });
            let mut config = with_body(200, config.to_string());
            insert(&mut config, "content-type", "application/json");
            insert(&mut config, "cache-control", "no-store");
            config
        } else {
            self.file(raw_path).await
        };
        for (name, value) in self.security_headers() {
            insert(&mut response, name, value);
        }
        response
    }

    async fn file(&self, raw_path: &str) -> HttpResponse {
        let Some(relative) = resolve(raw_path) else {
            return not_found();
        };
        if !self.is_built() {
            return match relative == Path::new("index.html") {
                true => html(NOT_BUILT),
                false => not_found(),
            };
        }
        let (Some(content_type), Some(path)) = (content_type(&relative), self.locate(&relative))
        else {
            return not_found();
        };
        match tokio::fs::read(&path).await {
            Ok(bytes) => {
                let mut response = with_body(200, bytes);
                insert(&mut response, "content-type", content_type);
                insert(&mut response, "cache-control", "no-cache");
                response
            }
            Err(_) => not_found(),
        }
    }

    /// The file for `relative` if it is a regular file inside the directory, links
    /// followed (a link out of it is refused).
    fn locate(&self, relative: &Path) -> Option<PathBuf> {
        let root = self.dir.canonicalize().ok()?;
        let path = root.join(relative).canonicalize().ok()?;
        (path.starts_with(&root) && path.is_file()).then_some(path)
    }

    fn security_headers(&self) -> [(&'static str, &str); 3] {
        [
            ("content-security-policy", &self.content_security_policy),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
        ]
    }
}

/// The page may load its own scripts, styles and images, fetch its own `config.json`
/// (`'self'` in `connect-src`) and call the API, nothing else.
pub fn content_security_policy(api_origin: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' {api_origin}; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The file a request path names, relative to the served directory: `/` and paths
/// ending in `/` name their `index.html`; percent-decoded; `None` for anything that
/// could leave the directory (`..`, `.`, backslashes, NUL, a path not starting with `/`).
pub fn resolve(raw_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(raw_path).decode_utf8().ok()?;
    let rest = decoded.strip_prefix('/')?;
    if rest.contains(['\\', '\0']) {
        return None;
    }
    let mut relative = PathBuf::new();
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) => relative.push(name),
            _ => return None,
        }
    }
    if rest.is_empty() || rest.ends_with('/') {
        relative.push("index.html");
    }
    Some(relative)
}

/// The content type of the files the page is made of; `None` for any other file.
pub fn content_type(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => return None,
    })
}

fn text(status: u16, body: &'static str) -> HttpResponse {
    let mut response = with_body(status, body);
    insert(&mut response, "content-type", "text/plain; charset=utf-8");
    response
}

fn not_found() -> HttpResponse {
    text(404, "Not Found\n")
}

fn html(body: &'static str) -> HttpResponse {
    let mut response = with_body(200, body);
    insert(&mut response, "content-type", "text/html; charset=utf-8");
    insert(&mut response, "cache-control", "no-cache");
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(response: HttpResponse) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn site_in(name: &str) -> (WebSite, PathBuf) {
        let dir = std::env::temp_dir().join(format!("patgate-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (WebSite::new(dir.join("dist"), "http://127.0.0.1:3000"), dir)
    }

    #[test]
    fn paths_resolve_inside_the_directory_only() {
        assert_eq!(resolve("/"), Some(PathBuf::from("index.html")));
        assert_eq!(resolve("/app.js"), Some(PathBuf::from("app.js")));
        assert_eq!(
            resolve("/assets/my%20logo.svg"),
            Some(PathBuf::from("assets/my logo.svg"))
        );
        assert_eq!(resolve("/docs/"), Some(PathBuf::from("docs/index.html")));
        assert_eq!(resolve("//a//b.css"), Some(PathBuf::from("a/b.css")));
        for escape in [
            "/../template.yaml",
            "/%2e%2e/template.yaml",
            "/assets/../../x.js",
            "/./index.html",
            "/..%5c..%5cx.js",
            "/a%00.js",
            "app.js",
            "/%ff.js",
        ] {
            assert_eq!(resolve(escape), None, "{escape}");
        }
    }

    #[test]
    fn content_types_cover_the_bundle_and_nothing_else() {
        let of = |name: &str| content_type(Path::new(name));
        assert_eq!(of("index.html"), Some("text/html; charset=utf-8"));
        assert_eq!(of("assets/app.JS"), Some("text/javascript; charset=utf-8"));
        assert_eq!(of("app.css"), Some("text/css; charset=utf-8"));
        assert_eq!(of("manifest.json"), Some("application/json"));
        assert_eq!(of("logo.svg"), Some("image/svg+xml"));
        assert_eq!(of("logo.png"), Some("image/png"));
        for other in ["app.js.map", "notes.txt", "Makefile", ".env"] {
            assert_eq!(of(other), None, "{other}");
        }
    }

    #[tokio::test]
    async fn files_config_and_headers() {
        let (site, dir) = site_in("files");
        std::fs::create_dir_all(dir.join("dist/assets")).unwrap();
        std::fs::write(dir.join("dist/index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.join("dist/assets/app.js"), "1;").unwrap();
        std::fs::write(dir.join("secret.txt"), "no").unwrap();
        let page = site.serve("GET", "/").await;
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert_eq!(
            page.headers()["content-security-policy"],
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' http://127.0.0.1:3000; \
             img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
        assert_eq!(body(page).await, "<p>hi</p>");
        let script = site.serve("GET", "/assets/app.js").await;
        assert_eq!(
            script.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let config = site.serve("GET", "/config.json").await;
        assert_eq!(config.headers()["content-type"], "application/json");
        assert_eq!(
            body(config).await,
            r#"{"apiBase":"http://127.0.0.1:3000","mode":"local"}"#
        );
        for missing in ["/nope.js", "/%2e%2e/secret.txt", "/assets/"] {
            let response = site.serve("GET", missing).await;
            assert_eq!(response.status(), 404, "{missing}");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        }
        assert_eq!(site.serve("POST", "/").await.status(), 405);
        assert_eq!(site.serve("HEAD", "/").await.status(), 200);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_unbuilt_bundle_gets_a_page_saying_how_to_build_it() {
        let (site, _) = site_in("unbuilt");
        assert!(!site.is_built());
        let page = site.serve("GET", "/").await;
        assert_eq!(page.status(), 200);
        assert!(body(page).await.contains("npm ci &amp;&amp; npm run build"));
        assert_eq!(site.serve("GET", "/app.js").await.status(), 404);
        assert_eq!(site.serve("GET", "/config.json").await.status(), 200);
    }
}
