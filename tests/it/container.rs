//! The container deployment in `deploy/container/`, checked without a
//! Docker engine (the build machines have none): compose.yaml mounts only
//! files of the repository, the tocsin service is read-only, unprivileged
//! and health-checked, the Dockerfile builds exactly what CI builds, and the
//! Dockerfile, compose.yaml and the container config agree on paths, port
//! and user. `tools` then runs each config through its own tool.

mod files;
mod tools;

use files::*;
use serde_norway::Value;
use std::process::Command;
use std::time::Duration;

#[test]
fn compose_has_the_stack_and_mounts_only_repository_files() {
    let compose = compose();
    for name in ["tocsin", "prometheus", "alertmanager", "grafana"] {
        service(&compose, name);
    }
    let declared = compose["volumes"].as_mapping().expect("top-level volumes");
    let repo_root = repo("").canonicalize().unwrap();
    for (name, svc) in compose["services"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        match svc["image"].as_str() {
            Some(image) => assert_pinned(image, name),
            None => assert!(svc["build"].is_mapping(), "{name}: neither image nor build"),
        }
        let (binds, named) = volumes(svc);
        for m in binds {
            let source = m.source.canonicalize().unwrap_or_else(|e| {
                panic!("{name} mounts {} which is missing: {e}", m.source.display())
            });
            assert!(
                source.starts_with(&repo_root),
                "{name} mounts {} from outside the repository",
                source.display()
            );
            assert!(m.read_only, "{name} mounts {} read-write", m.target);
        }
        for (volume, target) in named {
            let key = Value::String(volume.clone());
            assert!(
                declared.contains_key(&key),
                "{name}: volume `{volume}` ({target}) is not declared"
            );
        }
    }
    // Secrets are the one thing not in the repository: the operator creates
    // them in a directory whose .gitignore keeps them out of git.
    for (name, secret) in compose["secrets"].as_mapping().expect("secrets") {
        let file = secret["file"].as_str().expect("a file secret");
        assert!(
            file.starts_with("./secrets/"),
            "secret {name:?}: {file} is not under deploy/container/secrets/"
        );
    }
    let ignore = read("deploy/container/secrets/.gitignore");
    assert!(ignore.lines().any(|l| l.trim() == "*"), "{ignore}");
}

#[test]
fn tocsin_service_is_read_only_unprivileged_and_health_checked() {
    let compose = compose();
    let tocsin = service(&compose, "tocsin");
    assert_eq!(tocsin["read_only"].as_bool(), Some(true), "read_only: true");
    assert_eq!(
        tocsin["cap_drop"],
        serde_norway::from_str::<Value>("[ALL]").unwrap(),
        "cap_drop: [ALL]"
    );
    let opts: Vec<&str> = tocsin["security_opt"]
        .as_sequence()
        .expect("security_opt")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(opts.contains(&"no-new-privileges:true"), "{opts:?}");

    // Non-root: the image's numeric USER, repeated by compose.
    let runtime = dockerfile().pop().unwrap();
    let user = runtime.last("USER").expect("USER in the runtime stage");
    let uid: u32 =
        user.split(':').next().unwrap().parse().unwrap_or_else(|_| {
            panic!("USER {user}: numeric, so runtimes can verify it is not root")
        });
    assert_ne!(uid, 0, "USER {user} is root");
    assert_eq!(
        tocsin["user"].as_str(),
        Some(user),
        "compose user = image USER"
    );

    // Built from the repository root with this Dockerfile.
    let build = &tocsin["build"];
    let context = repo(DIR).join(build["context"].as_str().expect("build.context"));
    assert_eq!(
        context.canonicalize().unwrap(),
        repo("").canonicalize().unwrap()
    );
    assert_eq!(build["dockerfile"].as_str(), Some(DOCKERFILE));

    // Health: the same probe as the image's HEALTHCHECK, on the config's port.
    let probe = runtime.last("HEALTHCHECK").expect("HEALTHCHECK");
    let (_, cmd) = probe
        .split_once(" CMD ")
        .expect("HEALTHCHECK ... CMD [...]");
    let cmd = exec_form(cmd);
    let url = format!("http://127.0.0.1:{}/healthz", listen().port());
    assert_eq!(cmd.last(), Some(&url), "the probe asks {url}");
    let test: Vec<String> = serde_norway::from_value(tocsin["healthcheck"]["test"].clone())
        .expect("healthcheck.test as a list");
    assert_eq!(test[0], "CMD");
    assert_eq!(test[1..], cmd[..], "compose and Dockerfile probe alike");

    // State in the named volume, config and secrets read-only.
    let (binds, named) = volumes(tocsin);
    assert!(named.iter().any(|(_, t)| t == STATE_DIR), "{named:?}");
    let config = binds.iter().find(|m| m.target == CONFIG_IN_IMAGE);
    let config = config.expect("the config mounted at /etc/tocsin/tocsin.toml");
    assert_eq!(
        config.source.canonicalize().unwrap(),
        repo(CONFIG).canonicalize().unwrap()
    );
    assert!(config.read_only);
    let secrets = tocsin["secrets"].as_sequence().expect("tocsin secrets");
    for s in secrets {
        assert!(
            compose["secrets"][s.as_str().unwrap()].is_mapping(),
            "{s:?}"
        );
    }
    // Longer than the daemon takes to stop: deliveries in flight get
    // alerts.delivery_timeout + 2 s, at least 8 s.
    let timeout = container_config().alerts.delivery_timeout;
    let stop = (timeout + Duration::from_secs(2)).max(Duration::from_secs(8));
    let grace = tocsin["stop_grace_period"]
        .as_str()
        .expect("stop_grace_period");
    let grace = humantime::parse_duration(grace).unwrap();
    assert!(grace > stop, "stop_grace_period {grace:?} <= {stop:?}");
}

