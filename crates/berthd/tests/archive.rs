//! `HEAD`, `GET` and `PUT /containers/{id}/archive` over raw HTTP and
//! through the real `docker cp`: files and directories both ways, running
//! and stopped containers, bind mounts, read-only checks, symlinks
//! resolved inside the container, and hostile archives and links that
//! must never reach the host.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use berth_testkit::tarbuild::{self, Entry};
use berth_testkit::{Response, TestDaemon};
use serde_json::{Value, json};

fn daemon() -> TestDaemon {
    let d = TestDaemon::start();
    d.import_busybox();
    d
}

/// A container that exits promptly on SIGTERM.
const SLEEPER: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn b64decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 {s:?}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..chunk.len()]);
    }
    out
}

fn head(d: &TestDaemon, id: &str, path: &str) -> Response {
    d.request(
        "HEAD",
        &format!("/containers/{id}/archive?path={}", enc(path)),
        b"",
    )
}

fn get(d: &TestDaemon, id: &str, path: &str) -> Response {
    d.get(&format!("/containers/{id}/archive?path={}", enc(path)))
}

fn put(d: &TestDaemon, id: &str, path: &str, query: &str, tar: &[u8]) -> Response {
    d.request_with(
        "PUT",
        &format!("/containers/{id}/archive?path={}{query}", enc(path)),
        &[("Content-Type", "application/x-tar")],
        tar,
    )
}

/// The decoded `X-Docker-Container-Path-Stat` header.
fn stat_of(r: &Response) -> Value {
    let h = r
        .header("X-Docker-Container-Path-Stat")
        .unwrap_or_else(|| panic!("no stat header ({}): {:?}", r.status, r.headers));
    serde_json::from_slice(&b64decode(h)).unwrap()
}

/// (name, type, link, content) of every entry.
fn entries(data: &[u8]) -> Vec<(String, tar::EntryType, String, Vec<u8>)> {
    let mut a = tar::Archive::new(data);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        let kind = e.header().entry_type();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        out.push((name, kind, link, content));
    }
    out
}

/// The content of a file in the container, or the status when missing.
fn read_file(d: &TestDaemon, id: &str, path: &str) -> Result<Vec<u8>, u16> {
    let r = get(d, id, path);
    if r.status != 200 {
        return Err(r.status);
    }
    let e = entries(&r.body);
    assert_eq!(
        e.len(),
        1,
        "{path}: {:?}",
        e.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    Ok(e[0].3.clone())
}

fn file_tar(name: &str, data: &[u8]) -> Vec<u8> {
    tarbuild::build(&[Entry::file(name, data)])
}

/// A name nobody else uses, for checks on the host's filesystem.
fn unique(tag: &str) -> String {
    format!("berth-cp-{tag}-{}", std::process::id())
}

fn assert_not_on_host(name: &str) {
    for dir in ["/", "/tmp", "/etc"] {
        let p = Path::new(dir).join(name);
        assert!(!p.exists(), "{} appeared on the host", p.display());
    }
}

#[test]
fn stat_and_archive_follow_docker_rules() {
    let d = daemon();
    let id = d.create(Some("web"), &json!({"Image": "busybox", "Cmd": SLEEPER}));
    d.start_container(&id);

    let r = head(&d, "web", "/bin/busybox");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let s = stat_of(&r);
    assert_eq!(s["name"], "busybox");
    assert!(s["size"].as_i64().unwrap() > 100_000);
    let mode = s["mode"].as_u64().unwrap();
    assert_eq!(mode >> 24, 0, "a regular file has no type bits: {mode:o}");
    assert!(s["mtime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(s["linkTarget"], "");

    let s = stat_of(&head(&d, &id, "/etc/"));
    assert_eq!(s["name"], "etc");
    assert_ne!(s["mode"].as_u64().unwrap() & (1 << 31), 0);
    assert_eq!(
        stat_of(&head(&d, &id, "/")).as_object().unwrap()["name"],
        "/"
    );
    assert_eq!(
        stat_of(&head(&d, &id, "etc/.")).as_object().unwrap()["name"],
        "."
    );

    // Errors as Docker words them.
    let r = head(&d, "web", "/nope/x");
    assert_eq!(r.status, 404);
    let r = get(&d, "web", "/nope");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.message(),
        "Could not find the file /nope in container web"
    );
    let r = get(&d, "web", "/etc/passwd/");
    assert_eq!(r.status, 404, "a file asserted to be a directory");
    let r = d.get(&format!("/containers/{id}/archive"));
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "bad parameter: path cannot be empty");
    let r = get(&d, "nosuchcontainer", "/etc");
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "No such container: nosuchcontainer");

    // A directory: `etc/...`; its contents: `./...`; the root: `/...`.
    let r = get(&d, &id, "/etc");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/x-tar"));
    assert_eq!(stat_of(&r)["name"], "etc");
    let e = entries(&r.body);
    assert_eq!(e[0].0, "etc/");
    assert!(
        e.iter().any(|x| x.0 == "etc/passwd"),
        "{:?}",
        e.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    let e = entries(&get(&d, &id, "/etc/.").body);
    assert_eq!(e[0].0, "./");
    assert!(e.iter().any(|x| x.0 == "./passwd"));
    let r = get(&d, &id, "/");
    let e = entries(&r.body);
    assert_eq!(e[0].0, "/");
    assert!(e.iter().any(|x| x.0 == "/bin/busybox"));
    // The container's network files are its own.
    let hostname = read_file(&d, &id, "/etc/hostname").unwrap();
    assert_eq!(String::from_utf8_lossy(&hostname).trim(), &id[..12]);

    // Events: archive-path for GET (not for HEAD).
    let since = now() - 60.0;
    let events = d
        .get(&format!("/events?since={since}&until={}", now() + 1.0))
        .json_lines();
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e["Type"] == "container" && e["Actor"]["ID"] == id.as_str())
        .filter_map(|e| e["Action"].as_str())
        .collect();
    assert!(actions.contains(&"archive-path"), "{actions:?}");
    d.delete(&format!("/containers/{id}?force=1"));
}

