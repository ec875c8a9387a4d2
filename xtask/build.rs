//! The floor is linked like the functions (see `functions/build.rs`), so init over it stays what
//! our start-up adds, not the difference of two link modes.
fn main() {
    // Only this file decides the link mode: without this line cargo reruns the script, and relinks
    // every binary, whenever any file of the package changes (as `cargo lambda watch` then finds).
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=bench-floor=-no-pie");
    }
}
