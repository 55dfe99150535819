//! Reading large files in parallel chunks gives exactly what reading them in one piece gives: the same reports, the
//! same rows with the same line numbers, the same rejects, whatever the chunk size and thread count.

use crate::common::{files_under, mlspend, run};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the pack with a chunk size (None: files are read whole) and thread count.
fn pack(out: &Path, config: &Path, inputs: &[&Path], chunk: Option<u64>, threads: &str) -> String {
    let mut cmd = mlspend();
    if let Some(bytes) = chunk {
        cmd.env("MLSPEND_CHUNK_BYTES", bytes.to_string());
    }
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(["--format", "csv,parquet,json", "--threads", threads])
        .args(inputs);
    let (o, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{o}{e}");
    o
}

fn assert_same_files(a: &Path, b: &Path) {
    let files = files_under(a);
    assert_eq!(files, files_under(b));
    for f in files {
        assert!(std::fs::read(a.join(&f)).unwrap() == std::fs::read(b.join(&f)).unwrap(), "{} differs", f.display());
    }
}

#[test]
fn chunked_reading_gives_the_same_pack() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("data/sample.toml");
    let sample = root().join("data/sample");
    let whole = dir.path().join("whole");
    pack(&whole, &config, &[&sample], None, "1");
    // ~1.6 MB part files cut into 64 KiB chunks: about 25 chunks each, read on 2 threads, and on 1.
    for threads in ["2", "1"] {
        let chunked = dir.path().join(format!("chunked-{threads}"));
        pack(&chunked, &config, &[&sample], Some(64 * 1024), threads);
        assert_same_files(&whole, &chunked);
    }
}

#[test]
fn quoted_newlines_across_chunk_boundaries() {
    // Derived from tests/fixtures/attribution-amortized.csv: its rows repeated 300 times, every tags cell broken
    // over two lines inside its quotes, and a bad date every 100 rows. With 97-byte chunks most chunk starts guessed
    // from the next newline fall inside a quoted field and must be read again from the true boundary.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("tests/fixtures/attribution-amortized.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let mut out = String::from(header);
    out.push('\n');
    for i in 0..300 {
        for (j, row) in rows.iter().enumerate() {
            let mut r = row.replacen("\"\"\"", "\"\n\"\"", 1);
            if (i * rows.len() + j) % 100 == 7 {
                r = r.replacen("/2026,", "/20x6,", 1);
            }
            out.push_str(&r);
            out.push('\n');
        }
    }
    let input = dir.path().join("amortized.csv");
    std::fs::write(&input, out).unwrap();
    let config = root().join("tests/fixtures/attribution.toml");
    let whole = dir.path().join("whole");
    let printed = pack(&whole, &config, &[&input], None, "1");
    assert!(printed.contains("rows rejected"), "{printed}");
    let chunked = dir.path().join("chunked");
    pack(&chunked, &config, &[&input], Some(97), "2");
    assert_same_files(&whole, &chunked);
    // The rejects name true lines of the file: each points at a line holding the bad date.
    let file_lines: Vec<String> = std::fs::read_to_string(&input).unwrap().lines().map(String::from).collect();
    let rejects = std::fs::read_to_string(whole.join("2026-01/rejects.csv")).unwrap();
    let mut n = 0;
    for r in rejects.lines().skip(1) {
        let line: usize = r.split(',').nth(1).unwrap().parse().unwrap();
        assert!(file_lines[line - 1].contains("/20x6,"), "line {line}: {}", file_lines[line - 1]);
        n += 1;
    }
    assert_eq!(n, 39);
}

#[test]
fn parquet_row_groups_read_in_parallel_agree_with_csv() {
    // 150,000 rows: three row groups of at most 65,536 rows in the Parquet copy, each read into a part of its own.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ea-amortized.csv");
    let pq = dir.path().join("ea-amortized.parquet");
    for (path, format) in [(&csv, "csv"), (&pq, "parquet")] {
        crate::common::generate(path, &["--rows", "150000", "--months", "1", "--format", format, "--seed", "5"]);
    }
    let config = root().join("data/sample.toml");
    let (a, b) = (dir.path().join("csv"), dir.path().join("parquet"));
    pack(&a, &config, &[&csv], None, "1");
    pack(&b, &config, &[&pq], None, "2");
    for f in files_under(&a).iter().filter(|f| f.extension().is_some_and(|x| x == "csv") && !f.ends_with("rejects.csv"))
    {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{} differs", f.display());
    }
    // Rows keep their numbers: allocated.parquet of the Parquet input numbers its rows 1..=150000.
    let lines = crate::common::source_lines(&b.join("2026-08/allocated.parquet"));
    assert_eq!(lines, (1..=150_000).collect::<Vec<u64>>());
}

