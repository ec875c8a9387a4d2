//! Developer tools, run as `cargo xtask <command>` (an alias in .cargo/config.toml):
//!
//! - `setup`: create the tables, the admin account and the sample catalog (idempotent; `make dev`).
//! - `backfill-search`: write the word index of products that predate it (idempotent).
//! - `publish-site BUCKET API_URL`: upload the storefront with a config.json pointing at the API.
//! - `start-functions API_URL`: start every routed function once, one at a time (`make dev`).
//! - `schedules API_URL`: run the manifest's scheduled functions locally, through the invoke endpoint.
//! - `streams API_URL`: the event functions' triggers locally: table stream pollers and the bus's
//!   rule delivery, through the invoke endpoint.
//! - `replay-dead-letters API_URL`: invoke what the local dead-letter files hold once more.
//! - `mail`: the emails the shop sent (from the local SES), newest last.
//! - `totp`: the seeded admin's current two-factor code (from `ADMIN_TOTP_SECRET`).
//! - `sample-events`: one event of each type, through the publisher's decoding (tests/contract).
//! - `manifest`: print the tables and environment variables the infrastructure must describe.
//! - `gen [--check]`: write (or check) what Cargo.toml's function manifest determines: the binaries,
//!   template.yaml's function blocks, terraform/functions.json, missing sample events.
//! - `bench`: the benchmark behind `make bench` (release builds; writes docs/benchmark.*).

mod api_event;
mod async_queue;
mod bench;
mod catalogue;
mod dev;
mod generate;
mod hcl;
mod pictures;
mod sam;
mod site;
mod triggers;

const USAGE: &str = "usage: cargo xtask setup | backfill-search | publish-site BUCKET API_URL | start-functions API_URL | schedules API_URL | streams API_URL | replay-dead-letters API_URL | mail | totp | sample-events | manifest | gen [--check] | bench";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The benchmark re-runs this binary as its bare twin Lambdas.
    if let Some(spec) = bench::bare_lambda_requested() {
        bench::run_bare_lambda(&spec);
        return Ok(());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["setup"] => runtime()?.block_on(dev::setup()),
        ["backfill-search"] => runtime()?.block_on(dev::backfill_search()),
        ["publish-site", bucket, api_url] => {
            let n = runtime()?.block_on(dev::publish_site(bucket, api_url))?;
            println!("storefront published: {n} files to {bucket}");
            Ok(())
        }
        ["start-functions", api_url] => {
            let api = shop_tests::Api::http(api_url.trim_end_matches('/'));
            let n = runtime()?.block_on(api.start_every_function())?;
            println!("started the functions of all {n} routes");
            Ok(())
        }
        ["schedules", api_url] => runtime()?.block_on(dev::schedules(api_url)),
        ["streams", api_url] => runtime()?.block_on(triggers::run(api_url)),
        ["replay-dead-letters", api_url] => runtime()?.block_on(triggers::replay(api_url)),
        ["mail"] => runtime()?.block_on(dev::mail()),
        ["totp"] => dev::totp(),
        ["sample-events"] => {
            println!(
                "{}",
                serde_json::to_string_pretty(&catalogue::sample_events()?)?
            );
            Ok(())
        }
        ["manifest"] => {
            println!("{}", serde_json::to_string_pretty(&dev::manifest())?);
            Ok(())
        }
        ["gen"] | ["gen", "--check"] => {
            let check = args.len() == 2;
            // SHOP_ROOT: check another copy of the repository (tests/iac does, on a tampered one).
            let root = std::env::var_os("SHOP_ROOT")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(shop_tests::repo_root);
            generate::run(&root, check).map_err(|e| {
                eprintln!("{e}");
                std::process::exit(1);
            })
        }
        ["bench"] => {
            bench::run();
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
