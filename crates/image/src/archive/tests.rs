//! Round trips through `save` and `load`, Docker and OCI layouts, and hostile or malformed archives.

use berth_api::progress::ProgressMessage;
use berth_api::{Classify, ErrorKind};

use super::*;
use crate::config::Platform;
use crate::testutil::{Stores, archive, entries, gzip, layer_tar, named};
use crate::{Digest, ImageError};

/// Registers the layers, creates an image over them and tags it.
fn make_image(s: &Stores, tars: &[Vec<u8>], tag: Option<&str>, comment: &str) -> Digest {
    let mut parent: Option<Digest> = None;
    let mut diff_ids = Vec::new();
    let mut pins = Vec::new();
    for t in tars {
        let pin = s
            .layers
            .register(&mut &t[..], parent.as_ref(), &mut |_| {})
            .unwrap();
        diff_ids.push(format!("\"{}\"", pin.info().diff_id));
        parent = Some(pin.info().chain_id.clone());
        pins.push(pin);
    }
    let history: Vec<String> = (0..tars.len())
        .map(|i| {
            format!(
                r#"{{"created":"2024-01-0{}T00:00:00Z","created_by":"layer {i}"}}"#,
                i + 1
            )
        })
        .collect();
    let config = format!(
        r#"{{"architecture":"{}","os":"linux","comment":"{comment}","created":"2024-02-01T00:00:00.5Z","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":[{}]}},"history":[{}]}}"#,
        Platform::host().architecture,
        diff_ids.join(","),
        history.join(",")
    );
    let id = s.images.create(config.as_bytes()).unwrap();
    if let Some(t) = tag {
        s.refs.add_tag(&named(t), &id, true).unwrap();
    }
    id
}

fn save_bytes(s: &Stores, names: &[&str]) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut out = Vec::new();
    save_names(&s.layers, &s.images, &s.refs, &names, &mut out).unwrap();
    out
}

fn load_bytes(s: &Stores, data: &[u8]) -> (crate::Result<Vec<LoadedImage>>, Vec<ProgressMessage>) {
    let mut msgs = Vec::new();
    let tmp = s.tmp();
    let r = load(
        &s.layers,
        &s.images,
        &s.refs,
        &mut &data[..],
        &tmp,
        &mut |m| msgs.push(m),
    );
    (r, msgs)
}

fn streams(msgs: &[ProgressMessage]) -> Vec<String> {
    msgs.iter().filter_map(|m| m.stream.clone()).collect()
}

fn two_images(s: &Stores) -> (Digest, Digest) {
    let base = layer_tar(&[("etc/os-release", b"NAME=test\n")]);
    let top = layer_tar(&[("bin/app", &[7u8; 3000])]);
    let other = layer_tar(&[("usr/share/doc", b"docs")]);
    let a = make_image(s, &[base.clone(), top], Some("busybox:latest"), "a");
    let b = make_image(s, &[base, other], Some("app:1"), "b");
    s.refs.add_tag(&named("app:2"), &b, true).unwrap();
    (a, b)
}

