//! Writes the synthetic shop's CSV and ground truth for fixed configurations, to check that a
//! change keeps the bits: `cargo run -p insiders-synth --example shop_files -- DIR`, then
//! compare `sha256sum DIR/*` before and after. The default configurations are the tool's
//! embedded data (2,000 customers, seed 42) and 10,000 customers with seed 1; give
//! `CUSTOMERS:SEED` pairs after `DIR` for others.

use insiders_synth::{ShopConfig, generate, write_truth_csv};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "shop-files".to_string()));
    let mut runs: Vec<(usize, u64)> = Vec::new();
    for a in args {
        let (c, s) = a.split_once(':').ok_or("expected CUSTOMERS:SEED")?;
        runs.push((c.parse()?, s.parse()?));
    }
    if runs.is_empty() {
        runs = vec![(2_000, 42), (10_000, 1)];
    }
    std::fs::create_dir_all(&dir)?;
    for (customers, seed) in runs {
        let shop = generate(&ShopConfig {
            customers,
            seed,
            ..ShopConfig::default()
        })?;
        let stem = format!("shop-{customers}-{seed}");
        std::fs::write(dir.join(format!("{stem}.csv")), &shop.csv)?;
        let mut truth = Vec::new();
        write_truth_csv(&shop.truth, &mut truth)?;
        std::fs::write(dir.join(format!("{stem}.truth.csv")), truth)?;
        std::fs::write(
            dir.join(format!("{stem}.stats.txt")),
            format!("{:#?}\n", shop.stats),
        )?;
        println!(
            "{stem}: {} lines, {} bytes",
            shop.stats.lines, shop.stats.bytes
        );
    }
    Ok(())
}
