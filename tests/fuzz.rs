//! A mutation test that stays in `cargo test`: every real sample, and the hostile corpus of `tests/fixtures/hostile/`,
//! mutated a few hundred ways (bytes flipped, inserted and deleted; lines duplicated and dropped; columns swapped;
//! line endings changed to CRLF, LF or CR), each run through `check` (whole, and cut into tiny chunks) and, for one
//! mutant in four, through `run`. Whatever the input, mlspend never panics or dies on a signal, exits 0, 1 or 2,
//! writes nothing outside `--out`, balances its books whenever it succeeds, and reads a file alike in chunks or
//! whole. Deterministic: the mutants come from a fixed seed, so a failure names a mutant that can be made again.

use crate::common::{files_under, real};
use std::path::{Path, PathBuf};

/// xorshift64*: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to a CSV reader, a number parser or a path, more often than chance would pick them.
const INTERESTING: &[u8] = b",\"\r\n\0/.-+eE9'=\\{}:";

fn mutate(input: &[u8], rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let mut b = input.to_vec();
    let kind = rng.below(9);
    let at = rng.below(b.len());
    let byte = if rng.below(2) == 0 { INTERESTING[rng.below(INTERESTING.len())] } else { rng.next() as u8 };
    let lines = |b: &[u8]| -> Vec<Vec<u8>> { b.split(|c| *c == b'\n').map(|l| l.to_vec()).collect() };
    let name = match kind {
        0 => {
            if let Some(x) = b.get_mut(at) {
                *x ^= 1 << rng.below(8);
            }
            "flip a bit"
        }
        1 => {
            b.insert(at, byte);
            "insert a byte"
        }
        2 => {
            if !b.is_empty() {
                b.remove(at);
            }
            "delete a byte"
        }
        3 => {
            if let Some(x) = b.get_mut(at) {
                *x = byte;
            }
            "replace a byte"
        }
        4 => {
            let mut l = lines(&b);
            let i = rng.below(l.len());
            let copy = l[i].clone();
            l.insert(i, copy);
            b = l.join(&b'\n');
            "duplicate a line"
        }
        5 => {
            let mut l = lines(&b);
            if l.len() > 1 {
                l.remove(1 + rng.below(l.len() - 1));
            }
            b = l.join(&b'\n');
            "drop a line"
        }
        6 => {
            // Two columns swapped on every line (quotes ignored: a quoted comma makes this a different mutation).
            let l = lines(&b);
            let width = l.first().map(|h| h.split(|c| *c == b',').count()).unwrap_or(1);
            let (x, y) = (rng.below(width), rng.below(width));
            let swapped: Vec<Vec<u8>> = l
                .iter()
                .map(|line| {
                    let mut f: Vec<&[u8]> = line.split(|c| *c == b',').collect();
                    if x < f.len() && y < f.len() {
                        f.swap(x, y);
                    }
                    f.join(&b',')
                })
                .collect();
            b = swapped.join(&b'\n');
            "swap two columns"
        }
        7 => {
            let text: Vec<u8> = b.iter().copied().filter(|c| *c != b'\r').collect();
            match rng.below(3) {
                0 => {
                    b = text.iter().flat_map(|c| if *c == b'\n' { vec![b'\r', b'\n'] } else { vec![*c] }).collect();
                    "CRLF line endings"
                }
                1 => {
                    b = text.iter().map(|c| if *c == b'\n' { b'\r' } else { *c }).collect();
                    "CR line endings"
                }
                _ => {
                    b = text;
                    "LF line endings"
                }
            }
        }
        _ => {
            // A cell replaced by a hostile value.
            let values: [&[u8]; 8] =
                [b"2E36", b"-0", b"1e-29", b"../../x", b"\"unclosed", b"NaN", b"99999999999999999999", b"usd"];
            let v = values[rng.below(values.len())];
            let end = (at + 1 + rng.below(12)).min(b.len());
            b.splice(at..end, v.iter().copied());
            "a hostile cell"
        }
    };
    (b, name)
}

fn mlspend_bin() -> PathBuf {
    std::env::var_os("MLSPEND_BIN").map(PathBuf::from).unwrap_or_else(|| assert_cmd::cargo::cargo_bin("mlspend"))
}

