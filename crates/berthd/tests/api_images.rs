//! The images API over raw HTTP: import, list and filters, lookups,
//! inspect, history, tag, delete, prune, save and load, and bad input of
//! every kind (which must be a clear 4xx that changes nothing).

use berth_testkit::TestDaemon;
use berth_testkit::busybox::{gzip, tar_of};
use berth_testkit::tarbuild::{self, Entry};
use serde_json::Value;

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn import_with(d: &TestDaemon, tar: &[u8], query: &str) -> berth_testkit::Response {
    d.request_with(
        "POST",
        &format!("/images/create?fromSrc=-&{query}"),
        &[("Content-Type", "application/x-tar")],
        tar,
    )
}

fn image_ids(d: &TestDaemon) -> Vec<String> {
    let list = d.get("/images/json?all=1").json();
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Driver directories holding layer data (to check nothing leaked).
fn layer_dirs(d: &TestDaemon) -> usize {
    let mut n = 0;
    for dir in [d.root.join("overlay2"), d.root.join("vfs/dir")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            n += entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name() != "l" && e.path().is_dir())
                .count();
        }
    }
    n
}

#[test]
fn import_applies_changes_and_inspect_shows_them() {
    let d = TestDaemon::start();
    let changes = [
        r#"CMD ["sh", "-c", "echo hi"]"#,
        "ENTRYPOINT /bin/entry",
        "ENV A=1 B=two",
        "WORKDIR /srv",
        "EXPOSE 80/tcp 53/udp",
        r#"LABEL org.test="yes""#,
        "USER www-data",
        "VOLUME /data",
        "STOPSIGNAL SIGINT",
    ];
    let query = changes
        .iter()
        .map(|c| format!("changes={}", enc(c)))
        .collect::<Vec<_>>()
        .join("&");
    let r = import_with(
        &d,
        &tar_of(&[("etc/hello", b"hello")]),
        &format!("repo=myimg&tag=v1&message=first&{query}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json_lines().last().unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    let img = d.get("/images/myimg:v1/json").json();
    assert_eq!(img["Id"], id.as_str());
    assert_eq!(img["RepoTags"], serde_json::json!(["myimg:v1"]));
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["Architecture"], "amd64");
    assert_eq!(img["Comment"], "first");
    let c = &img["Config"];
    assert_eq!(c["Cmd"], serde_json::json!(["sh", "-c", "echo hi"]));
    assert_eq!(
        c["Entrypoint"],
        serde_json::json!(["/bin/sh", "-c", "/bin/entry"])
    );
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(env.contains(&"A=1") && env.contains(&"B=two"), "{env:?}");
    assert_eq!(c["WorkingDir"], "/srv");
    assert!(c["ExposedPorts"].get("80/tcp").is_some());
    assert!(c["ExposedPorts"].get("53/udp").is_some());
    assert_eq!(c["Labels"]["org.test"], "yes");
    assert_eq!(c["User"], "www-data");
    assert!(c["Volumes"].get("/data").is_some());
    assert_eq!(c["StopSignal"], "SIGINT");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert!(img["Size"].as_i64().unwrap() >= 5);
    assert!(img["Created"].as_str().unwrap().ends_with('Z'));

    let hist = d.get("/images/myimg:v1/history").json();
    assert_eq!(hist.as_array().unwrap().len(), 1);
    assert_eq!(hist[0]["Id"], id.as_str());
    assert_eq!(hist[0]["Comment"], "first");
    assert_eq!(hist[0]["Tags"], serde_json::json!(["myimg:v1"]));
}

#[test]
fn import_accepts_gzip_and_zstd() {
    let d = TestDaemon::start();
    let tar = tar_of(&[("a.txt", b"aaaa")]);
    let plain = d.import(&tar, "plain:1");
    let gz = import_with(&d, &gzip(&tar), "repo=gz&tag=1");
    assert_eq!(gz.status, 200, "{}", gz.text());
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    let zs = import_with(&d, &zst, "repo=zs&tag=1");
    assert_eq!(zs.status, 200, "{}", zs.text());
    // Same content, same layer: the diff IDs agree.
    let layers =
        |name: &str| d.get(&format!("/images/{name}/json")).json()["RootFS"]["Layers"].clone();
    assert_eq!(layers("plain:1"), layers("gz:1"));
    assert_eq!(layers("plain:1"), layers("zs:1"));
    assert!(!plain.is_empty());
}

#[test]
fn bad_imports_are_4xx_and_change_nothing() {
    let d = TestDaemon::start();
    d.import(&tar_of(&[("keep", b"k")]), "keep:1");
    let before = image_ids(&d);
    let dirs = layer_dirs(&d);
    let mut truncated = tar_of(&[("big", &[7u8; 5000][..])]);
    truncated.truncate(2048);
    let mut bad_gzip = vec![0x1f, 0x8b, 0x08, 0x00];
    bad_gzip.extend_from_slice(b"this is not deflate data at all");
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "garbage",
            b"hello, I am not a tar archive, not at all!".repeat(20),
            "repo=x".into(),
        ),
        ("truncated tar", truncated, "repo=x".into()),
        ("garbage gzip", bad_gzip, "repo=x".into()),
        (
            "bad change",
            tar_of(&[("a", b"a")]),
            format!("repo=x&changes={}", enc("FOO bar")),
        ),
        ("bad repo", tar_of(&[("a", b"a")]), "repo=UPPER".into()),
        (
            "bad tag",
            tar_of(&[("a", b"a")]),
            "repo=x&tag=bad%20tag".into(),
        ),
        ("url source", tar_of(&[("a", b"a")]), String::new()),
    ];
    for (what, body, query) in cases {
        let path = if what == "url source" {
            "/images/create?fromSrc=http%3A%2F%2Fexample.com%2Fx.tar".to_string()
        } else {
            format!("/images/create?fromSrc=-&{query}")
        };
        let r = d.request_with(
            "POST",
            &path,
            &[("Content-Type", "application/x-tar")],
            &body,
        );
        assert!(
            (400..500).contains(&r.status),
            "{what}: status {} {}",
            r.status,
            r.text()
        );
        assert!(!r.message().is_empty(), "{what}: no message");
    }
    assert_eq!(image_ids(&d), before);
    assert_eq!(
        layer_dirs(&d),
        dirs,
        "a failed import left layer data behind"
    );
    assert_eq!(d.get("/_ping").status, 200);
    assert_eq!(d.post("/images/create", b"").status, 400);
}

