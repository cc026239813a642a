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
    let (submissions, tour) = dataset(seed, ORDERS_PER_DAY);
    let engine = dir.open_engine()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let total = submissions.len() + tour.setup.len() + tour.orders.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("demo [{bar:40}] {pos}/{len} commands {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut counts = Counts::default();
    counts.submit(&runtime, &engine, &bar, submissions);
    counts.submit(&runtime, &engine, &bar, tour.setup);
    // The Shopify store's rules: written once (an operator's edits are kept on a rerun) and
    // put in force before its orders arrive, so the rules decide them.
    let rules = data.join(tally_engine::workflow_file::WORKFLOW_FILE);
    if !rules.exists() {
        std::fs::write(&rules, crate::demo::WORKFLOW_TOML)
            .with_context(|| format!("writing {}", rules.display()))?;
        tally_engine::workflow_file::apply_blocking(&engine, data, "demo")
            .map_err(|e| anyhow::anyhow!("the demo's workflow rules: {e}"))?;
    }
    counts.submit(&runtime, &engine, &bar, tour.orders);
    bar.finish_and_clear();
    let Counts { accepted, present, rejected } = counts;
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

/// Submissions accepted, already there, and rejected.
#[derive(Default)]
struct Counts {
    accepted: u64,
    present: u64,
    rejected: u64,
}

impl Counts {
    /// Submits `submissions` in chunks, counting the answers and moving the bar.
    fn submit(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        engine: &tally_engine::Engine,
        bar: &ProgressBar,
        mut rest: Vec<tally_engine::Submission>,
    ) {
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(CHUNK));
            let sent = rest.len() as u64;
            for result in runtime.block_on(engine.submit_many(rest)) {
                match result {
                    Ok(a) if a.deduplicated => self.present += 1,
                    Ok(_) => self.accepted += 1,
                    Err(err) => {
                        self.rejected += 1;
                        bar.suspend(|| eprintln!("demo command rejected: {}: {err}", err.code()));
                    }
                }
            }
            bar.inc(sent);
            rest = tail;
        }
    }
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
