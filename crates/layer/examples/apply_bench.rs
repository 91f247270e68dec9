//! Measures layer import: `apply_bench <layer.tar[.gz|.zst]> <workdir> [vfs|overlay2|raw]`.
//! `raw` applies into a plain directory without tar-split or sync; the
//! drivers go through `LayerStore::register` (decompression, apply,
//! tar-split, syncfs, commit), as the daemon does.

use std::sync::Arc;
use std::time::Instant;

use berth_layer::apply::{ApplyOptions, WhiteoutMode, apply_tar};
use berth_layer::{LayerStore, probe};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: apply_bench <layer.tar[.gz|.zst]> <workdir> [vfs|overlay2|raw]".into());
    }
    let (tar, work) = (&args[1], std::path::Path::new(&args[2]));
    let mode = args.get(3).map(String::as_str).unwrap_or("overlay2");
    std::fs::create_dir_all(work)?;
    let input_len = std::fs::metadata(tar)?.len();
    let mut input = std::fs::File::open(tar)?;
    let store = match mode {
        "raw" => None,
        _ => {
            let driver = probe(mode, work)?;
            Some(LayerStore::open(
                &work.join("image").join(mode),
                Arc::clone(&driver),
            )?)
        }
    };
    let start = Instant::now();
    let (tar_size, diff_id) = if let Some(store) = &store {
        let layer = store.register(&mut input, None, &mut |_| {})?;
        (layer.info().tar_size, layer.info().diff_id.clone())
    } else {
        let opts = ApplyOptions {
            whiteouts: WhiteoutMode::Overlay,
            sync: false,
        };
        let (mut tar, _) = berth_layer::decompress::decompress(&mut input)?;
        let out = apply_tar(work, &mut tar, opts, None)?;
        (out.tar_size, out.diff_id)
    };
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{mode}: {input_len} bytes ({tar_size} uncompressed) in {secs:.3}s: {:.1} MB/s of tar ({diff_id})",
        tar_size as f64 / secs / 1e6
    );
    Ok(())
}
