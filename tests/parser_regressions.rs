//! Inputs the fuzzer starts from or once crashed on (`fuzz/seeds/`,
//! `fuzz/regressions/`): each must frame and parse without panicking.

use std::path::Path;

use shared_imapc::imap::framer::{read_frame, Limits};
use shared_imapc::imap::response::Response;

#[test]
fn fuzz_inputs_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut checked = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let limits = Limits {
                max_line: 4096,
                max_literal: 64 * 1024,
                spill_threshold: 1024,
                ..Limits::default()
            };
            let mut input = &data[..];
            while let Ok(frame) = read_frame(&mut input, &limits) {
                let _ = Response::parse(frame);
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "the seed inputs are missing");
}
