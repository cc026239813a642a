//! `tally demo`: build the seeded demo store (and serve it).

use crate::Outcome;
use crate::demo::dataset;
use crate::store::DataDir;
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// Orders per day in the demo (about; the generator varies it).
pub(crate) const ORDERS_PER_DAY: u64 = 160;
/// Submissions sent together.
const CHUNK: usize = 2000;

/// Creates the store if needed and submits the dataset (idempotent: a second run appends
/// nothing). Returns the data directory, ready to serve.
pub fn build(data: &Path, seed: u64) -> anyhow::Result<DataDir> {
    let dir = if data.join(crate::store::CONFIG_FILE).exists() {
        DataDir::open(data)?
    } else {
        DataDir::init(data, "demo.tally/ledger", None)?.0
    };
    let submissions = dataset(seed, ORDERS_PER_DAY);
    let engine = dir.open_engine()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let bar = ProgressBar::new(submissions.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("demo [{bar:40}] {pos}/{len} commands {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut accepted, mut present, mut rejected) = (0u64, 0u64, 0u64);
    let total = submissions.len();
    let mut rest = submissions;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(CHUNK));
        for result in runtime.block_on(engine.submit_many(rest)) {
            match result {
                Ok(a) if a.deduplicated => present += 1,
                Ok(_) => accepted += 1,
                Err(err) => {
                    rejected += 1;
                    bar.suspend(|| eprintln!("demo command rejected: {}: {err}", err.code()));
                }
            }
        }
        bar.set_position((total - tail.len()) as u64);
        rest = tail;
    }
    bar.finish_and_clear();
    let head = engine.log().head().seq;
    runtime
        .block_on(engine.wait_for_views(head, std::time::Duration::from_secs(600)))
        .context("bringing the views up to date")?;
    let checkpoint = engine.log().checkpoint_blocking()?;
    engine.close();
    println!(
        "demo store {}: {total} commands ({accepted} new, {present} already there, {rejected} rejected), {head} events; checkpoint size {}",
        data.display(),
        checkpoint.unverified().size
    );
    Ok(dir)
}

pub fn run(data: &Path, listen: &str, seed: u64, no_serve: bool) -> anyhow::Result<Outcome> {
    build(data, seed)?;
    if no_serve {
        return Ok(Outcome::Ok);
    }
    // One fresh token per role for this session, printed once and never stored; the store's
    // own tokens keep working too.
    let mut auth = crate::tokens::load(data)?;
    println!("tokens for this demo session (send as `Authorization: Bearer <token>`):");
    for role in tally_api::Role::ALL {
        let token = crate::tokens::generate();
        println!("  {:<8} {token}", role.as_str());
        auth = auth.with_token(&format!("demo-{}", role.as_str()), role, &token);
    }
    crate::commands::serve::serve(data, listen, auth, None)
}