#[test]
fn hostile_archives_never_write_outside() {
    let d = TestDaemon::start();
    let outside = d.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let marker = outside.join("pwned");
    let rel = |depth: usize| {
        format!(
            "{}{}",
            "../".repeat(depth),
            marker.strip_prefix("/").unwrap().display()
        )
    };
    let archives: Vec<(&str, Vec<Entry>)> = vec![
        ("dotdot", vec![Entry::file(&rel(12), b"x")]),
        (
            "absolute",
            vec![Entry::file(&marker.display().to_string(), b"x")],
        ),
        (
            "symlink out then write",
            vec![
                Entry::symlink("s", &outside.display().to_string()),
                Entry::file("s/pwned", b"x"),
            ],
        ),
        (
            "relative symlink out",
            vec![
                Entry::symlink(
                    "s",
                    &format!(
                        "{}{}",
                        "../".repeat(12),
                        outside.strip_prefix("/").unwrap().display()
                    ),
                ),
                Entry::file("s/pwned", b"x"),
            ],
        ),
        (
            "dir replaced by symlink",
            vec![
                Entry::dir("d"),
                Entry::file("d/ok", b"fine"),
                Entry::symlink("d", &outside.display().to_string()),
                Entry::file("d/pwned", b"x"),
            ],
        ),
        (
            "hardlink out",
            vec![Entry::hardlink("h", &marker.display().to_string())],
        ),
        ("hardlink dotdot", vec![Entry::hardlink("h", &rel(12))]),
        ("device node", vec![Entry::chardev("dev/sda", 8, 0)]),
    ];
    // A file to hard-link to, so that a successful escape would be visible.
    std::fs::write(&marker, b"original").unwrap();
    for (what, entries) in archives {
        let tar = tarbuild::build(&entries);
        let r = import_with(&d, &tar, "repo=hostile");
        assert!(
            r.status == 200 || (400..500).contains(&r.status),
            "{what}: {} {}",
            r.status,
            r.text()
        );
        assert_eq!(
            std::fs::read(&marker).unwrap(),
            b"original",
            "{what} wrote outside"
        );
        let names: Vec<_> = std::fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{what} created {names:?} outside");
        assert_eq!(d.get("/_ping").status, 200);
    }
}

