//! Compile-fail cases of the derives, with their expected errors in `tests/ui/*.stderr`
//! (regenerate with `TRYBUILD=overwrite cargo test -p bitrix24-macros --test ui` and review).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