#[test]
fn save_then_load_round_trip() {
    let src = Stores::new();
    let (a, b) = two_images(&src);
    let data = save_bytes(&src, &["busybox", "app"]);

    // Layout: sorted entries, the shared base layer written once.
    let ents = entries(&data);
    let names: Vec<&str> = ents.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..2], ["blobs/", "blobs/sha256/"]);
    assert_eq!(
        names[names.len() - 4..],
        ["index.json", "manifest.json", "oci-layout", "repositories"]
    );
    let blobs: Vec<&&str> = names
        .iter()
        .filter(|n| n.starts_with("blobs/sha256/") && n.len() > 13)
        .collect();
    // 3 layers + 2 configs + 2 manifests.
    assert_eq!(blobs.len(), 7, "{names:?}");
    for (name, content) in &ents {
        if let Some(hex) = name.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(Digest::of(content).hex(), hex, "blob {name}");
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&ents.iter().find(|(n, _)| n == "manifest.json").unwrap().1)
            .unwrap();
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!(["busybox:latest"])
    );
    assert_eq!(
        manifest[1]["RepoTags"],
        serde_json::json!(["app:1", "app:2"])
    );
    assert_eq!(manifest[0]["Config"], format!("blobs/sha256/{}", a.hex()));
    let index: serde_json::Value =
        serde_json::from_slice(&ents.iter().find(|(n, _)| n == "index.json").unwrap().1).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 3);
    assert_eq!(
        index["manifests"][0]["annotations"]["io.containerd.image.name"],
        "docker.io/library/busybox:latest"
    );
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let oci_layout = &ents.iter().find(|(n, _)| n == "oci-layout").unwrap().1;
    assert_eq!(oci_layout, br#"{"imageLayoutVersion": "1.0.0"}"#);

    let dst = Stores::new();
    let (loaded, msgs) = load_bytes(&dst, &data);
    let loaded = loaded.unwrap();
    assert_eq!(
        loaded.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(dst.refs.get(&named("busybox")), Some(a.clone()));
    assert_eq!(dst.refs.get(&named("app:2")), Some(b.clone()));
    assert_eq!(
        dst.images.config_bytes(&a).unwrap(),
        src.images.config_bytes(&a).unwrap()
    );
    for id in [&a, &b] {
        let top = dst.images.get(id).unwrap().top_chain_id.clone().unwrap();
        assert!(dst.layers.exists(&top));
    }
    assert_eq!(
        streams(&msgs),
        vec![
            "Loaded image: busybox:latest\n",
            "Loaded image: app:1\n",
            "Loaded image: app:2\n"
        ]
    );
    let loading: Vec<&ProgressMessage> = msgs
        .iter()
        .filter(|m| m.status.as_deref() == Some("Loading layer"))
        .collect();
    assert!(!loading.is_empty());
    let last = loading.last().unwrap();
    let detail = last.progress_detail.as_ref().unwrap();
    assert_eq!(detail.current, detail.total);
    assert_eq!(last.id.as_deref().unwrap().len(), 12);
    assert!(last.progress.as_deref().unwrap().starts_with("[===="));
    // Three distinct layers were loaded.
    let ids: std::collections::BTreeSet<&str> =
        loading.iter().filter_map(|m| m.id.as_deref()).collect();
    assert_eq!(ids.len(), 3);

    // Saving from the new store gives the same bytes.
    assert_eq!(save_bytes(&dst, &["busybox", "app"]), data);
}

#[test]
fn save_is_deterministic_and_by_id_is_untagged() {
    let s = Stores::new();
    let (a, _) = two_images(&s);
    assert_eq!(
        save_bytes(&s, &["busybox:latest"]),
        save_bytes(&s, &["busybox:latest"])
    );
    let data = save_bytes(&s, &[&a.hex()[..12]]);
    let ents = entries(&data);
    assert!(!ents.iter().any(|(n, _)| n == "repositories"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&ents.iter().find(|(n, _)| n == "manifest.json").unwrap().1)
            .unwrap();
    assert!(manifest[0]["RepoTags"].is_null());

    let dst = Stores::new();
    let (r, msgs) = load_bytes(&dst, &data);
    assert_eq!(r.unwrap()[0].id, a);
    assert_eq!(streams(&msgs), vec![format!("Loaded image ID: {a}\n")]);
    assert!(dst.refs.all().is_empty());
}

#[test]
fn save_refuses_unknown_names() {
    let s = Stores::new();
    two_images(&s);
    let mut out = Vec::new();
    for (name, kind) in [
        ("nothere", ErrorKind::NotFound),
        ("busybox:1.0", ErrorKind::NotFound),
        ("Bad Name", ErrorKind::InvalidParameter),
        ("ffffffffffff", ErrorKind::NotFound),
    ] {
        let e =
            save_names(&s.layers, &s.images, &s.refs, &[name.to_string()], &mut out).unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
    }
    assert!(out.is_empty(), "nothing written on error");
}

#[test]
fn load_for_a_platform() {
    let src = Stores::new();
    let (a, _) = two_images(&src);
    let data = save_bytes(&src, &["busybox"]);
    let dst = Stores::new();
    let tmp = dst.tmp();
    let run = |platform: &str| {
        let opts = LoadOptions {
            tmp_dir: &tmp,
            platform: Some(Platform::parse(platform).unwrap()),
        };
        load_with_options(
            &dst.layers,
            &dst.images,
            &dst.refs,
            &mut &data[..],
            &opts,
            &mut |_| {},
        )
    };
    let e = run("linux/otherarch").unwrap_err();
    assert!(
        e.to_string()
            .contains("matches the platform linux/otherarch"),
        "{e}"
    );
    assert!(dst.images.is_empty());
    let host = Platform::host();
    let loaded = run(&format!("linux/{}", host.architecture)).unwrap();
    assert_eq!(loaded[0].id, a);
}

#[test]
fn load_again_and_moved_tags() {
    let src = Stores::new();
    let (a, _) = two_images(&src);
    let data = save_bytes(&src, &["busybox"]);
    let dst = Stores::new();
    let other = make_image(
        &dst,
        &[layer_tar(&[("x", b"y")])],
        Some("busybox:latest"),
        "other",
    );
    let (r, msgs) = load_bytes(&dst, &data);
    r.unwrap();
    assert_eq!(
        streams(&msgs),
        vec![
            format!(
                "The image busybox:latest already exists, renaming the old one with ID {other} to empty string\n"
            ),
            "Loaded image: busybox:latest\n".to_string(),
        ]
    );
    assert_eq!(dst.refs.get(&named("busybox")), Some(a));
    // A second load finds every layer: no "Loading layer" lines.
    let (r, msgs) = load_bytes(&dst, &data);
    r.unwrap();
    assert!(msgs.iter().all(|m| m.status.is_none()));
}

#[test]
fn load_compressed_archives() {
    let src = Stores::new();
    let (a, _) = two_images(&src);
    let data = save_bytes(&src, &["busybox"]);
    let dst = Stores::new();
    let (r, _) = load_bytes(&dst, &gzip(&data));
    assert_eq!(r.unwrap()[0].id, a);
    let dst = Stores::new();
    let z = zstd::encode_all(&data[..], 3).unwrap();
    let (r, _) = load_bytes(&dst, &z);
    assert_eq!(r.unwrap()[0].id, a);
}

/// A hand-made OCI layout: gzip layer, nested index with two platforms
/// and an attestation, names in annotations.
fn oci_layout(tag_annotation: Option<(&str, &str)>, arch: &str) -> (Vec<u8>, Digest) {
    let layer = layer_tar(&[("hello", b"world")]);
    let diff_id = Digest::of(&layer);
    let gz = gzip(&layer);
    let gz_digest = Digest::of(&gz);
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let config_digest = Digest::of(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{gz_digest}","size":{}}}]}}"#,
        config.len(),
        gz.len()
    );
    let manifest_digest = Digest::of(manifest.as_bytes());
    let missing = Digest::of(b"not in the archive");
    let nested = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{missing}","size":10,"platform":{{"architecture":"otherarch","os":"linux"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_digest}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}},
            {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{missing}","size":10,"platform":{{"architecture":"unknown","os":"unknown"}},"annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}}]}}"#,
        manifest.len()
    );
    let nested_digest = Digest::of(nested.as_bytes());
    let annotations = match tag_annotation {
        Some((k, v)) => format!(r#","annotations":{{"{k}":"{v}"}}"#),
        None => String::new(),
    };
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{nested_digest}","size":{}{annotations}}}]}}"#,
        nested.len()
    );
    let blob = |d: &Digest| format!("blobs/sha256/{}", d.hex());
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), index.into_bytes()),
        (blob(&nested_digest), nested.into_bytes()),
        (blob(&manifest_digest), manifest.into_bytes()),
        (blob(&config_digest), config.into_bytes()),
        (blob(&gz_digest), gz),
    ];
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    (archive(&refs, &[]), config_digest)
}