#[test]
fn lookups_by_id_prefix_name_and_tag() {
    let d = TestDaemon::start();
    let id = d.import(&tar_of(&[("f", b"1")]), "look:1");
    let hex = id.strip_prefix("sha256:").unwrap();
    for name in [
        id.as_str(),
        hex,
        &hex[..12],
        &hex[..5],
        "look:1",
        "docker.io/library/look:1",
    ] {
        let r = d.get(&format!("/images/{name}/json"));
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.json()["Id"], id.as_str());
    }
    let r = d.get("/images/look/json");
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "No such image: look:latest");
    let r = d.get("/images/Bad:Name/json");
    assert!(r.status == 400 || r.status == 404, "{}", r.text());
    // Make two images whose IDs share a first digit, then ask for it.
    let mut ids = vec![hex.to_string()];
    let mut n = 0;
    let shared = loop {
        let new = d.import(
            &tar_of(&[("f", format!("{n}").as_bytes())]),
            &format!("amb:{n}"),
        );
        let h = new.strip_prefix("sha256:").unwrap().to_string();
        if let Some(prev) = ids.iter().find(|p| p[..1] == h[..1]) {
            break prev[..1].to_string();
        }
        ids.push(h);
        n += 1;
    };
    let r = d.get(&format!("/images/{shared}/json"));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.message().contains("ambiguous"), "{}", r.message());
}

