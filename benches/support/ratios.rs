#![allow(dead_code)] // each bench uses the part it needs

//! Reads criterion's estimates back and prints each measured function as a
//! ratio of its baseline from the same run: absolute times on a shared
//! 2-core machine are noise, ratios are not.

use std::path::PathBuf;

/// One row of BENCHMARKS.md: `measured / baseline`, compared with a target.
pub struct Row {
    pub what: &'static str,
    pub group: &'static str,
    pub measured: &'static str,
    pub baseline: &'static str,
    /// `Max(x)`: the ratio must be at most x (a time); `Min(x)`: at least x (a throughput).
    pub target: Target,
}

#[derive(Clone, Copy)]
pub enum Target {
    /// measured time / baseline time ≤ x
    MaxTimeRatio(f64),
    /// baseline time / measured time ≥ x (a throughput ratio)
    MinThroughputRatio(f64),
    /// baseline time / measured time, reported with no target
    Throughput,
}

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    // target/release/deps/<bench> -> target/criterion
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The mean time per iteration, in ns, of `group/function` in the last run.
fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// Prints the ratio table; silent when criterion did not measure (test mode).
pub fn report(rows: &[Row]) {
    let mut lines = Vec::new();
    for row in rows {
        let (Some(m), Some(b)) = (
            mean_ns(row.group, row.measured),
            mean_ns(row.group, row.baseline),
        ) else {
            continue;
        };
        let (ratio, ok, target) = match row.target {
            Target::MaxTimeRatio(x) => (m / b, m / b <= x, format!("<= {x}x")),
            Target::MinThroughputRatio(x) => (b / m, b / m >= x, format!(">= {x}x")),
            Target::Throughput => (b / m, true, "—".to_owned()),
        };
        lines.push(format!(
            "| {} | {:.1} ns | {:.1} ns | {:.2}x | {} | {} |",
            row.what,
            m,
            b,
            ratio,
            target,
            match (ok, row.target) {
                (_, Target::Throughput) => "",
                (true, _) => "met",
                (false, _) => "MISSED",
            }
        ));
    }
    if !lines.is_empty() {
        println!("\n| what | measured | baseline | ratio | target | |");
        println!("|---|---|---|---|---|---|");
        for line in lines {
            println!("{line}");
        }
    }
}
