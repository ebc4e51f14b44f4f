//! Prints the data description of a file as `insiders inspect` shows it (the table) and every
//! number at full precision (`{:?}` writes the shortest string that reads back to the same
//! bits): `cargo run -p insiders-ingest --example describe_data [FILE]`. The default file is
//! the real data in `../shared`.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/datasets/online-retail/online-retail.csv.gz".into());
    let loaded = insiders_ingest::read_path(Path::new(&path), &Default::default())?;
    let d = insiders_ingest::describe::describe(&loaded.lines);
    print!("{}", d.to_text());
    println!();
    for n in &d.numeric {
        println!(
            "{}: count {} mean {:?} std {:?} min {:?} q25 {:?} median {:?} q75 {:?} max {:?} \
             skewness {:?} kurtosis {:?}",
            n.column,
            n.count,
            n.mean,
            n.std,
            n.min,
            n.q25,
            n.median,
            n.q75,
            n.max,
            n.skewness,
            n.kurtosis
        );
    }
    Ok(())
}
