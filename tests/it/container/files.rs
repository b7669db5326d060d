//! Reading the container files the way Docker and Compose would: the
//! Dockerfile's stages and instructions, a compose service's mounts, and a
//! container's filesystem laid out from them in a temporary directory.

use serde_norway::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DIR: &str = "deploy/container";
pub const COMPOSE: &str = "deploy/container/compose.yaml";
pub const DOCKERFILE: &str = "deploy/container/Dockerfile";
pub const CONFIG: &str = "deploy/container/tocsin.toml";
/// Where the image keeps the config, and where compose mounts it.
pub const CONFIG_IN_IMAGE: &str = "/etc/tocsin/tocsin.toml";
pub const STATE_DIR: &str = "/var/lib/tocsin";
pub const RULES_DIR: &str = "/usr/share/tocsin/rules";
pub const BINARY: &str = "/usr/local/bin/tocsin";
/// The release build of CI's package check (scripts/deb-check.sh).
pub const BUILD: &str = "cargo build --release --locked";

pub fn compose() -> Value {
    serde_norway::from_str(&read(COMPOSE)).unwrap_or_else(|e| panic!("{COMPOSE}: {e}"))
}

pub fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let service = &compose["services"][name];
    assert!(service.is_mapping(), "{COMPOSE} has no service `{name}`");
    service
}

pub fn dockerfile() -> Vec<Stage> {
    stages(&read(DOCKERFILE))
}

/// The container config, validated as the image would load it.
pub fn container_config() -> tocsin::config::Config {
    tocsin::config::from_str(Path::new(CONFIG_IN_IMAGE), &read(CONFIG))
        .unwrap_or_else(|e| panic!("{CONFIG}:\n{e}"))
}

pub fn listen() -> SocketAddr {
    container_config().listen
}

/// The tag of an image reference, if it has one.
pub fn tag(image: &str) -> Option<&str> {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.split_once(':').map(|(_, tag)| tag)
}

pub fn assert_pinned(image: &str, what: &str) {
    let pinned = image.contains("@sha256:") || tag(image).is_some_and(|t| t != "latest");
    assert!(
        pinned,
        "{what}: image `{image}` must name a version, not `latest`"
    );
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One instruction: the keyword in upper case and its arguments, with line
/// continuations joined.
#[derive(Debug)]
pub struct Instruction {
    pub keyword: String,
    pub args: String,
}

/// A build stage: its `FROM` image, its `AS` name and its instructions.
#[derive(Debug)]
pub struct Stage {
    pub image: String,
    pub name: Option<String>,
    pub body: Vec<Instruction>,
}

impl Stage {
    /// The arguments of every instruction with this keyword.
    pub fn all(&self, keyword: &str) -> Vec<&str> {
        self.body
            .iter()
            .filter(|i| i.keyword == keyword)
            .map(|i| i.args.as_str())
            .collect()
    }

    /// The arguments of the last instruction with this keyword (the one
    /// that takes effect).
    pub fn last(&self, keyword: &str) -> Option<&str> {
        self.all(keyword).last().copied()
    }
}

/// Splits a Dockerfile into stages. Comment lines are dropped, also inside
/// a continued instruction, as Docker does.
pub fn stages(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let (keyword, args) = (keyword.to_ascii_uppercase(), args.trim().to_owned());
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                image: words[0].to_owned(),
                name,
                body: vec![],
            });
        } else {
            let stage = stages.last_mut().expect("an instruction before FROM");
            stage.body.push(Instruction { keyword, args });
        }
    }
    stages
}

/// The exec form of an instruction (`["a", "b"]`) as its words.
pub fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("not an exec-form array: {args}: {e}"))
}

/// A `COPY` without `--from`: its sources (context paths) and destination.
pub fn context_copies(stage: &Stage) -> Vec<(Vec<String>, String)> {
    stage
        .all("COPY")
        .into_iter()
        .filter(|args| !args.starts_with("--from"))
        .map(|args| {
            let mut words: Vec<String> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .map(str::to_owned)
                .collect();
            let dest = words.pop().expect("COPY destination");
            (words, dest)
        })
        .collect()
}

/// The files a `COPY` source names: a path, or a `dir/*suffix` glob.
pub fn expand(source: &str) -> Vec<PathBuf> {
    let Some((dir, pattern)) = source.rsplit_once("/*") else {
        return vec![repo(source)];
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(pattern))
        .collect();
    files.sort();
    files
}

/// A bind mount of a compose service: a repository path and where the
/// container sees it.
#[derive(Debug)]
pub struct Mount {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

/// A service's volumes: bind mounts (a source starting with `.` or `/`)
/// and named volumes as (name, target).
pub fn volumes(service: &Value) -> (Vec<Mount>, Vec<(String, String)>) {
    let (mut binds, mut named) = (Vec::new(), Vec::new());
    for volume in service["volumes"].as_sequence().into_iter().flatten() {
        let (source, target, read_only) = match volume {
            Value::String(short) => {
                let parts: Vec<&str> = short.split(':').collect();
                let ro = parts
                    .get(2)
                    .is_some_and(|m| m.split(',').any(|o| o == "ro"));
                (parts[0].to_owned(), parts[1].to_owned(), ro)
            }
            long => (
                long["source"].as_str().expect("volume source").to_owned(),
                long["target"].as_str().expect("volume target").to_owned(),
                long["read_only"].as_bool().unwrap_or(false),
            ),
        };
        if source.starts_with('.') || source.starts_with('/') {
            binds.push(Mount {
                source: repo(DIR).join(source),
                target,
                read_only,
            });
        } else {
            named.push((source, target));
        }
    }
    (binds, named)
}

/// Copies a file, or a directory tree, to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// `root` joined with an absolute container path.
pub fn inside(root: &Path, container_path: &str) -> PathBuf {
    root.join(container_path.trim_start_matches('/'))
}

/// Lays a service's bind mounts out under `root` as the container sees them.
pub fn stage_mounts(mounts: &[Mount], root: &Path) {
    for m in mounts {
        copy_tree(&m.source, &inside(root, &m.target));
    }
}

/// The value of `--flag=value` in a service's `command`.
pub fn flag<'a>(service: &'a Value, flag: &str) -> &'a str {
    let prefix = format!("{flag}=");
    service["command"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|arg| arg.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {flag}= in command: {service:?}"))
}

/// Whether an external tool runs. A missing tool fails the test when
/// `CI=true`, naming what to install, and is skipped loudly elsewhere (as
/// `support::missing_prometheus_tool` does for promtool).
pub fn have_tool(tool: &str, install: &str, check: &str) -> bool {
    let status = std::process::Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = format!("{tool} not found: {install}");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{what}");
            }
            use std::io::Write;
            let note = format!("\n***\n*** SKIPPED `{check}`: {what}\n***\n");
            let _ = std::io::stderr().write_all(note.as_bytes());
            false
        }
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}