#[test]
fn put_into_running_and_stopped_containers() {
    let d = daemon();
    let start = now();
    // Prints the file once it appears.
    let waiter = "i=0; while [ ! -f /tmp/in.txt ]; do sleep 0.1; i=$((i+1)); [ $i -gt 300 ] && exit 9; done; cat /tmp/in.txt; ls -ln /tmp/in.txt";
    let id = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["sh", "-c", waiter]}),
    );
    d.start_container(&id);
    let r = put(&d, &id, "/tmp", "", &file_tar("in.txt", b"from the api\n"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(d.wait(&id), 0);
    let (out, _) = d.logs(&id);
    assert!(out.starts_with("from the api\n"), "{out}");
    // Owned by the container's root, whatever the archive said (the
    // test archive says 0 too; see copy_uid_gid for the others).
    assert!(out.contains(" 0 "), "{out}");

    // Stopped (exited) and never-started containers alike.
    let r = put(&d, &id, "/tmp", "", &file_tar("later.txt", b"after exit"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(read_file(&d, &id, "/tmp/later.txt").unwrap(), b"after exit");
    let fresh = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["cat", "/srv/x/in.txt"]}),
    );
    let tar = tarbuild::build(&[Entry::dir("x"), Entry::file("x/in.txt", b"before start")]);
    assert_eq!(
        put(&d, &fresh, "/srv", "", &tar).status,
        404,
        "/srv does not exist"
    );
    assert_eq!(
        put(&d, &fresh, "/", "", &tarbuild::build(&[Entry::dir("srv")])).status,
        200
    );
    assert_eq!(put(&d, &fresh, "/srv", "", &tar).status, 200);
    d.start_container(&fresh);
    assert_eq!(d.wait(&fresh), 0);
    assert_eq!(d.logs(&fresh).0, "before start");

    // Compressed archives are accepted.
    let gz = berth_testkit::busybox::gzip(&file_tar("gz.txt", b"zipped"));
    assert_eq!(put(&d, &fresh, "/tmp", "", &gz).status, 200);
    assert_eq!(read_file(&d, &fresh, "/tmp/gz.txt").unwrap(), b"zipped");

    let events = d
        .get(&format!("/events?since={start}&until={}", now() + 1.0))
        .json_lines();
    let n = events
        .iter()
        .filter(|e| e["Action"] == "extract-to-dir" && e["Actor"]["ID"] == id.as_str())
        .count();
    assert_eq!(n, 2);
}

