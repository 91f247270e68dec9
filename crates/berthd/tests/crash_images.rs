//! Killing berthd (SIGKILL) in the middle of image imports and deletions
//! leaves every image whole or absent and no layer data behind.

use std::time::Duration;

use berth_testkit::TestDaemon;

/// A tarball of `files` files of `size` bytes each.
fn big_tar(files: usize, size: usize, seed: u8) -> Vec<u8> {
    let data: Vec<u8> = (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let owned: Vec<(String, Vec<u8>)> = (0..files)
        .map(|i| (format!("d/f{i}"), data.clone()))
        .collect();
    let refs: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    berth_testkit::busybox::tar_of(&refs)
}

fn count_dirs(path: &std::path::Path) -> usize {
    std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name() != "l" && e.path().is_dir())
                .count()
        })
        .unwrap_or(0)
}

/// Every driver directory belongs to a layer, every layer to an image.
fn assert_consistent(d: &TestDaemon) {
    let info = d.get("/info").json();
    let driver = info["Driver"].as_str().unwrap().to_string();
    let driver_dirs = if driver == "overlay2" {
        count_dirs(&d.root.join("overlay2"))
    } else {
        count_dirs(&d.root.join("vfs/dir"))
    };
    let layerdb = count_dirs(&d.root.join("image").join(&driver).join("layerdb/sha256"));
    assert_eq!(
        driver_dirs,
        layerdb,
        "driver dirs vs layers:\n{}",
        d.log_text()
    );
    let images = d.get("/images/json?all=1").json();
    let images = images.as_array().unwrap();
    // Each test image has exactly one layer of its own.
    assert_eq!(layerdb, images.len(), "layers vs images: {images:?}");
    for img in images {
        let id = img["Id"].as_str().unwrap();
        assert_eq!(d.get(&format!("/images/{id}/json")).status, 200);
        assert_eq!(d.get(&format!("/images/{id}/history")).status, 200);
    }
    let tmp = d.root.join("tmp");
    assert_eq!(
        std::fs::read_dir(&tmp).map(|r| r.count()).unwrap_or(0),
        0,
        "scratch files left"
    );
}

#[test]
fn kill9_during_imports_and_deletes() {
    let mut d = TestDaemon::start();
    for round in 0..8u8 {
        let tar = big_tar(40, 256 * 1024, round);
        let socket = d.socket.clone();
        let importer = std::thread::spawn(move || {
            let path = format!("/images/create?fromSrc=-&repo=crash&tag={round}");
            let _ = berth_testkit::http::request(&socket, "POST", &path, &[], &tar);
        });
        let socket = d.socket.clone();
        let deleter = std::thread::spawn(move || {
            if round > 0 {
                let path = format!("/images/crash:{}", round - 1);
                let _ = berth_testkit::http::request(&socket, "DELETE", &path, &[], b"");
            }
        });
        std::thread::sleep(Duration::from_millis(20 + u64::from(round) * 37 % 200));
        d.kill9();
        let _ = importer.join();
        let _ = deleter.join();
        d.restart();
        assert_consistent(&d);
    }
}
