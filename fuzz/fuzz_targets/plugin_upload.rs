//! Plugin upload validation on arbitrary bytes (seed the corpus with real components): a bad
//! upload is refused with a reason, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = clienthub_fuzz::host().running.app.registry.upload(data, false);
});