#[test]
fn dockerfile_builds_exactly_what_ci_builds() {
    let stages = dockerfile();
    let builder = &stages[0];
    // The builder's toolchain is at least the package's rust-version.
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    let msrv = manifest["package"]["rust-version"].as_str().unwrap();
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    let (repo_name, tag) = builder.image.split_once(':').expect("a tagged builder");
    assert_eq!(repo_name, "rust", "an official Rust image");
    let toolchain = tag.split('-').next().unwrap();
    assert!(
        version(toolchain) >= version(msrv),
        "rust:{tag} is older than rust-version {msrv}"
    );

    // Every `cargo build` the Dockerfile runs is CI's, word for word.
    let builds: Vec<&str> = stages
        .iter()
        .flat_map(|stage| stage.all("RUN"))
        .flat_map(|run| run.split("&&"))
        .filter_map(|cmd| cmd.find("cargo build").map(|i| cmd[i..].trim()))
        .collect();
    assert_eq!(builds, [BUILD], "the Dockerfile's builds");
    let deb_check = read("scripts/deb-check.sh");
    assert!(
        deb_check.lines().any(|l| l.trim() == BUILD),
        "deb-check.sh runs `{BUILD}`"
    );
    assert!(
        deb_check.contains("cargo deb --no-build"),
        "and packages that build"
    );

    // The builder's context is enough for cargo: its manifest's declared
    // targets all exist (cargo refuses a manifest with a missing [[bench]]).
    // Asking for a bin that does not exist stops right after that check.
    let context = tempfile::tempdir().unwrap();
    for (sources, dest) in context_copies(builder) {
        for source in sources {
            let to = context.path().join(dest.trim_start_matches("./"));
            let to = if dest.ends_with('/') {
                to.join(&source)
            } else {
                to
            };
            copy_tree(&repo(&source), &to);
        }
    }
    let out = Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args([
            "build",
            "--release",
            "--locked",
            "--offline",
            "--bin",
            "no-such-bin",
        ])
        .current_dir(context.path())
        .env("CARGO_TARGET_DIR", context.path().join("target"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no bin target named `no-such-bin`"),
        "{stderr}"
    );
}

#[test]
fn image_runs_the_daemon_as_the_config_and_compose_expect() {
    let runtime = dockerfile().pop().unwrap();
    assert!(!runtime.image.starts_with("rust:"), "a small runtime image");
    for stage in dockerfile() {
        assert_pinned(&stage.image, "FROM");
    }
    let port = listen().port();
    let exposed = runtime.last("EXPOSE");
    assert_eq!(
        exposed,
        Some(port.to_string().as_str()),
        "EXPOSE http.listen"
    );
    assert_eq!(
        exec_form(runtime.last("VOLUME").expect("VOLUME")),
        [STATE_DIR],
        "VOLUME state_dir"
    );
    assert_eq!(runtime.last("STOPSIGNAL"), Some("SIGTERM"));
    let mut command = exec_form(runtime.last("ENTRYPOINT").expect("ENTRYPOINT"));
    command.extend(exec_form(runtime.last("CMD").expect("CMD")));
    assert_eq!(
        command,
        [BINARY, "run", "--config", CONFIG_IN_IMAGE],
        "start command"
    );
    let builder = dockerfile().remove(0).name.expect("a named builder stage");
    let binary = runtime
        .all("COPY")
        .into_iter()
        .find(|c| c.starts_with(&format!("--from={builder} ")));
    assert!(binary.is_some_and(|c| c.ends_with(BINARY)), "{binary:?}");

    // The image's files: the rules where the config looks, the config
    // where compose mounts its copy.
    let copies = context_copies(&runtime);
    let dest = |source: &str| copies.iter().find(|(s, _)| s == &[source]).map(|(_, d)| d);
    assert_eq!(
        dest("rules/*.toml").map(|d| d.trim_end_matches('/')),
        Some(RULES_DIR),
        "the rules are copied to rules_dir"
    );
    let config = dest(CONFIG).map(String::as_str);
    assert_eq!(
        config,
        Some(CONFIG_IN_IMAGE),
        "the config is copied to {CONFIG_IN_IMAGE}"
    );

    // .dockerignore is an allow-list that lets every COPY source through
    // and nothing of target/, .git or the secrets.
    let ignore = read(".dockerignore");
    let lines: Vec<&str> = ignore
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(lines.first(), Some(&"*"), "starts by excluding everything");
    let allowed: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix('!'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    for stage in dockerfile() {
        for source in context_copies(&stage).into_iter().flat_map(|(s, _)| s) {
            let ok = allowed
                .iter()
                .any(|a| source == *a || source.starts_with(&format!("{a}/")));
            assert!(ok, ".dockerignore lets `{source}` through");
        }
    }
    for never in ["target", ".git", "deploy/container/secrets"] {
        assert!(
            !allowed.iter().any(|a| a.starts_with(never)),
            "{never} stays out"
        );
    }
}
