//! `_ping`, version negotiation, `/version`, `/info`, `/system/df`,
//! `/events` and error responses, over raw HTTP.

use berth_testkit::TestDaemon;

#[test]
fn ping_get_and_head_carry_docker_headers() {
    let d = TestDaemon::start();
    for method in ["GET", "HEAD"] {
        let r = d.request(method, "/_ping", b"");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Api-Version"), Some("1.47"));
        assert_eq!(r.header("Ostype"), Some("linux"));
        assert_eq!(r.header("Docker-Experimental"), Some("false"));
        assert!(r.header("Server").unwrap().starts_with("Berth/"));
        assert_eq!(
            r.header("Cache-Control"),
            Some("no-cache, no-store, must-revalidate")
        );
        if method == "GET" {
            assert_eq!(r.text(), "OK");
        }
    }
    assert_eq!(d.get("/v1.40/_ping").status, 200);
}

#[test]
fn version_prefix_is_optional_and_range_checked() {
    let d = TestDaemon::start();
    assert_eq!(d.get("/version").status, 200);
    assert_eq!(d.get("/v1.24/version").status, 200);
    assert_eq!(d.get("/v1.47/version").status, 200);
    let r = d.get("/v1.12/version");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("too old"), "{}", r.message());
    let r = d.get("/v1.99/version");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("too new"), "{}", r.message());
    let r = d.get("/v1.47/nothing/here");
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "page not found");
}

#[test]
fn version_and_info_report_real_figures() {
    let d = TestDaemon::start();
    let v = d.get("/version").json();
    assert_eq!(v["ApiVersion"], "1.47");
    assert_eq!(v["MinAPIVersion"], "1.24");
    assert_eq!(v["Os"], "linux");
    assert!(!v["KernelVersion"].as_str().unwrap().is_empty());
    assert_eq!(v["Components"][0]["Name"], "Engine");

    let info = d.get("/info").json();
    assert_eq!(info["Images"], 0);
    assert_eq!(info["Containers"], 0);
    assert!(["overlay2", "vfs"].contains(&info["Driver"].as_str().unwrap()));
    assert!(info["DriverStatus"].is_array());
    assert!(info["NCPU"].as_i64().unwrap() >= 1);
    assert!(info["MemTotal"].as_i64().unwrap() > 0);
    assert_eq!(info["DockerRootDir"], d.root.display().to_string());
    assert_eq!(info["OSType"], "linux");
    assert!(["1", "2"].contains(&info["CgroupVersion"].as_str().unwrap()));
    assert_eq!(info["CgroupDriver"], "cgroupfs");
    assert!(info["Runtimes"].as_object().unwrap().contains_key("runc"));
    assert_eq!(info["Swarm"]["LocalNodeState"], "inactive");
    assert!(info["Debug"].as_bool().unwrap());
    // The engine ID survives a restart.
    let id = info["ID"].as_str().unwrap().to_string();
    let mut d = d;
    d.restart();
    assert_eq!(d.get("/info").json()["ID"], id.as_str());
}

#[test]
fn df_counts_images_and_layers() {
    let d = TestDaemon::start();
    d.import(
        &berth_testkit::busybox::tar_of(&[("hello.txt", b"hello")]),
        "tiny:1",
    );
    let df = d.get("/system/df").json();
    assert!(df["LayersSize"].as_i64().unwrap() >= 5);
    assert_eq!(df["Images"].as_array().unwrap().len(), 1);
    assert_eq!(df["Images"][0]["RepoTags"][0], "tiny:1");
    assert_eq!(df["Images"][0]["Containers"], 0);
}

#[test]
fn events_since_until_and_filters() {
    let d = TestDaemon::start();
    let start = now();
    let id = d.import(&berth_testkit::busybox::tar_of(&[("a", b"a")]), "evt:1");
    assert_eq!(
        d.post(&format!("/images/{id}/tag?repo=evt&tag=2"), b"")
            .status,
        201
    );
    let path = format!("/events?since={start}&until={}", now() + 1.0);
    let events = d.get(&path).json_lines();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["Action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"import"), "{actions:?}");
    assert!(actions.contains(&"tag"), "{actions:?}");
    let filtered = d
        .get(&format!(
            "/events?since={start}&until={}&filters=%7B%22event%22%3A%5B%22tag%22%5D%7D",
            now() + 1.0
        ))
        .json_lines();
    assert!(filtered.iter().all(|e| e["Action"] == "tag"));
    assert!(!filtered.is_empty());
    let tag = filtered
        .iter()
        .find(|e| e["Actor"]["Attributes"]["name"] == "evt:2");
    assert!(tag.is_some(), "{filtered:?}");
    let bad = d.get("/events?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D");
    assert_eq!(bad.status, 400);
    let bad = d.get("/events?since=yesterday");
    assert_eq!(bad.status, 400);
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
