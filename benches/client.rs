//! `make bench-client`: the client core measured side by side with the
//! alternatives, printed as a table.
//!
//! 1. Parsing: our framer+parser against `imap-proto` on the same input
//!    (100,000 FETCH responses with envelopes and flags; one 50 MB literal):
//!    throughput, heap allocations per response, peak heap.
//! 2. Login and select through the loopback proxy: our client against
//!    Dovecot's built-in imapc (run by doveadm) on the same cluster and data.

#[path = "../tests/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command as Process;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shared_imapc::client::session::{open, SessionSpec};
use shared_imapc::imap::command::Command;
use shared_imapc::imap::framer::{read_frame, Limits};
use shared_imapc::imap::response::Response;
use shared_imapc::storage::settings::Secret;

/// Counts allocations and tracks the heap's high-water mark.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations, peak heap above the starting point, and time of `f`.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize, Duration) {
    let base_allocs = ALLOCATIONS.load(Ordering::Relaxed);
    let base_live = LIVE.load(Ordering::Relaxed);
    PEAK.store(base_live, Ordering::Relaxed);
    let started = Instant::now();
    let out = f();
    let elapsed = started.elapsed();
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - base_allocs;
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base_live);
    (out, allocs, peak, elapsed)
}

fn fetch_responses(count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for n in 1..=count {
        out.extend_from_slice(
            format!(
                "* {n} FETCH (UID {n} FLAGS (\\Seen $Label{}) RFC822.SIZE {} ENVELOPE (\"Mon, 2 Jun 2025 10:00:00 +0000\" \
                 \"Re: quarterly report {n}\" ((\"Alice Example\" NIL \"alice\" \"example.net\")) \
                 ((\"Alice Example\" NIL \"alice\" \"example.net\")) ((NIL NIL \"alice\" \"example.net\")) \
                 ((\"Bob\" NIL \"bob\" \"example.net\")) NIL NIL \"<p{n}@example.net>\" \"<m{n}@example.net>\"))\r\n",
                n % 7,
                1000 + n
            )
            .as_bytes(),
        );
    }
    out
}

fn big_literal(size: usize) -> Vec<u8> {
    let mut out = format!("* 1 FETCH (UID 1 BODY[] {{{size}}}\r\n").into_bytes();
    out.resize(out.len() + size, b'x');
    out.extend_from_slice(b")\r\n");
    out
}

fn ours(input: &[u8], limits: &Limits) -> usize {
    let mut rest = input;
    let mut parsed = 0;
    while let Ok(frame) = read_frame(&mut rest, limits) {
        Response::parse(frame).expect("valid input");
        parsed += 1;
    }
    parsed
}

fn imap_proto(input: &[u8]) -> usize {
    let mut rest = input;
    let mut parsed = 0;
    while !rest.is_empty() {
        let (next, _) = imap_proto::Response::parse(rest).expect("valid input");
        rest = next;
        parsed += 1;
    }
    parsed
}

