//! The scheduler's and analyst's side of the command line: one config file (flags beat it,
//! it beats the defaults, `config` prints it back), the shipped example, `--summary json`,
//! `--max-runtime`, completions, the man page, `--version`, `explain --run` and `diff`'s names.

mod util;

use util::{code, generated, repo, stderr, Dir};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The settings `config` prints, without its two comment lines (they name the file).
fn settings(output: &std::process::Output) -> String {
    assert_eq!(code(output), 0, "{}", stderr(output));
    stdout(output).lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
}

fn manifest(dir: &Dir, out: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.path(out).join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_config_file_holds_the_settings_flags_beat_it_and_config_prints_it_back() {
    let dir = Dir::new();
    dir.write("night.toml", "top-k = 3\nmode = \"blocked\"\nformats = [\"parquet\"]\nno-triads = true\n[weight]\ncomplementarity = 0.4\n");
    let from_file = settings(&dir.run(&["config", "--config", "night.toml"]));
    for line in ["top-k = 3", "mode = \"blocked\"", "formats = [\"parquet\"]", "no-triads = true", "[weight]\ncomplementarity = 0.4", "seed = 42"] {
        assert!(from_file.contains(line), "{line} in\n{from_file}");
    }
    let flag_beats_file = settings(&dir.run(&["config", "--config", "night.toml", "--top-k", "4"]));
    assert!(flag_beats_file.contains("top-k = 4") && !flag_beats_file.contains("top-k = 3"), "{flag_beats_file}");
    // Weights merge term by term: the file's stay, the command line's win.
    let weights = settings(&dir.run(&["config", "--config", "night.toml", "--weight", "complementarity=0.2", "--weight", "geography=0.3"]));
    assert!(weights.contains("[weight]\ncomplementarity = 0.2\ngeography = 0.3"), "{weights}");
    dir.write("two.toml", "[weight]\ngeography = 0.5\nvalues = 0.2\n");
    let merged = settings(&dir.run(&["config", "--config", "two.toml", "--weight", "complementarity=0.3"]));
    assert!(merged.contains("complementarity = 0.3\ngeography = 0.5\nvalues = 0.2"), "{merged}");

    // What `config` prints reads back as the same settings, and runs as the flags do.
    dir.write("printed.toml", &from_file);
    assert_eq!(settings(&dir.run(&["config", "--config", "printed.toml"])), from_file);
    let by_file = dir.run(&["run", "--config", "printed.toml", "--out", "a", "-q"]);
    assert_eq!(code(&by_file), 0, "{}", stderr(&by_file));
    let by_flags = dir.run(&["run", "--top-k", "3", "--mode", "blocked", "--formats", "parquet", "--no-triads", "--weight", "complementarity=0.4", "--out", "b", "-q"]);
    assert_eq!(code(&by_flags), 0, "{}", stderr(&by_flags));
    let (a, b) = (manifest(&dir, "a"), manifest(&dir, "b"));
    assert_eq!(a["run_id"], b["run_id"], "the file and the flags make the same run");
    assert_eq!(a["config"]["top_k"], 3);
    assert_eq!(a["config"]["settings"]["top-k"], 3, "the manifest records the settings as the file writes them");
    assert_eq!(a["config"]["settings"]["out"], "a");
    assert!(!dir.path("a/triads.csv").exists() && !dir.path("a/shortlist.csv").exists(), "no triads, Parquet only");
}

#[test]
fn a_bad_config_file_is_named_with_the_key_or_value_at_fault() {
    let dir = Dir::new();
    for (text, expected) in [
        ("top_k = 3\n", "night.toml: unknown key 'top_k'; did you mean 'top-k'?"),
        ("probes = 3\n", "did you mean 'probe'?"),
        ("top-k = \"ten\"\n", "night.toml: invalid value 'ten' for '--top-k <K>'"),
        ("no-triads = \"yes\"\n", "night.toml: no-triads: a switch: write true or false"),
        ("top-k = [1, 2]\n", "night.toml: top-k: takes one value, not a list"),
        ("top-k = 3\ntop-k = 4\n", "night.toml: not a valid TOML file"),
    ] {
        dir.write("night.toml", text);
        let output = dir.run(&["run", "--config", "night.toml", "--out", "out", "-q"]);
        assert_eq!(code(&output), 2, "{text}");
        assert!(stderr(&output).contains(expected), "{text}: {}", stderr(&output));
        assert!(!dir.path("out").exists(), "nothing written");
    }
    let missing = dir.run(&["config", "--config", "absent.toml"]);
    assert!(code(&missing) == 2 && stderr(&missing).contains("absent.toml: cannot read the config file"), "{}", stderr(&missing));
}

#[test]
fn the_shipped_example_config_and_deploy_command_lines_parse() {
    let dir = Dir::new();
    let example = repo("deploy/sstc-match.toml");
    let resolved = settings(&dir.run(&["config", "--config", example.to_str().unwrap()]));
    for line in ["keep-runs = 14", "max-runtime = \"3h\"", "sink = \"postgresql://sstc@%2Fvar%2Frun%2Fpostgresql/crm?schema=sstc_nightly\""] {
        assert!(resolved.contains(line), "{line} in\n{resolved}");
    }
    // The systemd unit's and the cron line's command, with `config` for `run`, parse.
    let unit = std::fs::read_to_string(repo("deploy/systemd/sstc-match.service")).unwrap();
    let cron = std::fs::read_to_string(repo("deploy/cron/sstc-match")).unwrap();
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("an ExecStart line").to_string();
    let cron_command = cron.lines().find(|l| !l.starts_with('#')).and_then(|l| l.split(" >> ").next()).and_then(|l| l.split("/usr/local/bin/").nth(1)).expect("the cron line's command").to_string();
    for command in [exec.split_whitespace().skip(1).collect::<Vec<_>>().join(" "), cron_command.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")] {
        let words: Vec<String> = command.replace("/etc/sstc-match/sstc-match.toml", example.to_str().unwrap()).replacen("run", "config", 1).split_whitespace().map(String::from).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let output = dir.run(&words);
        assert_eq!(code(&output), 0, "{command}: {}", stderr(&output));
    }
}

#[test]
fn summary_json_and_max_runtime_tell_a_monitor_how_the_night_ended() {
    let dir = Dir::new();
    let done = dir.run(&["run", "--out", "out", "-q", "--summary", "json"]);
    assert_eq!(code(&done), 0, "{}", stderr(&done));
    let line: serde_json::Value = serde_json::from_str(stdout(&done).trim()).expect("one JSON line");
    let published = manifest(&dir, "out");
    assert_eq!(line["run_id"], published["run_id"]);
    assert_eq!((line["exit_code"].as_u64(), line["exit_reason"].as_str()), (Some(0), Some("published")));
    assert_eq!(line["counts"]["shortlist_rows"], published["counts"]["shortlist_rows"]);
    assert!(line["timings"].as_array().is_some_and(|t| !t.is_empty()));

    let large = generated(&dir, 20_000, 3);
    let stopped = dir.run(&["run", "--profiles", large.to_str().unwrap(), "--out", "out", "-q", "--summary", "json", "--max-runtime", "1s"]);
    assert_eq!(code(&stopped), 2, "{}", stderr(&stopped));
    assert!(stderr(&stopped).contains("stopped after --max-runtime 1s; nothing was published"), "{}", stderr(&stopped));
    let line: serde_json::Value = serde_json::from_str(stdout(&stopped).trim()).expect("one JSON line");
    assert_eq!(line["exit_reason"], "stopped after --max-runtime 1s");
    assert_eq!(manifest(&dir, "out")["run_id"], published["run_id"], "last night's run stays");
    assert!(!dir.path("out.staging").exists());

    let failed = dir.run(&["run", "--profiles", "absent.csv", "--out", "out", "-q", "--summary", "json"]);
    let line: serde_json::Value = serde_json::from_str(stdout(&failed).trim()).expect("one JSON line");
    assert!(line["exit_code"] == 2 && line["exit_reason"].as_str().unwrap().contains("absent.csv"), "{line}");
}

#[test]
fn completions_man_page_and_version_come_from_the_same_flags() {
    let dir = Dir::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = dir.run(&["completions", shell]);
        assert_eq!(code(&output), 0, "{shell}");
        for flag in ["--top-k", "--sink", "--max-runtime", "--config"] {
            let text = stdout(&output);
            assert!(text.contains(flag) || text.contains(&format!("-l {}", &flag[2..])), "{shell} completes {flag}");
        }
    }
    let man = stdout(&dir.run(&["man"]));
    assert!(man.contains(".TH sstc-match 1") && man.contains("completions"), "{}", &man[..man.len().min(400)]);
    let version = stdout(&dir.run(&["--version"]));
    assert!(version.starts_with("sstc-match 0.") && version.contains("(commit "), "{version}");
    let help = stdout(&dir.run(&["run", "--help"]));
    for heading in ["Input:", "Matching:", "Rules:", "Output:", "Blocked mode:", "Global:", "Examples:"] {
        assert!(help.contains(heading), "run --help has {heading}");
    }
    // One name for the list length in every command (the old --k still read).
    for command in ["run", "explain", "evaluate", "tune", "sensitivity"] {
        assert!(stdout(&dir.run(&[command, "--help"])).contains("--top-k <K>"), "{command} --help names --top-k");
    }
}

