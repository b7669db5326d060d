//! Test support: a fixture HTTP server on 127.0.0.1 and a runner for the
//! real `tocsin` binary with a config in a temporary directory.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// When set, `If-None-Match: <etag>` gets a 304.
    pub etag: Option<String>,
    pub delay: Duration,
}

impl Route {
    pub fn ok(body: impl Into<Vec<u8>>, content_type: &str) -> Route {
        Route {
            status: 200,
            body: body.into(),
            headers: vec![("content-type".into(), content_type.into())],
            etag: None,
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::ok("", "text/plain")
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Route {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn etag(mut self, etag: &str) -> Route {
        self.etag = Some(etag.into());
        self.header("etag", etag)
    }
}

/// A request the server saw: path and the headers tests care about.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HashMap<String, String>,
}

#[derive(Default)]
struct Shared {
    routes: HashMap<String, Route>,
    seen: Vec<Seen>,
    in_flight: usize,
    max_in_flight: usize,
}

/// Serves `app` on `addr` (port 0: any free port) from its own thread and
/// runtime, for the life of the test process; returns the bound address.
pub fn serve_on_thread(addr: SocketAddr, app: axum::Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A fixture server running on its own thread and runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let addr = serve_on_thread("127.0.0.1:0".parse().unwrap(), app);
        TestServer { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn route(&self, path: &str, route: Route) {
        self.shared
            .lock()
            .unwrap()
            .routes
            .insert(path.into(), route);
    }

    /// The most requests the server was answering at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().unwrap().max_in_flight
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.shared
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

async fn handle(State(shared): State<Arc<Mutex<Shared>>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect::<HashMap<_, _>>();
    let route = {
        let mut shared = shared.lock().unwrap();
        shared.seen.push(Seen {
            path: path.clone(),
            headers: headers.clone(),
        });
        shared.in_flight += 1;
        shared.max_in_flight = shared.max_in_flight.max(shared.in_flight);
        shared.routes.get(&path).cloned()
    };
    let response = respond(route, &headers).await;
    shared.lock().unwrap().in_flight -= 1;
    response
}

async fn respond(route: Option<Route>, headers: &HashMap<String, String>) -> Response {
    let Some(route) = route else {
        return Response::builder().status(404).body(Body::empty()).unwrap();
    };
    tokio::time::sleep(route.delay).await;
    if route.etag.is_some() && headers.get("if-none-match") == route.etag.as_ref() {
        return Response::builder().status(304).body(Body::empty()).unwrap();
    }
    let mut response = Response::new(Body::from(route.body));
    *response.status_mut() = StatusCode::from_u16(route.status).unwrap();
    for (name, value) in route.headers {
        response.headers_mut().insert(
            HeaderName::try_from(name).unwrap(),
            HeaderValue::try_from(value).unwrap(),
        );
    }
    response
}

/// A fixture file from tests/fixtures.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixture_path(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub fn fixture_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// A config file and state directory in a temporary directory.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    /// Writes `tocsin.toml` with the given source tables (and any extra
    /// top-level keys before them).
    pub fn new(body: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { dir };
        env.write_config(body);
        env
    }

    pub fn write_config(&self, body: &str) {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let text = format!(
            "state_dir = \"state\"\nrules_dir = \"{}\"\n{body}",
            rules.display()
        );
        std::fs::write(self.config(), text).unwrap();
    }

    /// Points the config at another rules directory.
    pub fn set_rules_dir(&self, dir: &Path) {
        let repo_rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let text = std::fs::read_to_string(self.config()).unwrap();
        let text = text.replacen(
            &repo_rules.display().to_string(),
            &dir.display().to_string(),
            1,
        );
        std::fs::write(self.config(), text).unwrap();
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("tocsin.toml")
    }

    /// Runs `tocsin <args> --config <config>`.
    pub fn tocsin(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    }

    /// Runs `tocsin once` and returns the printed items as JSON values.
    pub fn once(&self) -> (Vec<serde_json::Value>, String) {
        let out = self.tocsin(&["once"]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let items = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (items, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A free port on 127.0.0.1 for a daemon's `http.listen`: bound by the
/// test, then released for the daemon to take.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// An `[http]` table listening on `addr`. Every test that runs the daemon
/// uses its own port, so tests in parallel never meet on the default one.
pub fn http_listen(addr: SocketAddr) -> String {
    format!("[http]\nlisten = \"{addr}\"\n")
}

/// Kills the daemon if the test fails before it stops it.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A feed source table for config.
pub fn feed_source(id: &str, url: &str, extra: &str) -> String {
    format!("[[sources]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\n{extra}\n")
}

/// A minimal RSS 2.0 feed with the given (guid, title) items.
pub fn rss(items: &[(&str, &str)]) -> String {
    let mut xml =
        String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>");
    for (guid, title) in items {
        xml.push_str(&format!(
            "<item><guid>{guid}</guid><title>{title}</title><pubDate>Mon, 30 Jun 2025 10:00:00 GMT</pubDate></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

pub fn titles(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// A plain HTTP/1.0 request: status, content type and body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
) -> std::io::Result<(u16, String, String)> {
    let reply = request_with(addr, method, path, &[])?;
    let content_type = reply.header("content-type").unwrap_or_default().to_owned();
    Ok((reply.status, content_type, reply.body))
}

/// An answer with all its headers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// A plain HTTP/1.0 request with extra request headers.
pub fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n")?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

pub fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    request(addr, "GET", path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// One sample of the text format: name, labels, value.
pub type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the samples of a scrape (our label values hold no `,` or `"`).
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("sample value");
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label pair");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            (name.to_owned(), labels, value.parse().expect("number"))
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include `want`.
pub fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
        .collect();
    (!found.is_empty()).then(|| found.iter().sum())
}

/// Starts `tocsin run` and waits until `/healthz` answers.
pub fn start_daemon(env: &Env, addr: SocketAddr) -> KillOnDrop {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["run", "--config"])
        .arg(env.config())
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let daemon = KillOnDrop(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while request(addr, "GET", "/healthz").is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon serves HTTP on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

/// Reports a missing Prometheus tool (`promtool`, `prometheus`; both from
/// the Debian package `prometheus`): the test fails when `CI=true`, and
/// `check` is skipped with a loud note otherwise.
pub fn missing_prometheus_tool(tool: &str, check: &str) {
    let what = format!(
        "{tool} not found: install the Debian package `prometheus` \
         (apt-get install prometheus), which provides /usr/bin/{tool}"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}");
    }
    // Written to the real stderr, past the test harness's capture, so the
    // skip shows even when the test passes.
    let note = format!("\n***\n*** SKIPPED `{check}`: {what}\n***\n");
    let _ = std::io::stderr().write_all(note.as_bytes());
}

/// Whether a Prometheus tool can be run; if it is not installed, see
/// [`missing_prometheus_tool`].
pub fn have_prometheus_tool(tool: &str, check: &str) -> bool {
    let status = std::process::Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            missing_prometheus_tool(tool, check);
            false
        }
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}
