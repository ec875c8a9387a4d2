//! Links every function as a position-dependent executable (`-no-pie`), as Go links Lambdas by
//! default. A PIE of this size carries ~12,000 relative relocations over ~190 KB of
//! `.data.rel.ro`: at every cold start the loader writes them all, which copies those pages
//! (~50 page faults) and cost ~0.2 ms of init on the benchmark machine (`perf stat`, 400 starts,
//! health: 1.60 -> 1.41 ms, page faults 175 -> 126). The price is that the binary's own code sits
//! at a fixed address; the stack, heap, mmaps and shared libraries stay randomised.
//! The benchmark's floor (`xtask/build.rs`) is linked the same way.
fn main() {
    // Only this file decides the link mode: without this line cargo reruns the script, and relinks
    // every binary, whenever any file of the package changes (as `cargo lambda watch` then finds).
    println!("cargo:rerun-if-changed=build.rs");
    // Lambda runs Linux; other hosts (a developer's Mac under `cargo lambda watch`) keep their default.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