/// `chunks: FILE: N read, M read twice` from a test build's `MLSPEND_DEBUG_CHUNKS` line.
fn chunk_counts(input: &Path, chunk: u64) -> (u64, u64) {
    let mut cmd = mlspend();
    cmd.env("MLSPEND_CHUNK_BYTES", chunk.to_string()).env("MLSPEND_DEBUG_CHUNKS", "1");
    cmd.args(["check", "--quiet"]).arg(input);
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{e}");
    let line = e.lines().find(|l| l.starts_with("chunks: ")).unwrap_or_else(|| panic!("no chunk line: {e}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let n = |w: &str| w.parse::<u64>().unwrap();
    (n(words[words.len() - 5]), n(words[words.len() - 3]))
}

#[test]
fn no_chunk_is_read_twice_without_quoted_newlines() {
    // The bundled sample's August part (1.6 MB, LF) as it is, with CRLF and with CR-only line endings, in 64 KiB
    // chunks: every chunk's start, found after a line break, is where the chunk before ended.
    let dir = tempfile::tempdir().unwrap();
    let sample = root().join("data/sample/mlspend-ea-amortizedcost/20260801-20260831");
    let part = files_under(&sample).into_iter().find(|f| f.extension().is_some_and(|x| x == "csv")).unwrap();
    let lf = std::fs::read_to_string(sample.join(part)).unwrap();
    let crlf = lf.replace('\n', "\r\n");
    let cr = lf.replace('\n', "\r");
    for (name, text) in [("lf-amortized.csv", &lf), ("crlf-amortized.csv", &crlf), ("cr-amortized.csv", &cr)] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let (read, twice) = chunk_counts(&f, 64 * 1024);
        assert!(read >= 25, "{name}: {read} chunks");
        assert_eq!(twice, 0, "{name}");
    }
    // Tags broken over two lines inside their quotes: chunks that start inside a quoted field are read again.
    let quoted = lf.replace("\"\"\"", "\"\n\"\"");
    assert_ne!(quoted, lf);
    let f = dir.path().join("quoted-amortized.csv");
    std::fs::write(&f, quoted).unwrap();
    let (_, twice) = chunk_counts(&f, 64 * 1024);
    assert!(twice > 0, "the quoted newlines are found and read again");
}

/// `mlspend generate` of `rows` rows over two months, with extra options.
fn generate(out: &Path, rows: &str, extra: &[&str]) {
    crate::common::generate(out, &[&["--rows", rows, "--months", "2", "--seed", "11"], extra].concat());
}

#[test]
fn folders_of_parts_in_every_format_read_alike_on_one_thread_and_many() {
    // The same 30,000 rows as one file and as folders of 7 parts (CRLF CSV, .csv.gz, Parquet): every split gives
    // the chargeback of the whole, and a run over all the folders writes the same files on 1 thread and on 2, with
    // CSV parts cut into chunks as well (their tasks then finish out of order).
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("data/sample.toml");
    let whole = dir.path().join("whole-amortized.csv");
    generate(&whole, "30000", &[]);
    let one = dir.path().join("one");
    pack(&one, &config, &[&whole], None, "2");
    let mut folders = Vec::new();
    for (name, extra) in [
        ("crlf-parts", vec!["--crlf", "--parts", "7"]),
        ("gz-parts", vec!["--format", "csv.gz", "--parts", "7"]),
        ("parquet-parts", vec!["--format", "parquet", "--parts", "7"]),
    ] {
        let folder = dir.path().join(name).join("amortized");
        generate(&folder, "30000", &extra);
        assert_eq!(files_under(&folder).len(), 7, "{name}");
        let out = dir.path().join(format!("{name}-out"));
        pack(&out, &config, &[&folder], Some(256 * 1024), "2");
        for month in ["2026-08", "2026-09"] {
            let a = std::fs::read_to_string(one.join(month).join("chargeback.csv")).unwrap();
            let b = std::fs::read_to_string(out.join(month).join("chargeback.csv")).unwrap();
            assert_eq!(a, b, "{name} {month}");
        }
        folders.push(folder);
    }
    let inputs: Vec<&Path> = folders.iter().map(|f| f.as_path()).collect();
    let (a, b) = (dir.path().join("threads-1"), dir.path().join("threads-2"));
    pack(&a, &config, &inputs, Some(256 * 1024), "1");
    pack(&b, &config, &inputs, Some(256 * 1024), "2");
    assert_same_files(&a, &b);
    // Rows keep their file's line numbers in allocated.parquet: in each part, August's rows come first, numbered
    // from 2 in the CSV parts (after the header) and from 1 in the Parquet parts (row numbers), one after another.
    let allocated = a.join("2026-08/allocated.parquet");
    let lines = crate::common::source_lines(&allocated);
    let files = crate::common::string_columns(&allocated, &["x_SourceFile"]);
    assert_eq!(lines.len(), 3 * 15_000);
    let mut expected: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for (line, [file]) in lines.iter().zip(&files) {
        let next = expected.entry(file.as_str()).or_insert(if file.ends_with(".parquet") { 1 } else { 2 });
        assert_eq!(*line, *next, "{file}");
        *next += 1;
    }
    assert_eq!(expected.len(), 3 * 4, "August's 15,000 rows lie in the first 4 of 7 parts of each folder");
}

#[test]
fn an_error_in_a_later_chunk_names_the_files_line() {
    // A cost no row may carry on line 20,000 of a 30,000-row file cut into 64 KiB chunks (the line lies in a chunk
    // far from the first): the error names that line, as reading the file whole does.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big-amortized.csv");
    generate(&f, "30000", &["--crlf"]);
    let text = std::fs::read_to_string(&f).unwrap();
    let mut lines: Vec<String> = text.split("\r\n").map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let cost = header.iter().position(|h| *h == "CostInBillingCurrency").unwrap();
    // Rows without quoted fields before the cost column: the cost is the cost column'th comma-separated field.
    let row = &lines[19_999];
    let mut cells: Vec<&str> = row.split(',').collect();
    cells[cost] = "2E36";
    lines[19_999] = cells.join(",");
    std::fs::write(&f, lines.join("\r\n")).unwrap();
    for chunk in [None, Some(64 * 1024u64)] {
        let mut cmd = mlspend();
        if let Some(bytes) = chunk {
            cmd.env("MLSPEND_CHUNK_BYTES", bytes.to_string());
        }
        cmd.arg("run").arg("--config").arg(root().join("data/sample.toml")).arg("--out").arg(dir.path().join("r"));
        let (_, e, code) = run(cmd.arg(&f));
        assert_eq!(code, 1, "{e}");
        assert!(e.contains("big-amortized.csv: line 20000: column CostInBillingCurrency"), "{chunk:?}: {e}");
    }
}

#[test]
fn a_reading_task_that_panics_fails_the_run_and_nothing_hangs() {
    // A test build's MLSPEND_FAULT=panic-task panics in the second task (the second chunk here): the run ends with an
    // error naming the file, on any thread count, and leaves no pack behind.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big-amortized.csv");
    generate(&f, "3000", &[]);
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("r{threads}"));
        let mut cmd = mlspend();
        cmd.env("MLSPEND_FAULT", "panic-task").env("MLSPEND_CHUNK_BYTES", "65536");
        cmd.arg("run").arg("--config").arg(root().join("data/sample.toml")).arg("--out").arg(&out);
        let (_, e, code) = run(cmd.args(["--threads", threads]).arg(&f));
        assert_eq!(code, 1, "{e}");
        assert!(e.contains("big-amortized.csv") && e.contains("a reading thread panicked"), "{e}");
        assert!(!out.join("2026-08").exists(), "no pack");
    }
}

#[test]
fn generate_parts_split_all_the_rows_or_each_months_run() {
    let dir = tempfile::tempdir().unwrap();
    // Without --manifest: 10 rows of 3 months into 4 files, in order.
    let folder = dir.path().join("parts");
    generate(&folder, "10", &["--parts", "4"]);
    let files = files_under(&folder);
    assert_eq!(files.len(), 4);
    let rows: usize = files.iter().map(|f| std::fs::read_to_string(folder.join(f)).unwrap().lines().count() - 1).sum();
    assert_eq!(rows, 10);
    // More parts than rows is refused, naming the option.
    let mut cmd = mlspend();
    cmd.args(["generate", "--rows", "10", "--parts", "11", "--out"]).arg(dir.path().join("x"));
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("--parts"), "{e}");
}