fn parser_rows() {
    println!("## Parsing (same input, same process)\n");
    println!("| input | parser | MB/s | allocations per response | peak heap |");
    println!("|---|---|---:|---:|---:|");
    // Median time of five runs; allocations and peak heap of the last.
    let row = |input: &str, name: &str, bytes: usize, run: &dyn Fn() -> usize| {
        let runs: Vec<_> = (0..5).map(|_| measure(run)).collect();
        let elapsed = median(runs.iter().map(|r| r.3).collect());
        let (count, allocs, peak, _) = runs.into_iter().last().expect("five runs");
        println!(
            "| {input} | {name} | {:.0} | {:.1} | {:.1} MB |",
            bytes as f64 / 1e6 / elapsed.as_secs_f64(),
            allocs as f64 / count.max(1) as f64,
            peak as f64 / 1e6
        );
    };
    let fetches = fetch_responses(100_000);
    let limits = Limits::default();
    let what = "100,000 FETCH (UID FLAGS RFC822.SIZE ENVELOPE)";
    row(what, "shared_imapc", fetches.len(), &|| {
        ours(&fetches, &limits)
    });
    row(what, "imap-proto 0.17", fetches.len(), &|| {
        imap_proto(&fetches)
    });
    drop(fetches);

    // A literal arrives from a socket; a file stands in for it. Ours reads
    // it as a stream and spills it to a temporary file; imap-proto needs
    // the whole response in one buffer.
    let size = 50 * 1024 * 1024;
    let path = std::env::temp_dir().join(format!("sic-bench-literal-{}", std::process::id()));
    std::fs::write(&path, big_literal(size)).unwrap();
    let what = "one 50 MB literal, read from a stream";
    row(what, "shared_imapc", size, &|| {
        let mut reader = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let frame = read_frame(&mut reader, &limits).unwrap();
        Response::parse(frame).unwrap();
        1
    });
    row(what, "imap-proto 0.17", size, &|| {
        imap_proto(&std::fs::read(&path).unwrap())
    });
    std::fs::remove_file(&path).unwrap();
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn login_rows() {
    const ROUNDS: usize = 15;
    let cluster = common::cluster::TestCluster::start();
    let spec = SessionSpec {
        target: common::target("127.0.0.1", cluster.proxy_port),
        owner: "alice".into(),
        master: "bob".into(),
        password: Secret::new(cluster.master_password.clone()),
        separator: None,
        client_ip: None,
    };
    let ours = median(
        (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                let mut c = open(&spec, &mut 0, None).expect("login");
                c.execute(&Command::new("EXAMINE").mailbox("Team", false).unwrap())
                    .expect("examine");
                let _ = c.execute(&Command::new("LOGOUT"));
                started.elapsed()
            })
            .collect(),
    );
    let backend_conf = cluster.root.join("backenda/dovecot.conf");
    let doveadm = |args: &[&str]| {
        let started = Instant::now();
        let out = Process::new("doveadm")
            .arg("-c")
            .arg(&backend_conf)
            .args(args)
            .output()
            .expect("doveadm");
        assert!(
            out.status.success(),
            "doveadm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        started.elapsed()
    };
    let port = cluster.proxy_port.to_string();
    let imapc_args = [
        "-o",
        "mail_location=imapc:~/imapc-cache",
        "-o",
        "imapc_host=127.0.0.1",
        "-o",
    ];
    let port_opt = format!("imapc_port={port}");
    let master_opt = "imapc_master_user=bob".to_string();
    let password_opt = format!("imapc_password={}", cluster.master_password);
    let mut args: Vec<&str> = imapc_args.to_vec();
    args.extend([
        port_opt.as_str(),
        "-o",
        master_opt.as_str(),
        "-o",
        password_opt.as_str(),
        "-o",
        "mail_plugins=",
    ]);
    args.extend(["mailbox", "status", "-u", "alice", "messages", "Team"]);
    let imapc = median((0..ROUNDS).map(|_| doveadm(&args)).collect());
    let startup = median(
        (0..ROUNDS)
            .map(|_| doveadm(&["-o", "mail_plugins=", "user", "alice"]))
            .collect(),
    );

    println!("\n## Login as alice (master bob) through the proxy, then select Team (median of {ROUNDS})\n");
    println!("| client | ms | ratio to shared_imapc |");
    println!("|---|---:|---:|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("| shared_imapc client core | {:.2} | 1.00 |", ms(ours));
    println!(
        "| built-in imapc via doveadm (whole process) | {:.2} | {:.2} |",
        ms(imapc),
        ms(imapc) / ms(ours)
    );
    let net = imapc.saturating_sub(startup);
    println!(
        "| built-in imapc via doveadm, less doveadm's own start-up ({:.2} ms) | {:.2} | {:.2} |",
        ms(startup),
        ms(net),
        ms(net) / ms(ours)
    );
}

fn main() {
    parser_rows();
    login_rows();
}