#[test]
fn put_checks_like_docker() {
    let d = daemon();
    let id = d.create(None, &json!({"Image": "busybox", "Cmd": ["true"]}));
    let tar = file_tar("f", b"x");
    let r = put(&d, &id, "/etc/passwd", "", &tar);
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "extraction point is not a directory");
    let r = put(&d, &id, "/no/such/dir", "", &tar);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.message(),
        format!("Could not find the file /no/such/dir in container {id}")
    );
    // (No body: the answer comes before the daemon would read one.)
    let r = put(&d, &id, "", "", b"");
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "bad parameter: path cannot be empty");

    // noOverwriteDirNonDir, as the docker CLI always sends it.
    let r = put(
        &d,
        &id,
        "/",
        "&noOverwriteDirNonDir=true",
        &file_tar("etc", b"x"),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.message().contains("cannot overwrite directory"),
        "{}",
        r.message()
    );
    let r = put(
        &d,
        &id,
        "/etc",
        "&noOverwriteDirNonDir=1",
        &tarbuild::build(&[Entry::dir("passwd")]),
    );
    assert_eq!(r.status, 409);
    assert!(read_file(&d, &id, "/etc/passwd").is_ok());
    // Without it, a file replaces a directory.
    put(
        &d,
        &id,
        "/tmp",
        "",
        &tarbuild::build(&[Entry::dir("d"), Entry::file("d/x", b"1")]),
    );
    assert_eq!(
        put(&d, &id, "/tmp", "", &file_tar("d", b"file now")).status,
        200
    );
    assert_eq!(read_file(&d, &id, "/tmp/d").unwrap(), b"file now");

    // /etc/hosts is the container's own file, mounted: replaced in place
    // (Docker fails to unlink it), and never by a directory.
    let r = put(&d, &id, "/etc", "", &file_tar("hosts", b"10.1.2.3 db\n"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(read_file(&d, &id, "/etc/hosts").unwrap(), b"10.1.2.3 db\n");
    let r = put(
        &d,
        &id,
        "/etc",
        "",
        &tarbuild::build(&[Entry::dir("hosts")]),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.message().contains("mount point"), "{}", r.message());

    // Read-only rootfs: refused, but a writable bind mount is fine and a
    // read-only one is refused.
    let rw_dir = d.dir.path().join("rw");
    let ro_dir = d.dir.path().join("ro");
    std::fs::create_dir_all(&rw_dir).unwrap();
    std::fs::create_dir_all(&ro_dir).unwrap();
    let ro = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {
            "ReadonlyRootfs": true,
            "Binds": [format!("{}:/rw", rw_dir.display()), format!("{}:/ro:ro", ro_dir.display())],
        }}),
    );
    let r = put(&d, &ro, "/tmp", "", &tar);
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "container rootfs is marked read-only");
    let r = put(&d, &ro, "/ro", "", &tar);
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "mounted volume is marked read-only");
    assert!(!ro_dir.join("f").exists());
    let r = put(&d, &ro, "/rw", "", &tar);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(std::fs::read(rw_dir.join("f")).unwrap(), b"x");
    // A read-only mount inside a writable target stays read-only.
    let rw2 = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {
            "Binds": [format!("{}:/data", rw_dir.display()), format!("{}:/data/ro:ro", ro_dir.display())],
        }}),
    );
    let r = put(
        &d,
        &rw2,
        "/data",
        "",
        &tarbuild::build(&[Entry::file("ro/sneaky", b"x")]),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!ro_dir.join("sneaky").exists());
}

#[test]
fn copy_uid_gid() {
    let d = daemon();
    let mut owned = Entry::file("owned", b"x");
    owned.mode = 0o640;
    // tarbuild writes uid 0; build one with 1234 by hand.
    let mut tar = tarbuild::build(std::slice::from_ref(&owned));
    let uid = b"0002322\0";
    tar[108..116].copy_from_slice(uid);
    tar[116..124].copy_from_slice(uid);
    tar[148..156].copy_from_slice(b"        ");
    let sum: u32 = tar[..512].iter().map(|&b| u32::from(b)).sum();
    tar[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());

    let plain = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["stat", "-c", "%u:%g %a", "/tmp/owned"]}),
    );
    let user = d.create(
        None,
        &json!({"Image": "busybox", "User": "www-data", "Cmd": ["stat", "-c", "%u:%g %a", "/tmp/owned"]}),
    );
    let run = |id: &str, query: &str| -> String {
        let r = put(&d, id, "/tmp", query, &tar);
        assert_eq!(r.status, 200, "{}", r.text());
        d.start_container(id);
        d.wait(id);
        d.logs(id).0.lines().last().unwrap_or("").to_string()
    };
    // Default: root; -a: the archive's owners; -a with a user: the user.
    assert_eq!(run(&plain, ""), "0:0 640");
    assert_eq!(run(&plain, "&copyUIDGID=true"), "1234:1234 640");
    assert_eq!(run(&user, "&copyUIDGID=1"), "33:33 640");
}

