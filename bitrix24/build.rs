//! Generates the typed modules of the enabled pack features from `specs/*.toml` into `OUT_DIR`
//! (see `bitrix24-codegen` and `specs/README.md`).

use std::path::PathBuf;

use bitrix24_codegen::spec::PACKS;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    // `BITRIX24_SPECS_DIR` points the build at other specs (the generator's fixture specs).
    println!("cargo:rerun-if-env-changed=BITRIX24_SPECS_DIR");
    let specs = std::env::var_os("BITRIX24_SPECS_DIR")
        .map_or_else(|| manifest.join("specs"), PathBuf::from);
    println!("cargo:rerun-if-changed={}", specs.display());
    let enabled: Vec<&str> = PACKS
        .iter()
        .copied()
        .filter(|p| std::env::var_os(format!("CARGO_FEATURE_{}", p.to_ascii_uppercase())).is_some())
        .collect();
    println!("cargo::rustc-check-cfg=cfg(bitrix24_entities)");
    match bitrix24_codegen::build_script(&specs, &enabled, &out) {
        Ok(done) => {
            if done.has_entities {
                println!("cargo::rustc-cfg=bitrix24_entities");
            }
            for f in &done.spec_files {
                println!("cargo:rerun-if-changed={}", f.display());
            }
            for p in &done.missing {
                println!(
                    "cargo:warning=feature `{p}` is enabled but specs/{p}.toml does not exist yet: its module is empty"
                );
            }
        }
        Err(e) => {
            eprintln!("\nerror: bad method spec (see specs/README.md)\n\n{e}\n");
            std::process::exit(1);
        }
    }
}
