//! The floor is linked like the functions (see `functions/build.rs`), so init over it stays what
//! our start-up adds, not the difference of two link modes.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=bench-floor=-no-pie");
    }
}
