//! The streamed generator (blocks of customers sorted, spilled and merged) gives the
//! in-memory generator's shop byte for byte, and cuts months where asked.

use insiders_synth::{ShopConfig, StreamOptions, generate, generate_stream};

#[test]
#[allow(clippy::unwrap_used)]
fn blocks_spilled_and_merged_give_the_same_bytes() {
    let cfg = ShopConfig {
        customers: 1_500,
        seed: 9,
        ..ShopConfig::default()
    };
    let whole = generate(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = StreamOptions {
        block_customers: 400,
        spill_dir: Some(dir.path().to_path_buf()),
        batch_lines: 10_000,
        split_months: true,
    };
    let mut csv = insiders_synth::csv_header().to_vec();
    let mut months = Vec::new();
    let (truth, stats) = generate_stream(&cfg, &opts, |b| {
        if months.last() != Some(&b.month()) {
            months.push(b.month());
        }
        csv.extend_from_slice(&b.csv());
        Ok(())
    })
    .unwrap();
    assert_eq!(csv, whole.csv);
    assert_eq!(truth, whole.truth);
    assert_eq!(stats.lines, whole.stats.lines);
    assert_eq!(stats.anonymous_lines, whole.stats.anonymous_lines);
    // 2010-12 .. 2011-12: thirteen months, each batch within one, in order.
    assert_eq!(months.len(), 13);
    assert_eq!(months[0], (2010, 12));
    assert_eq!(months[12], (2011, 12));
    // The spill files are gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