#[test]
fn explain_with_a_run_uses_its_settings_and_diff_names_the_partners() {
    let dir = Dir::new();
    let a = dir.run(&["run", "--out", "a", "-q"]);
    let b = dir.run(&["run", "--out", "b", "-q", "--weight", "geography=0.3"]);
    assert_eq!((code(&a), code(&b)), (0, 0));
    let explained = dir.run(&["explain", "country-ken", "syn-0001377", "--run", "b"]);
    assert_eq!(code(&explained), 0, "{}", stderr(&explained));
    let text = stdout(&explained);
    let run_id = manifest(&dir, "b")["run_id"].as_str().unwrap().to_string();
    assert!(text.contains(&format!("settings:  run {run_id}")), "{text}");
    let geography = text.lines().find(|l| l.starts_with("geography")).unwrap();
    assert_eq!(geography.split_whitespace().nth(2), Some("0.3000"), "the run's weight: {geography}");
    let conflicting = dir.run(&["explain", "country-ken", "syn-0001377", "--run", "b", "--weight", "geography=0.1"]);
    assert_eq!(code(&conflicting), 2);

    let diff = stdout(&dir.run(&["diff", "a", "b"]));
    assert!(diff.contains("| partner | name | candidate | name | old rank | new rank |"), "{diff}");
    assert!(diff.contains("country-ind India"), "most changed lists name their partner:\n{diff}");
    assert!(!diff.contains("config.settings"), "the settings' copy is not a second change:\n{diff}");
}