#[test]
fn bind_mounts_resolve_to_their_host_source() {
    let d = daemon();
    let host = d.dir.path().join("bound");
    std::fs::create_dir_all(host.join("sub")).unwrap();
    std::fs::write(host.join("sub/host.txt"), b"host data").unwrap();
    let id = d.create(
        Some("bound"),
        &json!({"Image": "busybox", "Cmd": SLEEPER, "HostConfig": {
            "Binds": [format!("{}:/mnt/data", host.display())],
            "Tmpfs": {"/scratch": ""},
        }}),
    );
    // Never started: the mount point does not even exist in the rootfs.
    assert_eq!(
        read_file(&d, &id, "/mnt/data/sub/host.txt").unwrap(),
        b"host data"
    );
    let r = put(
        &d,
        &id,
        "/mnt/data",
        "",
        &file_tar("in.txt", b"into the bind"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        std::fs::read(host.join("in.txt")).unwrap(),
        b"into the bind"
    );
    d.start_container(&id);
    // Through the root: `mnt/data/...` lands in the host directory too.
    let tar = tarbuild::build(&[Entry::file("mnt/data/sub/deep.txt", b"deep")]);
    assert_eq!(put(&d, &id, "/", "", &tar).status, 200);
    assert_eq!(std::fs::read(host.join("sub/deep.txt")).unwrap(), b"deep");
    // A tar of the parent includes the mount's content.
    let e = entries(&get(&d, &id, "/mnt").body);
    let names: Vec<&str> = e.iter().map(|x| x.0.as_str()).collect();
    assert!(names.contains(&"mnt/data/sub/host.txt"), "{names:?}");
    // tmpfs mounts are the container's memory: as in Docker, the path is
    // the (empty) directory underneath.
    let e = entries(&get(&d, &id, "/scratch").body);
    assert_eq!(e.len(), 1);
    // Nothing stays mounted on the host.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(
        mounts.matches(&*host.to_string_lossy()).count(),
        0,
        "{mounts}"
    );
    d.delete(&format!("/containers/{id}?force=1"));
}

