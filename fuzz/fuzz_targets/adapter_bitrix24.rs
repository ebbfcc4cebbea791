//! The bitrix24 adapter's parsing of arbitrary webhook requests, natively: refusals are fine, panics are bugs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clienthub_fuzz::adapter::<bitrix24::Bitrix24>(
    "bitrix24",
    r#"{"application_token": "fuzz-token"}"#,
    data
));
