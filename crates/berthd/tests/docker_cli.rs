//! The real docker CLI against berthd (skipped with a message when the
//! `docker` command is not installed).

use berth_testkit::TestDaemon;

fn ok(out: &std::process::Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "docker {what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn docker_cli_image_workflow() {
    let d = TestDaemon::start();
    let Some(out) = d.docker(&["version"]) else {
        return;
    };
    let text = ok(&out, "version");
    assert!(text.contains("Server:"), "{text}");
    assert!(text.contains("1.47"), "{text}");

    let text = ok(&d.docker(&["info"]).unwrap(), "info");
    assert!(text.contains("Storage Driver:"), "{text}");
    assert!(text.contains("Images: 0"), "{text}");

    let rootfs = berth_testkit::busybox::rootfs_tar();
    let out = d
        .docker_stdin(
            &[
                "import",
                "-c",
                "CMD [\"sh\"]",
                "-m",
                "from test",
                "-",
                "busybox:latest",
            ],
            Some(&rootfs),
        )
        .unwrap();
    let id = ok(&out, "import").trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");

    let text = ok(&d.docker(&["images"]).unwrap(), "images");
    assert!(
        text.contains("REPOSITORY") && text.contains("busybox") && text.contains("latest"),
        "{text}"
    );
    let text = ok(&d.docker(&["images", "-q"]).unwrap(), "images -q");
    assert_eq!(text.trim(), &id[7..19]);

    let text = ok(
        &d.docker(&["image", "inspect", "busybox"]).unwrap(),
        "image inspect",
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(v[0]["Config"]["Cmd"][0], "sh");
    let text = ok(
        &d.docker(&[
            "image",
            "inspect",
            "-f",
            "{{.Os}}/{{.Architecture}}",
            "busybox",
        ])
        .unwrap(),
        "inspect -f",
    );
    assert_eq!(text.trim(), "linux/amd64");

    let text = ok(&d.docker(&["history", "busybox"]).unwrap(), "history");
    assert!(text.contains("from test"), "{text}");

    ok(&d.docker(&["tag", "busybox", "mybox:1"]).unwrap(), "tag");
    let text = ok(
        &d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .unwrap(),
        "images --format",
    );
    assert!(
        text.contains("mybox:1") && text.contains("busybox:latest"),
        "{text}"
    );

    let tar_path = d.dir.path().join("saved.tar");
    ok(
        &d.docker(&[
            "save",
            "-o",
            tar_path.to_str().unwrap(),
            "busybox",
            "mybox:1",
        ])
        .unwrap(),
        "save",
    );
    let text = ok(&d.docker(&["rmi", "mybox:1"]).unwrap(), "rmi tag");
    assert!(text.contains("Untagged: mybox:1"), "{text}");
    let text = ok(&d.docker(&["rmi", "busybox"]).unwrap(), "rmi");
    assert!(text.contains("Deleted: sha256:"), "{text}");
    let text = ok(
        &d.docker(&["load", "-i", tar_path.to_str().unwrap()])
            .unwrap(),
        "load",
    );
    assert!(text.contains("Loaded image: busybox:latest"), "{text}");
    let text = ok(
        &d.docker(&["image", "inspect", "-f", "{{.Id}}", "mybox:1"])
            .unwrap(),
        "inspect after load",
    );
    assert_eq!(text.trim(), id);

    let text = ok(&d.docker(&["system", "df"]).unwrap(), "system df");
    assert!(text.contains("Images"), "{text}");

    let out = d.docker(&["rmi", "nothing-here"]).unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No such image: nothing-here:latest"), "{err}");

    let out = ok(
        &d.docker(&["image", "prune", "-a", "-f"]).unwrap(),
        "image prune -a",
    );
    assert!(out.contains("Total reclaimed space"), "{out}");
}
