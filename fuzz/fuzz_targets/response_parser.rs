//! Any bytes a server may send: framing and parsing must return responses
//! or errors, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared_imapc::imap::framer::{read_frame, Limits};
use shared_imapc::imap::response::Response;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_line: 4096,
        max_literal: 64 * 1024,
        spill_threshold: 1024,
        ..Limits::default()
    };
    let mut input = data;
    while let Ok(frame) = read_frame(&mut input, &limits) {
        let _ = Response::parse(frame);
    }
});