#[test]
fn load_oci_layouts() {
    let host = Platform::host().architecture;
    for (annotation, tag) in [
        (
            Some(("io.containerd.image.name", "docker.io/library/multi:1")),
            Some("multi:1"),
        ),
        (
            Some(("org.opencontainers.image.ref.name", "example.com/multi:2")),
            Some("example.com/multi:2"),
        ),
        (Some(("org.opencontainers.image.ref.name", "latest")), None),
        (None, None),
    ] {
        let (data, id) = oci_layout(annotation, &host);
        let s = Stores::new();
        let (r, msgs) = load_bytes(&s, &data);
        let loaded = r.unwrap_or_else(|e| panic!("{annotation:?}: {e}"));
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].id, id);
        match tag {
            Some(t) => {
                assert_eq!(s.refs.get(&named(t)), Some(id.clone()));
                assert_eq!(streams(&msgs), vec![format!("Loaded image: {t}\n")]);
            }
            None => assert!(s.refs.all().is_empty()),
        }
        assert!(
            s.layers
                .exists(s.images.get(&id).unwrap().top_chain_id.as_ref().unwrap())
        );
    }
    // No manifest for this host's platform.
    let (data, _) = oci_layout(None, "otherarch2");
    let s = Stores::new();
    let e = load_bytes(&s, &data).0.unwrap_err();
    assert!(
        e.to_string().contains("no image in the archive matches"),
        "{e}"
    );
}