#[test]
fn symlinks_resolve_inside_the_container() {
    let d = daemon();
    let id = d.create(Some("links"), &json!({"Image": "busybox", "Cmd": ["true"]}));
    // /etc/evil -> /, /etc/leak -> /etc/os-release (the host has one, the
    // container does not), /etc/up -> ../../../../..
    let links = tarbuild::build(&[
        Entry::symlink("evil", "/"),
        Entry::symlink("leak", "/etc/os-release"),
        Entry::symlink("up", "../../../../.."),
    ]);
    assert_eq!(put(&d, &id, "/etc", "", &links).status, 200);
    let s = stat_of(&head(&d, &id, "/etc/evil"));
    assert_ne!(s["mode"].as_u64().unwrap() & (1 << 27), 0);
    assert_eq!(s["linkTarget"], "/");
    assert_eq!(stat_of(&head(&d, &id, "/etc/up"))["linkTarget"], "/");
    assert_eq!(
        stat_of(&head(&d, &id, "/etc/leak"))["linkTarget"],
        "/etc/os-release"
    );
    // A symlink is archived as itself.
    let e = entries(&get(&d, &id, "/etc/leak").body);
    assert_eq!((e.len(), e[0].2.as_str()), (1, "/etc/os-release"));
    // Following the links reads the container's files, never the host's.
    assert!(Path::new("/etc/os-release").exists());
    assert_eq!(read_file(&d, &id, "/etc/leak/"), Err(404));
    assert_eq!(read_file(&d, &id, "/etc/evil/etc/os-release"), Err(404));
    assert_eq!(read_file(&d, &id, "/etc/up/etc/os-release"), Err(404));
    let passwd = read_file(&d, &id, "/etc/evil/etc/passwd").unwrap();
    assert_eq!(passwd, read_file(&d, &id, "/etc/passwd").unwrap());
    assert_ne!(passwd, std::fs::read("/etc/passwd").unwrap());

    // Writing through them writes into the container's root.
    let name = unique("evil");
    let r = put(&d, &id, "/etc/evil", "", &file_tar(&name, b"contained"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        read_file(&d, &id, &format!("/{name}")).unwrap(),
        b"contained"
    );
    let r = put(&d, &id, "/etc/up/tmp", "", &file_tar(&name, b"contained"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        read_file(&d, &id, &format!("/tmp/{name}")).unwrap(),
        b"contained"
    );
    assert_not_on_host(&name);
}

#[test]
fn hostile_archives_never_write_outside_the_target() {
    let d = daemon();
    let id = d.create(None, &json!({"Image": "busybox", "Cmd": ["true"]}));
    assert_eq!(
        put(&d, &id, "/", "", &tarbuild::build(&[Entry::dir("target")])).status,
        200
    );
    let name = unique("hostile");
    let cases: Vec<(&str, Vec<Entry>)> = vec![
        (
            "dot-dot",
            vec![Entry::file(&format!("../../../../{name}"), b"x")],
        ),
        (
            "symlink to /",
            vec![
                Entry::symlink("a", "/"),
                Entry::file(&format!("a/{name}"), b"x"),
            ],
        ),
        (
            "symlink to /tmp",
            vec![
                Entry::symlink("b", "/tmp"),
                Entry::file(&format!("b/{name}"), b"x"),
            ],
        ),
        (
            "symlink up",
            vec![
                Entry::symlink("c", "../.."),
                Entry::file(&format!("c/{name}"), b"x"),
            ],
        ),
        (
            "hard link out",
            vec![Entry::hardlink(&name, "../etc/passwd")],
        ),
        (
            "hard link via symlink",
            vec![
                Entry::symlink("e", "/etc"),
                Entry::hardlink(&name, "e/passwd"),
            ],
        ),
    ];
    for (what, tar) in cases {
        let r = put(&d, &id, "/target", "", &tarbuild::build(&tar));
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        for dir in ["/", "/tmp", "/etc"] {
            let p = format!("{dir}/{name}").replace("//", "/");
            assert_eq!(
                read_file(&d, &id, &p),
                Err(404),
                "{what}: {p} in the container"
            );
        }
        assert_not_on_host(&name);
    }
    // Absolute names stay below the target.
    let r = put(
        &d,
        &id,
        "/target",
        "",
        &file_tar(&format!("/tmp/{name}"), b"x"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        read_file(&d, &id, &format!("/target/tmp/{name}")).unwrap(),
        b"x"
    );
    assert_eq!(read_file(&d, &id, &format!("/tmp/{name}")), Err(404));
    // Device nodes are left out.
    let tar = tarbuild::build(&[Entry::chardev("mem", 1, 1), Entry::file("ok", b"ok")]);
    assert_eq!(put(&d, &id, "/target", "", &tar).status, 200);
    assert_eq!(read_file(&d, &id, "/target/mem"), Err(404));
    assert_eq!(read_file(&d, &id, "/target/ok").unwrap(), b"ok");
    // Garbage is a bad request, not a server error.
    let r = put(&d, &id, "/target", "", &[7u8; 1024]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_not_on_host(&name);
    assert_not_on_host("mem");
}

/// Runs the docker CLI; `None` (after a message) when it is absent.
fn docker(d: &TestDaemon, args: &[&str]) -> Option<std::process::Output> {
    d.docker(args)
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "docker {what} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn docker_cp_both_ways() {
    let d = daemon();
    if docker(&d, &["version"]).is_none() {
        return;
    }
    let work: PathBuf = d.dir.path().join("work");
    std::fs::create_dir_all(work.join("tree/sub")).unwrap();
    std::fs::write(work.join("file.txt"), b"one file\n").unwrap();
    std::fs::write(work.join("tree/a.txt"), b"a\n").unwrap();
    std::fs::write(work.join("tree/sub/b.txt"), b"b\n").unwrap();
    std::os::unix::fs::symlink("a.txt", work.join("tree/link")).unwrap();
    let host_bind = d.dir.path().join("bind");
    std::fs::create_dir_all(&host_bind).unwrap();
    let id = d.create(
        Some("cpweb"),
        &json!({"Image": "busybox", "Cmd": SLEEPER, "HostConfig": {
            "Binds": [format!("{}:/data", host_bind.display())]
        }}),
    );
    d.start_container(&id);

    // Host → container: a file into a directory, a directory to a new name.
    ok(
        &docker(&d, &["cp", &p(&work.join("file.txt")), "cpweb:/tmp/"]).unwrap(),
        "cp file in",
    );
    assert_eq!(read_file(&d, &id, "/tmp/file.txt").unwrap(), b"one file\n");
    ok(
        &docker(&d, &["cp", &p(&work.join("tree")), "cpweb:/tmp/copied"]).unwrap(),
        "cp dir in",
    );
    assert_eq!(read_file(&d, &id, "/tmp/copied/sub/b.txt").unwrap(), b"b\n");
    let s = stat_of(&head(&d, &id, "/tmp/copied/link"));
    assert_eq!(s["linkTarget"], "/tmp/copied/a.txt");
    // A file to a new file name.
    ok(
        &docker(
            &d,
            &["cp", &p(&work.join("file.txt")), "cpweb:/tmp/renamed.txt"],
        )
        .unwrap(),
        "cp rename",
    );
    assert_eq!(
        read_file(&d, &id, "/tmp/renamed.txt").unwrap(),
        b"one file\n"
    );

    // Container → host.
    let out = d.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    ok(
        &docker(&d, &["cp", "cpweb:/tmp/copied", &p(&out.join("back"))]).unwrap(),
        "cp dir out",
    );
    assert_eq!(std::fs::read(out.join("back/sub/b.txt")).unwrap(), b"b\n");
    assert_eq!(
        std::fs::read_link(out.join("back/link")).unwrap(),
        Path::new("a.txt")
    );
    ok(
        &docker(&d, &["cp", "cpweb:/etc/hostname", &p(&out)]).unwrap(),
        "cp file out",
    );
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(out.join("hostname")).unwrap()).trim(),
        &id[..12]
    );
    ok(
        &docker(
            &d,
            &["cp", "cpweb:/tmp/copied/.", &p(&out.join("contents"))],
        )
        .unwrap(),
        "cp dir/. out",
    );
    assert_eq!(std::fs::read(out.join("contents/a.txt")).unwrap(), b"a\n");

    // `-`: a tar on stdout, and from stdin.
    let o = docker(&d, &["cp", "cpweb:/tmp/copied/sub", "-"]).unwrap();
    ok(&o, "cp to stdout");
    let e = entries(&o.stdout);
    assert_eq!(e[0].0, "sub/");
    assert!(e.iter().any(|x| x.0 == "sub/b.txt" && x.3 == b"b\n"));
    let tar = file_tar("stdin.txt", b"piped");
    let o = d
        .docker_stdin(&["cp", "-", "cpweb:/tmp"], Some(&tar))
        .unwrap();
    ok(&o, "cp from stdin");
    assert_eq!(read_file(&d, &id, "/tmp/stdin.txt").unwrap(), b"piped");

    // Over the container's /etc/hosts (a mounted file).
    std::fs::write(work.join("myhosts"), b"10.9.8.7 db\n").unwrap();
    ok(
        &docker(&d, &["cp", &p(&work.join("myhosts")), "cpweb:/etc/hosts"]).unwrap(),
        "cp over /etc/hosts",
    );
    assert_eq!(read_file(&d, &id, "/etc/hosts").unwrap(), b"10.9.8.7 db\n");

    // Into the bind mount: on the host.
    ok(
        &docker(&d, &["cp", &p(&work.join("file.txt")), "cpweb:/data/"]).unwrap(),
        "cp into bind",
    );
    assert_eq!(
        std::fs::read(host_bind.join("file.txt")).unwrap(),
        b"one file\n"
    );

    // Missing paths: Docker's message.
    let o = docker(&d, &["cp", "cpweb:/nope", &p(&out)]).unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Could not find the file /nope in container cpweb"),
        "{err}"
    );

    // Symlinks resolve in the container: /etc/evil -> / is the
    // container's root, with or without a trailing slash.
    assert_eq!(
        put(
            &d,
            &id,
            "/etc",
            "",
            &tarbuild::build(&[Entry::symlink("evil", "/")])
        )
        .status,
        200
    );
    let name = unique("cli");
    std::fs::write(work.join(&name), b"via symlink").unwrap();
    ok(
        &docker(&d, &["cp", &p(&work.join(&name)), "cpweb:/etc/evil/"]).unwrap(),
        "cp via symlink/",
    );
    assert_eq!(
        read_file(&d, &id, &format!("/{name}")).unwrap(),
        b"via symlink"
    );
    ok(
        &docker(&d, &["cp", &p(&work.join("file.txt")), "cpweb:/etc/evil"]).unwrap(),
        "cp via symlink",
    );
    assert_eq!(read_file(&d, &id, "/file.txt").unwrap(), b"one file\n");
    let got = out.join("got");
    ok(
        &docker(&d, &["cp", &format!("cpweb:/etc/evil/{name}"), &p(&got)]).unwrap(),
        "cp out via symlink",
    );
    assert_eq!(std::fs::read(&got).unwrap(), b"via symlink");
    // -L copies what the link points to; without it, the link itself.
    ok(
        &docker(&d, &["cp", "cpweb:/etc/evil", &p(&out.join("nolink"))]).unwrap(),
        "cp link",
    );
    assert_eq!(
        std::fs::read_link(out.join("nolink")).unwrap(),
        Path::new("/")
    );
    ok(
        &docker(
            &d,
            &[
                "cp",
                "-L",
                "cpweb:/tmp/copied/link",
                &p(&out.join("followed")),
            ],
        )
        .unwrap(),
        "cp -L",
    );
    assert_eq!(std::fs::read(out.join("followed")).unwrap(), b"a\n");
    assert_not_on_host(&name);

    // A stopped container, then started: the file is there.
    d.post(&format!("/containers/{id}/stop?t=5"), b"");
    std::fs::write(work.join("stopped.txt"), b"while stopped").unwrap();
    ok(
        &docker(&d, &["cp", &p(&work.join("stopped.txt")), "cpweb:/tmp/"]).unwrap(),
        "cp stopped",
    );
    let reader = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["cat", "/tmp/stopped.txt"]}),
    );
    ok(
        &docker(
            &d,
            &[
                "cp",
                &p(&work.join("stopped.txt")),
                &format!("{reader}:/tmp/"),
            ],
        )
        .unwrap(),
        "cp never started",
    );
    d.start_container(&reader);
    assert_eq!(d.wait(&reader), 0);
    assert_eq!(d.logs(&reader).0, "while stopped");
    assert_eq!(
        read_file(&d, &id, "/tmp/stopped.txt").unwrap(),
        b"while stopped"
    );
}