#[test]
fn list_and_filters() {
    let d = TestDaemon::start();
    let a = d.import(&tar_of(&[("a", b"a")]), "alpha:1");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let labelled = format!("repo=beta&tag=1&changes={}", enc("LABEL tier=web"));
    let b = import_with(&d, &tar_of(&[("b", b"b")]), &labelled);
    assert_eq!(b.status, 200);
    // A dangling image: tag then move the tag away.
    let dangling = d.import(&tar_of(&[("c", b"c")]), "gamma:1");
    d.import(&tar_of(&[("c2", b"c2")]), "gamma:1");

    let list = |f: &str| -> Vec<Value> {
        let r = d.get(&format!("/images/json?filters={}", enc(f)));
        assert_eq!(r.status, 200, "{f}: {}", r.text());
        r.json().as_array().unwrap().clone()
    };
    let all = d.get("/images/json").json();
    assert_eq!(all.as_array().unwrap().len(), 4);
    let first = &all[0];
    for key in [
        "Id",
        "ParentId",
        "RepoTags",
        "RepoDigests",
        "Created",
        "Size",
        "SharedSize",
        "Labels",
        "Containers",
    ] {
        assert!(first.get(key).is_some(), "summary lacks {key}: {first}");
    }
    let d1 = list(r#"{"dangling":["true"]}"#);
    assert_eq!(d1.len(), 1);
    assert_eq!(d1[0]["Id"], dangling.as_str());
    assert_eq!(d1[0]["RepoTags"], serde_json::json!([]));
    assert_eq!(list(r#"{"dangling":["false"]}"#).len(), 3);
    assert_eq!(list(r#"{"reference":["alpha"]}"#).len(), 1);
    assert_eq!(list(r#"{"reference":["*a:1"]}"#).len(), 3);
    assert_eq!(list(r#"{"label":["tier=web"]}"#).len(), 1);
    assert_eq!(list(r#"{"label":["tier=db"]}"#).len(), 0);
    let since = list(r#"{"since":["alpha:1"]}"#);
    assert!(since.iter().all(|i| i["Id"] != a.as_str()));
    assert_eq!(since.len(), 3);
    assert_eq!(list(r#"{"before":["beta:1"]}"#).len(), 1);

    assert_eq!(
        d.get(&format!(
            "/images/json?filters={}",
            enc(r#"{"bogus":["x"]}"#)
        ))
        .status,
        400
    );
    assert_eq!(d.get("/images/json?filters=not-json").status, 400);
    assert_eq!(
        d.get(&format!(
            "/images/json?filters={}",
            enc(r#"{"dangling":["maybe"]}"#)
        ))
        .status,
        400
    );
    assert_eq!(
        d.get(&format!(
            "/images/json?filters={}",
            enc(r#"{"since":["nope"]}"#)
        ))
        .status,
        404
    );
}

#[test]
fn tag_untag_delete_with_dockers_rules() {
    let d = TestDaemon::start();
    let id = d.import(&tar_of(&[("x", b"x")]), "one:1");
    assert_eq!(d.post("/images/one:1/tag?repo=two&tag=2", b"").status, 201);
    assert_eq!(
        d.post("/images/one:1/tag?repo=localhost:5000/three", b"")
            .status,
        201
    );
    let tags = d.get(&format!("/images/{id}/json")).json()["RepoTags"].clone();
    // Sorted by full name, as Docker sorts them (docker.io/… first).
    assert_eq!(
        tags,
        serde_json::json!(["one:1", "two:2", "localhost:5000/three:latest"])
    );
    assert_eq!(d.post("/images/one:1/tag?repo=BAD", b"").status, 400);
    assert_eq!(d.post("/images/nope/tag?repo=x", b"").status, 404);

    // By name: only untags while other names remain.
    let r = d.delete("/images/two:2");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!([{"Untagged": "two:2"}]));
    // By ID with names in several repositories: must be forced.
    let r = d.delete(&format!("/images/{}", &id[7..19]));
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.message().contains("must be forced"), "{}", r.message());
    let r = d.delete(&format!("/images/{}?force=1", &id[7..19]));
    assert_eq!(r.status, 200, "{}", r.text());
    let items = r.json();
    let items = items.as_array().unwrap();
    assert!(items.contains(&serde_json::json!({"Untagged": "one:1"})));
    assert!(items.contains(&serde_json::json!({"Deleted": id})));
    assert!(
        items.iter().filter(|i| i.get("Deleted").is_some()).count() >= 2,
        "layer not deleted: {items:?}"
    );
    assert_eq!(d.get(&format!("/images/{id}/json")).status, 404);
    let r = d.delete("/images/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "No such image: nope:latest");
    // Deleting the last name of an image deletes it.
    let id2 = d.import(&tar_of(&[("y", b"y")]), "solo:1");
    let r = d.delete("/images/solo:1").json();
    assert_eq!(
        r,
        serde_json::json!([{"Untagged": "solo:1"}, {"Deleted": id2}, r[2].clone()])
    );
    assert_eq!(layer_dirs(&d), 0, "layers left after deleting every image");
}

#[test]
fn prune_dangling_then_all() {
    let d = TestDaemon::start();
    d.import(&tar_of(&[("a", b"1")]), "p:1");
    d.import(&tar_of(&[("a", b"2")]), "p:1");
    d.import(&tar_of(&[("b", b"3")]), "q:1");
    let r = d.post("/images/prune", b"").json();
    let deleted = r["ImagesDeleted"].as_array().unwrap();
    assert!(deleted.iter().any(|i| i.get("Deleted").is_some()));
    assert!(r["SpaceReclaimed"].as_u64().unwrap() >= 1);
    assert_eq!(image_ids(&d).len(), 2);
    let r = d
        .post(
            &format!("/images/prune?filters={}", enc(r#"{"dangling":["false"]}"#)),
            b"",
        )
        .json();
    assert!(r["ImagesDeleted"].as_array().unwrap().len() >= 4, "{r}");
    assert!(image_ids(&d).is_empty());
    assert_eq!(
        d.post("/images/prune?filters=%7B%22x%22%3A%5B%221%22%5D%7D", b"")
            .status,
        400
    );
}

#[test]
fn save_and_load_round_trip() {
    let d = TestDaemon::start();
    let a = d.import(&berth_testkit::busybox::rootfs_tar(), "bb:1");
    let b = d.import(&tar_of(&[("etc/x", b"x")]), "small:2");
    let r = d.get("/images/get?names=bb:1&names=small:2");
    assert_eq!(r.status, 200, "{}", r.text());
    let archive = r.body.clone();
    check_archive(&archive);
    // Single-image form too.
    assert_eq!(d.get("/images/bb:1/get").status, 200);
    assert_eq!(d.get("/images/nope/get").status, 404);

    // Load into a fresh daemon: identical IDs and tags.
    let d2 = TestDaemon::start();
    let r = d2.request_with(
        "POST",
        "/images/load",
        &[("Content-Type", "application/x-tar")],
        &archive,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("Loaded image: bb:1"), "{text}");
    assert!(text.contains("Loaded image: small:2"), "{text}");
    assert_eq!(d2.get("/images/bb:1/json").json()["Id"], a.as_str());
    assert_eq!(d2.get("/images/small:2/json").json()["Id"], b.as_str());
    // Loading again is harmless; quiet mode still reports the result.
    let r = d2.request_with("POST", "/images/load?quiet=1", &[], &archive);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Loaded image"));
    // A compressed archive loads too.
    let d3 = TestDaemon::start();
    let r = d3.request_with("POST", "/images/load", &[], &gzip(&archive));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(d3.get("/images/small:2/json").status, 200);
}

/// The archive holds Docker's and OCI's index files, and every blob is
/// named by its own digest.
fn check_archive(archive: &[u8]) {
    use sha2::Digest as _;
    let mut a = tar::Archive::new(archive);
    let mut names = Vec::new();
    for entry in a.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        if let Some(hex) = path.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&data)),
                hex,
                "blob {path} does not match its name"
            );
        }
        names.push(path);
    }
    for want in ["manifest.json", "index.json", "oci-layout"] {
        assert!(
            names.iter().any(|n| n == want),
            "archive lacks {want}: {names:?}"
        );
    }
}

#[test]
fn bad_loads_are_4xx_and_change_nothing() {
    let d = TestDaemon::start();
    let src = TestDaemon::start();
    src.import(&tar_of(&[("a", b"a")]), "ok:1");
    let good = src.get("/images/ok:1/get").body;
    // Tamper with one layer blob: its digest no longer matches.
    let tampered = {
        let mut out = tar::Builder::new(Vec::new());
        let mut a = tar::Archive::new(&good[..]);
        for entry in a.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            let path = entry.path().unwrap().display().to_string();
            if path.starts_with("blobs/sha256/") && data.len() > 1024 && !data.starts_with(b"{") {
                let n = data.len();
                data[n - 2048] ^= 0xff;
            }
            let mut h = entry.header().clone();
            out.append_data(&mut h, &path, &data[..]).unwrap();
        }
        out.into_inner().unwrap()
    };
    let no_manifest = tar_of(&[("hello.txt", b"hi")]);
    let bad_manifest = tar_of(&[("manifest.json", b"{not json")]);
    let missing_blob = tar_of(&[(
        "manifest.json",
        br#"[{"Config":"blobs/sha256/aaaa","RepoTags":["x:1"],"Layers":[]}]"#,
    )]);
    let traversal = tar_of(&[(
        "manifest.json",
        br#"[{"Config":"../../etc/passwd","RepoTags":["x:1"],"Layers":[]}]"#,
    )]);
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 2);
    for (what, body) in [
        ("garbage", b"garbage garbage garbage".repeat(50)),
        ("no manifest", no_manifest),
        ("bad manifest", bad_manifest),
        ("missing blob", missing_blob),
        ("path traversal", traversal),
        ("truncated", truncated),
        ("tampered layer", tampered),
    ] {
        let r = d.request_with("POST", "/images/load", &[], &body);
        let failed_in_stream =
            r.status == 200 && r.json_lines().iter().any(|l| l.get("error").is_some());
        assert!(
            (400..500).contains(&r.status) || failed_in_stream,
            "{what}: {} {}",
            r.status,
            r.text()
        );
        assert!(image_ids(&d).is_empty(), "{what} left an image");
        assert_eq!(layer_dirs(&d), 0, "{what} left layer data");
    }
    assert_eq!(d.get("/_ping").status, 200);
}
