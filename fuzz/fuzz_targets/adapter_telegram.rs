//! The telegram adapter's parsing of arbitrary webhook requests, natively: refusals are fine, panics are bugs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clienthub_fuzz::adapter::<telegram::Telegram>(
    "telegram", "{}", data
));