fn exec(args: &[&std::ffi::OsStr], chunk: Option<&str>) -> (i32, Vec<u8>, String) {
    let mut cmd = std::process::Command::new(mlspend_bin());
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    if let Some(c) = chunk {
        cmd.env("MLSPEND_CHUNK_BYTES", c);
    }
    let out = cmd.output().expect("mlspend runs");
    // No exit code: a signal (a crash, an abort).
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Checks one mutant; `Err` describes what went wrong.
fn try_mutant(dir: &Path, bytes: &[u8], name: &str, with_run: bool) -> Result<(), String> {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let f = file.as_os_str();
    let (code, whole, err) = exec(&["check".as_ref(), "--json".as_ref(), f], None);
    if !(0..=2).contains(&code) || err.contains("panicked") {
        return Err(format!("check exited {code}: {err}"));
    }
    let (code2, chunked, err2) = exec(&["check".as_ref(), "--json".as_ref(), f], Some("97"));
    if code2 != code || chunked != whole {
        return Err(format!(
            "chunked reading differs: exit {code2} against {code}\n{err2}\n{}\nagainst\n{}",
            String::from_utf8_lossy(&chunked),
            String::from_utf8_lossy(&whole)
        ));
    }
    if !with_run {
        return Ok(());
    }
    let out = dir.join("out");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real.toml");
    let (code, stdout, err) =
        exec(&["run".as_ref(), "--config".as_ref(), config.as_os_str(), "--out".as_ref(), out.as_os_str(), f], None);
    if !(0..=3).contains(&code) || err.contains("panicked") {
        return Err(format!("run exited {code}: {err}"));
    }
    if code == 3 {
        return Err(format!("run found books that don't balance: {err}"));
    }
    // Nothing beside the input and OUT.
    let mut entries: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    entries.retain(|e| e != name && e != "out");
    if !entries.is_empty() {
        return Err(format!("files outside --out: {entries:?}"));
    }
    if code == 0 && out.is_dir() {
        for f in files_under(&out).into_iter().filter(|f| f.ends_with("summary.json")) {
            let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(&f)).unwrap()).unwrap();
            if s["balanced"] != true {
                return Err(format!("{}: not balanced\n{}", f.display(), String::from_utf8_lossy(&stdout)));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

#[test]
fn mutated_exports_never_crash_leak_or_unbalance() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<(String, Vec<u8>)> = [
        "EA_AmortizedCost_Small.csv",
        "EA_ActualCost_Small.csv",
        "camel_azure_version_2.csv",
        "focus_sample.csv",
        "payg_legacy_costreport.csv",
        "sample-anonymous-ea-export-dataset.csv",
    ]
    .iter()
    .map(|n| (n.to_string(), std::fs::read(real(n)).unwrap()))
    .collect();
    for f in files_under(&root.join("tests/fixtures/hostile"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|x| x == "csv"))
    {
        seeds.push((f.display().to_string(), std::fs::read(root.join("tests/fixtures/hostile").join(&f)).unwrap()));
    }
    // A few hundred mutants per real sample, fewer per corpus file; the FOCUS sample (755 KB) is cut to its first
    // 300 lines so that a mutant costs milliseconds.
    let mut jobs: Vec<(usize, String, Vec<u8>, &'static str)> = Vec::new();
    let mut rng = Rng(0x6d6c_7370_656e_6421);
    for (s, (name, bytes)) in seeds.iter().enumerate() {
        let base: Vec<u8> = if bytes.len() > 100_000 {
            let cut: Vec<&[u8]> = bytes.split(|c| *c == b'\n').take(300).collect();
            cut.join(&b'\n')
        } else {
            bytes.clone()
        };
        let n = if name.contains('/') || name.ends_with("-amortized.csv") { 60 } else { 200 };
        for _ in 0..n {
            let (mut b, mut kind) = mutate(&base, &mut rng);
            // One mutant in five takes a second mutation.
            if rng.below(5) == 0 {
                let (b2, k2) = mutate(&b, &mut rng);
                b = b2;
                kind = if kind == k2 { kind } else { "two mutations" };
            }
            jobs.push((s, name.clone(), b, kind));
        }
    }
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let dir = tempfile::tempdir().unwrap();
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((_, seed, bytes, kind)) = jobs.get(k) else { break };
                    let case = dir.path().join(format!("m{k}"));
                    std::fs::create_dir_all(&case).unwrap();
                    if let Err(e) = try_mutant(&case, bytes, "mutant-amortized.csv", k.is_multiple_of(4)) {
                        let keep = std::env::temp_dir().join(format!("mlspend-fuzz-failure-{k}.csv"));
                        let _ = std::fs::write(&keep, bytes);
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("mutant {k} of {seed} ({kind}), kept as {}: {e}", keep.display()));
                    }
                    let _ = std::fs::remove_dir_all(&case);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} mutants failed:\n{}", failures.len(), jobs.len(), failures.join("\n"));
    assert!(jobs.len() >= 1200, "{} mutants", jobs.len());
}
