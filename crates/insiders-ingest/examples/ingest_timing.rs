//! Times the stages of reading the real data: gunzip (libdeflate and streaming zlib-rs) and
//! the CSV parse, best of 5. `cargo run --release -p insiders-ingest --example ingest_timing [FILE]`
use std::io::Read;
use std::path::Path;
use std::time::Instant;

fn best<T>(mut f: impl FnMut() -> T) -> (f64, T) {
    let mut b = f64::INFINITY;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        let r = f();
        b = b.min(t.elapsed().as_secs_f64() * 1e3);
        out = Some(r);
    }
    (b, out.expect("ran"))
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/datasets/online-retail/online-retail.csv.gz".into());
    let opts = insiders_ingest::InputOptions::default();
    if std::env::var("ONLY_READ").is_ok() {
        let (t, _) = best(|| {
            insiders_ingest::read_path(Path::new(&path), &opts)
                .expect("read")
                .lines
                .len()
        });
        println!("read_path (gz)     {t:8.1} ms");
        return;
    }
    let gz = std::fs::read(&path).expect("read");
    if let Ok(mode) = std::env::var("ONLY_GUNZIP") {
        for _ in 0..10 {
            let n = if mode == "zlib" {
                let mut out = Vec::with_capacity(48 << 20);
                flate2::read::MultiGzDecoder::new(gz.as_slice())
                    .read_to_end(&mut out)
                    .expect("gz");
                out.len()
            } else {
                insiders_ingest::gz::maybe_gunzip(Path::new("x.gz"), gz.clone())
                    .expect("gz")
                    .len()
            };
            std::hint::black_box(n);
        }
        return;
    }
    let (t, raw) =
        best(|| insiders_ingest::gz::maybe_gunzip(Path::new("x.gz"), gz.clone()).expect("gz"));
    println!("libdeflate gunzip  {t:8.1} ms ({} bytes)", raw.len());
    let (t, _) = best(|| {
        let mut out = Vec::with_capacity(raw.len());
        flate2::read::MultiGzDecoder::new(gz.as_slice())
            .read_to_end(&mut out)
            .expect("gz");
        out.len()
    });
    println!("zlib-rs stream     {t:8.1} ms");
    let (t, _) = best(|| {
        insiders_ingest::read_bytes(Path::new("x.csv"), raw.clone(), &opts)
            .expect("csv")
            .lines
            .len()
    });
    println!("parse (plain)      {t:8.1} ms");
    let (t, _) = best(|| {
        insiders_ingest::read_path(Path::new(&path), &opts)
            .expect("read")
            .lines
            .len()
    });
    println!("read_path (gz)     {t:8.1} ms");
}