#[test]
fn load_classic_layout_with_symlinked_layer() {
    let layer = layer_tar(&[("a", b"1")]);
    let diff = Digest::of(&layer);
    let mk = |comment: &str| {
        format!(
            r#"{{"os":"linux","comment":"{comment}","rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#
        )
    };
    let (c1, c2) = (mk("one"), mk("two"));
    let (d1, d2) = (Digest::of(c1.as_bytes()), Digest::of(c2.as_bytes()));
    let manifest = format!(
        r#"[{{"Config":"{}.json","RepoTags":["one:latest"],"Layers":["aaa/layer.tar"]}},{{"Config":"{}.json","RepoTags":["two:latest"],"Layers":["bbb/layer.tar"]}}]"#,
        d1.hex(),
        d2.hex()
    );
    let n1 = format!("{}.json", d1.hex());
    let n2 = format!("{}.json", d2.hex());
    let data = archive(
        &[
            ("manifest.json", manifest.as_bytes()),
            ("repositories", br#"{"one":{"latest":"aaa"}}"#),
            (&n1, c1.as_bytes()),
            (&n2, c2.as_bytes()),
            ("aaa/layer.tar", &layer),
            ("aaa/VERSION", b"1.0"),
        ],
        &[("bbb/layer.tar", "../aaa/layer.tar")],
    );
    let s = Stores::new();
    let (r, _) = load_bytes(&s, &data);
    let loaded = r.unwrap();
    assert_eq!(
        loaded.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        vec![d1.clone(), d2.clone()]
    );
    assert_eq!(s.refs.get(&named("two")), Some(d2));
}

fn docker_archive(
    config: &str,
    layers: &[(&str, &[u8])],
    manifest_layers: &[&str],
    tags: &str,
) -> Vec<u8> {
    let cd = Digest::of(config.as_bytes());
    let cname = format!("blobs/sha256/{}", cd.hex());
    let ml: Vec<String> = manifest_layers.iter().map(|l| format!("\"{l}\"")).collect();
    let manifest = format!(
        r#"[{{"Config":"{cname}","RepoTags":{tags},"Layers":[{}]}}]"#,
        ml.join(",")
    );
    let mut files: Vec<(&str, &[u8])> = vec![
        ("manifest.json", manifest.as_bytes()),
        (&cname, config.as_bytes()),
    ];
    files.extend_from_slice(layers);
    archive(&files, &[])
}

#[test]
fn hostile_and_malformed_archives() {
    let layer = layer_tar(&[("f", b"data")]);
    let diff = Digest::of(&layer);
    let lname = format!("blobs/sha256/{}", diff.hex());
    let good_config =
        format!(r#"{{"os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#);
    let other = Digest::of(b"other");
    let wrong_diff_config =
        format!(r#"{{"os":"linux","rootfs":{{"type":"layers","diff_ids":["{other}"]}}}}"#);
    let windows =
        format!(r#"{{"os":"windows","rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#);
    let wrong_name = format!("blobs/sha256/{}", other.hex());
    let valid = docker_archive(&good_config, &[(&lname, &layer)], &[&lname], r#"["ok:1"]"#);
    let mut truncated_gz = gzip(&valid);
    truncated_gz.truncate(truncated_gz.len() / 2);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("garbage", b"this is not a tar archive at all, just text".repeat(20), "invalid archive"),
        ("empty", Vec::new(), "empty"),
        ("truncated gzip", truncated_gz, "gzip"),
        ("truncated tar", valid[..valid.len() - 1500].to_vec(), "invalid archive"),
        ("no manifest", archive(&[("hello", b"x")], &[]), "does not contain a manifest.json"),
        ("bad json", archive(&[("manifest.json", b"[{")], &[]), "failed to decode manifest.json"),
        ("null manifest", archive(&[("manifest.json", b"null")], &[]), "manifest cannot be null"),
        (
            "missing config",
            archive(&[("manifest.json", br#"[{"Config":"nope.json","Layers":[]}]"#)], &[]),
            "not in the archive",
        ),
        (
            "config path traversal",
            archive(&[("manifest.json", br#"[{"Config":"../../etc/passwd","Layers":[]}]"#)], &[]),
            "outside the archive",
        ),
        (
            "absolute layer path",
            docker_archive(&good_config, &[], &["/etc/passwd"], "null"),
            "outside the archive",
        ),
        (
            "layer symlink out",
            {
                let cd = Digest::of(good_config.as_bytes());
                let cname = format!("blobs/sha256/{}", cd.hex());
                let manifest = format!(r#"[{{"Config":"{cname}","Layers":["evil"]}}]"#);
                archive(&[("manifest.json", manifest.as_bytes()), (&cname, good_config.as_bytes())], &[("evil", "../../../etc/passwd")])
            },
            "not in the archive",
        ),
        ("missing layer", docker_archive(&good_config, &[], &[&lname], "null"), "not in the archive"),
        (
            "layer digest mismatch",
            docker_archive(&good_config, &[(&wrong_name, &layer)], &[&wrong_name], "null"),
            "does not match its digest",
        ),
        (
            "diff id mismatch",
            docker_archive(&wrong_diff_config, &[("x/layer.tar", &layer)], &["x/layer.tar"], "null"),
            "invalid diffID for layer 0",
        ),
        (
            "layer count mismatch",
            docker_archive(&good_config, &[(&lname, &layer)], &[&lname, &lname], "null"),
            "layers length mismatch",
        ),
        (
            "config digest mismatch",
            {
                let manifest = format!(r#"[{{"Config":"{wrong_name}","Layers":[]}}]"#);
                archive(&[("manifest.json", manifest.as_bytes()), (&wrong_name, good_config.as_bytes())], &[])
            },
            "does not match its digest",
        ),
        ("bad config", docker_archive("{\"rootfs\":5}", &[], &[], "null"), "invalid image config"),
        ("windows image", docker_archive(&windows, &[(&lname, &layer)], &[&lname], "null"), "cannot load windows image"),
        ("bad tag", docker_archive(&good_config, &[(&lname, &layer)], &[&lname], r#"["Bad Tag"]"#), "invalid tag"),
        (
            "digest tag",
            docker_archive(&good_config, &[(&lname, &layer)], &[&lname], &format!(r#"["a@{diff}"]"#)),
            "invalid tag",
        ),
        ("entry escaping", archive(&[("../../escape", b"x"), ("manifest.json", b"[]")], &[]), "not a clean relative path"),
        ("oci without blobs", archive(&[("index.json", format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{other}","size":3}}]}}"#).as_bytes())], &[]), "not in the archive"),
        ("oci bad index", archive(&[("index.json", b"{\"manifests\": 3}")], &[]), "failed to decode index.json"),
    ];
    for (what, data, want) in cases {
        let s = Stores::new();
        let (r, _) = load_bytes(&s, &data);
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::InvalidParameter, "{what}: {e:?}");
        assert!(e.to_string().contains(want), "{what}: {e}");
        assert!(s.images.is_empty(), "{what}: an image was created");
        assert!(s.refs.all().is_empty(), "{what}: a tag was created");
        // The temporary directory is cleaned up.
        let left = std::fs::read_dir(s.tmp()).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "{what}: temporary files left");
    }
    // Outside the data root nothing was written.
    assert!(!std::path::Path::new("/escape").exists());
}

#[test]
fn nothing_half_created() {
    // Two images; the second one's layer is missing: neither is created.
    let layer = layer_tar(&[("f", b"data")]);
    let diff = Digest::of(&layer);
    let lname = format!("blobs/sha256/{}", diff.hex());
    let c1 = format!(
        r#"{{"os":"linux","comment":"1","rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#
    );
    let c2 = format!(
        r#"{{"os":"linux","comment":"2","rootfs":{{"type":"layers","diff_ids":["{diff}","{diff}"]}}}}"#
    );
    let (n1, n2) = (
        format!("blobs/sha256/{}", Digest::of(c1.as_bytes()).hex()),
        format!("blobs/sha256/{}", Digest::of(c2.as_bytes()).hex()),
    );
    let manifest = format!(
        r#"[{{"Config":"{n1}","RepoTags":["one:1"],"Layers":["{lname}"]}},{{"Config":"{n2}","RepoTags":["two:1"],"Layers":["{lname}","x/missing.tar"]}}]"#
    );
    let data = archive(
        &[
            ("manifest.json", manifest.as_bytes()),
            (&n1, c1.as_bytes()),
            (&n2, c2.as_bytes()),
            (&lname, &layer),
        ],
        &[],
    );
    let s = Stores::new();
    let e = load_bytes(&s, &data).0.unwrap_err();
    assert!(e.to_string().contains("x/missing.tar"), "{e}");
    assert!(s.images.is_empty());
    assert!(s.refs.all().is_empty());
    assert!(
        s.layers.all().is_empty(),
        "no layer registered before all documents were checked"
    );
}

#[test]
fn load_error_classes() {
    let e = ImageError::InvalidArchive("x".into());
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
}