#[test]
fn berth_cp_both_ways() {
    let d = daemon();
    let work = d.dir.path().join("work");
    std::fs::create_dir_all(work.join("tree/sub")).unwrap();
    std::fs::write(work.join("file.txt"), b"one file\n").unwrap();
    std::fs::write(work.join("tree/sub/b.txt"), b"b\n").unwrap();
    let id = d.create(Some("bcp"), &json!({"Image": "busybox", "Cmd": SLEEPER}));
    d.start_container(&id);
    let berth = |args: &[&str]| {
        let out = d.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    berth(&["cp", &p(&work.join("file.txt")), "bcp:/tmp/"]);
    assert_eq!(read_file(&d, &id, "/tmp/file.txt").unwrap(), b"one file\n");
    berth(&["cp", &p(&work.join("tree")), "bcp:/tmp/tree2"]);
    assert_eq!(read_file(&d, &id, "/tmp/tree2/sub/b.txt").unwrap(), b"b\n");
    let out = d.dir.path().join("out");
    berth(&["cp", "bcp:/tmp/tree2", &p(&out)]);
    assert_eq!(std::fs::read(out.join("sub/b.txt")).unwrap(), b"b\n");
    let o = berth(&["cp", "bcp:/tmp/file.txt", "-"]);
    let e = entries(&o.stdout);
    assert_eq!(
        (e[0].0.as_str(), e[0].3.as_slice()),
        ("file.txt", &b"one file\n"[..])
    );
    let o = d.berth_stdin(
        &["cp", "-", "bcp:/tmp"],
        Some(&file_tar("piped.txt", b"piped")),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read_file(&d, &id, "/tmp/piped.txt").unwrap(), b"piped");
    d.delete(&format!("/containers/{id}?force=1"));
}
