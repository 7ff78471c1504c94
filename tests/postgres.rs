//! PostgreSQL as the profile source and the results sink, against a real server: each test
//! starts a throwaway cluster of Debian's `postgresql` package (`initdb` in a temporary
//! directory, as an unprivileged user when the tests run as root, since the server refuses
//! root; password logins; a Unix socket in that directory) and stops and removes it at the
//! end. Nothing is mocked. `.ci/run` installs the package.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use util::{assert_same_run, code, generated, repo, stderr, Csv, Dir};

const USER: &str = "sstc";
const PASSWORD: &str = "nightly-s3cret";

/// A PostgreSQL server of its own, stopped and deleted on drop.
struct Server {
    dir: Dir,
    bin: PathBuf,
    /// The user the server runs as, when the tests run as root.
    run_as: Option<&'static str>,
}

impl Server {
    fn start() -> Server {
        let bin = postgres_bin();
        let dir = Dir::new();
        let run_as = rustix::process::geteuid().is_root().then_some("nobody");
        std::fs::write(dir.path("password"), PASSWORD).unwrap();
        if run_as.is_some() {
            // The server's user owns its directory; root (the tests) can still read and remove it.
            for path in [dir.root.path().to_path_buf(), dir.path("password")] {
                std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
            }
        }
        let server = Server { dir, bin, run_as };
        let data = server.dir.path("data");
        let initdb = server.tool("initdb", &["-D", path_str(&data), "-U", USER, "--auth=scram-sha-256", "--pwfile", path_str(&server.dir.path("password")), "-E", "UTF8", "--locale=C"]);
        assert!(initdb.status.success(), "initdb: {}", stderr(&initdb));
        let options = format!("-k {} -c listen_addresses='' -c fsync=off", server.socket());
        let start = server.tool("pg_ctl", &["-D", path_str(&data), "-l", path_str(&server.dir.path("log")), "-o", &options, "-w", "start"]);
        assert!(start.status.success(), "pg_ctl start: {} {}", stderr(&start), std::fs::read_to_string(server.dir.path("log")).unwrap_or_default());
        server
    }

    /// Runs one of the server's programs, as the server's user.
    fn tool(&self, name: &str, args: &[&str]) -> Output {
        let program = self.bin.join(name);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.args(args).current_dir(self.dir.root.path()).output().unwrap_or_else(|e| panic!("{}: {e}", program.display()))
    }

    fn socket(&self) -> String {
        self.dir.root.path().display().to_string()
    }

    /// A URL to the `postgres` database over the socket, with the engine's parameters.
    fn url(&self, parameters: &str) -> String {
        let host = self.socket().replace('/', "%2F");
        format!("postgresql://{USER}@{host}/postgres?{parameters}")
    }

    /// Runs SQL through psql; returns its unaligned output.
    fn sql(&self, sql: &str) -> String {
        let output = self.psql().args(["-c", sql]).output().expect("psql runs");
        assert!(output.status.success(), "psql {sql}: {}", stderr(&output));
        String::from_utf8(output.stdout).unwrap().trim_end().to_string()
    }

    fn psql(&self) -> Command {
        let mut command = Command::new(self.bin.join("psql"));
        command.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", &self.socket(), "-U", USER, "-d", "postgres"]).env("PGPASSWORD", PASSWORD);
        command
    }

    /// `sstc-match ARGS` in the test's directory, the password in PGPASSWORD.
    fn engine(&self, args: &[&str]) -> Output {
        self.engine_with(args, &[("PGPASSWORD", PASSWORD)])
    }

    fn engine_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sstc-match"));
        command.args(args).current_dir(self.dir.root.path()).env_remove("SSTC_LOG").env_remove("PGPASSWORD");
        command.envs(env.iter().copied()).output().expect("the binary runs")
    }

    /// Loads the shipped default profiles into `partners_text` (every column text, as the
    /// file has it) and `partners` (typed: numbers, booleans, the theme lists as text arrays).
    fn load_default_profiles(&self) {
        let csv = repo("data/profiles/default.csv");
        let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_string();
        let columns: Vec<&str> = header.split(',').collect();
        let raw = columns.iter().map(|c| format!("{c} text")).collect::<Vec<_>>().join(", ");
        let typed = columns
            .iter()
            .map(|&c| match c {
                "lat" | "lon" => format!("nullif({c}, '')::double precision AS {c}"),
                "population" | "capacity" => format!("nullif({c}, '')::bigint AS {c}"),
                "active" | "synthetic" => format!("nullif({c}, '')::boolean AS {c}"),
                "offers" | "needs" | "sectors" => format!("string_to_array(nullif({c}, ''), ';') AS {c}"),
                _ => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.sql(&format!("CREATE TABLE raw ({raw})"));
        let copy = self.psql().args(["-c", &format!("\\copy raw FROM '{}' WITH (FORMAT csv, HEADER true)", csv.display())]).output().unwrap();
        assert!(copy.status.success(), "{}", stderr(&copy));
        self.sql(&format!("ALTER TABLE raw RENAME TO partners_text; CREATE TABLE partners AS SELECT {typed} FROM partners_text"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.tool("pg_ctl", &["-D", path_str(&self.dir.path("data")), "-m", "immediate", "-w", "stop"]);
    }
}

/// The newest installed PostgreSQL's programs (Debian keeps them out of PATH).
fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|bin| bin.join("initdb").exists()).collect())
        .unwrap_or_default();
    found.sort_by_key(|bin| bin.parent().and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()));
    found.pop().expect("PostgreSQL's server programs are needed for this test: apt-get install postgresql (.ci/run does)")
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn profiles_from_a_table_or_a_query_give_the_files_run() {
    let server = Server::start();
    server.load_default_profiles();
    let run = |profiles: Option<String>, out: &str| {
        let mut args = vec!["run", "--out", out, "-q"];
        if let Some(profiles) = &profiles {
            args.extend(["--profiles", profiles.as_str()]);
        }
        let output = server.engine(&args);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        manifest(&server.dir.path(out))
    };
    let file = run(None, "file");
    let text = run(Some(server.url("table=public.partners_text")), "text");
    let typed = run(Some(server.url("table=partners")), "typed");
    let query = run(Some(server.url("query=SELECT%20*%20FROM%20partners%20WHERE%20true%20--%20every%20row")), "query");
    server.sql(r#"CREATE SCHEMA "CRM.export"; CREATE VIEW "CRM.export"."Partners" AS SELECT * FROM partners_text"#);
    let quoted = run(Some(server.url("table=%22CRM.export%22.%22Partners%22")), "quoted");
    assert_eq!(quoted["run_id"], file["run_id"], "a view of the text table, named with quotes");
    // Text columns hold the file's cells: the same content digest and run id, every file byte
    // for byte. Typed columns print some numbers otherwise (a longitude 19.0 is 19), so the
    // content digest and run id differ while every list is the same.
    assert_eq!((&text["run_id"], &text["input"]["content_digest"]), (&file["run_id"], &file["input"]["content_digest"]));
    assert_ne!(typed["run_id"], file["run_id"]);
    assert_eq!(typed["run_id"], query["run_id"]);
    let read = |dir: &str, file: &str, run: &serde_json::Value| {
        String::from_utf8(std::fs::read(server.dir.path(dir).join(file)).unwrap()).unwrap().replace(run["run_id"].as_str().unwrap(), "RUN")
    };
    for name in ["shortlist.csv", "resources.csv", "triads.csv", "rejects.csv", "clusters.csv"] {
        let expected = read("file", name, &file);
        for (dir, run) in [("text", &text), ("typed", &typed), ("query", &query)] {
            assert!(read(dir, name, run) == expected, "{name}: the {dir} table's run differs from the file's");
        }
    }
    assert_eq!(typed["config"]["matching"]["profiles"], server.url("table=partners").as_str());
}

#[test]
fn a_bad_row_is_rejected_by_its_id_and_a_missing_table_or_column_is_named() {
    let server = Server::start();
    server.sql(
        r#"CREATE TABLE p (id text, name text, actor_type text, country_iso3 text, city text, offers text[], needs jsonb);
         INSERT INTO p VALUES ('a', 'Alpha', 'local_authority', 'SEN', 'Dakar', '{urban_development}', '["informal_economy"]'),
                              ('b', 'Beta', 'sse_unit', 'SEN', 'Thiès', '{informal_economy}', '["urban_development"]'),
                              ('c', 'Gamma', 'workers_organisation', 'CIV', 'Abidjan', '{labour_rights}', '"informal_economy"'),
                              ('d', 'Delta', 'not_a_type', 'KEN', NULL, NULL, NULL);
         CREATE TABLE no_country (id text, name text, actor_type text);"#,
    );
    let output = server.engine(&["run", "--profiles", &server.url("table=p"), "--out", "out", "-q"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let rejects = Csv::read(&server.dir.path("out/rejects.csv"));
    assert_eq!(rejects.len(), 1);
    assert_eq!((rejects.get(0, "row"), rejects.get(0, "value"), rejects.get(0, "column")), ("4".into(), "not_a_type".into(), "actor_type".into()));
    assert_eq!(rejects.get(0, "file"), server.url("table=p"));
    assert_eq!(Csv::read(&server.dir.path("out/shortlist.csv")).len(), 6, "a, b and c matched");

    let missing_column = server.engine(&["run", "--profiles", &server.url("table=no_country"), "--out", "out", "-q"]);
    assert_eq!(code(&missing_column), 2);
    assert!(stderr(&missing_column).contains("missing required column(s) country_iso3"), "{}", stderr(&missing_column));
    let missing_table = server.engine(&["run", "--profiles", &server.url("table=partnerz"), "--out", "out", "-q"]);
    assert_eq!(code(&missing_table), 2);
    assert!(stderr(&missing_table).contains(r#"relation "partnerz" does not exist"#), "{}", stderr(&missing_table));
    let neither = server.engine(&["run", "--profiles", &server.url(""), "--out", "out", "-q"]);
    assert!(code(&neither) == 2 && stderr(&neither).contains("table=NAME or query=SELECT"), "{}", stderr(&neither));
    assert_eq!(Csv::read(&server.dir.path("out/rejects.csv")).len(), 1, "the failed runs left the last run as it was");
}

#[test]
fn an_unreachable_server_or_a_refused_login_exits_2_naming_host_port_and_database_never_the_password() {
    let server = Server::start();
    server.load_default_profiles();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = server.engine(&["run", "--profiles", &format!("postgresql://{USER}@127.0.0.1:{closed}/registry?table=partners"), "--out", "out", "-q"]);
    assert_eq!(code(&unreachable), 2);
    let message = stderr(&unreachable);
    assert!(message.contains(&format!("cannot connect to PostgreSQL at host 127.0.0.1, port {closed}, database registry")), "{message}");

    let wrong = server.url("table=partners").replace(&format!("{USER}@"), &format!("{USER}:wrong-pass@"));
    let refused = server.engine_with(&["run", "--profiles", &wrong, "--out", "out", "-q", "--log-format", "json", "-v"], &[]);
    assert_eq!(code(&refused), 2);
    let message = stderr(&refused);
    assert!(message.contains("password authentication failed") && message.contains(&format!("host {}, port 5432, database postgres", server.socket())), "{message}");
    assert!(!message.contains("wrong-pass"), "{message}");
    assert!(!server.dir.path("out").exists(), "nothing published");

    // The password from the password file, as libpq reads it (0600, else ignored).
    let passfile = server.dir.write("pgpass", &format!("# the nightly job\nlocalhost:*:postgres:{USER}:{PASSWORD}\n"));
    std::fs::set_permissions(&passfile, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let ok = server.engine_with(&["run", "--profiles", &server.url("table=partners"), "--out", "out", "-q"], &[("PGPASSFILE", path_str(&passfile))]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    let with_password = server.url("table=partners").replace(&format!("{USER}@"), &format!("{USER}:{PASSWORD}@"));
    let ok = server.engine_with(&["run", "--profiles", &with_password, "--out", "out", "-q"], &[]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    let written = std::fs::read_to_string(server.dir.path("out/manifest.json")).unwrap();
    assert!(!written.contains(PASSWORD) && written.contains(&format!("{USER}:***@")), "the manifest redacts the password");
}

/// A cell as a value: a number by its float (PostgreSQL prints `0` and `4.8877395e-05` where
/// the file has `0.0` and `0.000048877395`), a boolean by its word (`t` in PostgreSQL's CSV).
fn same_value(cell: &str) -> String {
    match (cell, cell.parse::<f32>()) {
        ("t", _) => "true".into(),
        ("f", _) => "false".into(),
        (_, Ok(number)) => format!("{:x}", number.to_bits()),
        _ => cell.to_string(),
    }
}

/// The `runs` table's run ids, newest first.
#[test]
fn shards_read_the_profiles_from_a_table_and_their_merge_publishes_the_night_into_the_sink() {
    let server = Server::start();
    server.load_default_profiles();
    let (profiles, sink) = (server.url("table=partners"), server.url("schema=nightly"));
    let run = |args: &[&str]| {
        let output = server.engine(&[args, &["--profiles", &profiles, "--sink", &sink, "-q"]].concat());
        assert_eq!(code(&output), 0, "{args:?}: {}", stderr(&output));
    };
    run(&["run", "--out", "single"]);
    let rows = server.sql("SELECT count(*) FROM nightly.shortlist");
    for i in 0..3 {
        run(&["run", "--out", &format!("s{i}"), "--shard", &format!("{i}/3")]);
    }
    let merged = server.engine(&["merge", "s0", "s1", "s2", "--out", "merged", "-q"]);
    assert_eq!(code(&merged), 0, "{}", stderr(&merged));
    assert_same_run(&server.dir.path("single"), &server.dir.path("merged"));
    // The merge published the same night into the sink (replacing the single run's rows).
    let run_id = manifest(&server.dir.path("merged"))["run_id"].as_str().unwrap().to_string();
    assert_eq!(published(&server, "nightly"), [run_id.as_str()]);
    assert_eq!(server.sql("SELECT count(*) FROM nightly.latest_shortlist"), rows);
    assert_eq!(server.sql("SELECT count(jsonb_array_length(manifest->'shards')) FROM nightly.runs"), "1");
}

fn published(server: &Server, schema: &str) -> Vec<String> {
    let ids = server.sql(&format!("SELECT run_id FROM {schema}.runs ORDER BY published_at DESC"));
    ids.lines().map(String::from).collect()
}

#[test]
fn the_sink_publishes_each_night_whole_keeps_the_last_n_and_its_rows_are_the_files() {
    let server = Server::start();
    let sink = server.url("schema=nightly");
    let night = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "--out", out, "-q", "--sink", &sink, "--keep-runs", "2"];
        args.extend_from_slice(extra);
        let output = server.engine(&args);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        manifest(&server.dir.path(out))["run_id"].as_str().unwrap().to_string()
    };
    let first = night("one", &[]);
    assert_eq!(published(&server, "nightly"), [first.as_str()]);
    assert_eq!(server.sql("SELECT version FROM nightly.sstc_schema"), "1");
    assert_eq!(server.sql(&format!("SELECT manifest->>'run_id' FROM nightly.runs WHERE run_id = '{first}'")), first);

    // The latest rows are the files' rows, value for value (a score as the same float; a
    // boolean is t/f in PostgreSQL's CSV).
    let same_rows = |run: &str, table: &str| {
        let exported = server.dir.path(&format!("{table}.csv"));
        let copy = format!("\\copy (SELECT * FROM nightly.latest_{table}) TO '{}' WITH (FORMAT csv, HEADER true)", exported.display());
        let output = server.psql().args(["-c", &copy]).output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let (database, file) = (Csv::read(&exported), Csv::read(&server.dir.path(&format!("{run}/{table}.csv"))));
        let columns = file.table.column_names().to_vec();
        let rows = |csv: &Csv| {
            let mut rows: Vec<Vec<String>> = (0..csv.len())
                .map(|r| columns.iter().map(|c| same_value(&csv.get(r, c))).collect())
                .collect();
            rows.sort();
            rows
        };
        assert!(file.len() > 0, "{table} has rows");
        assert_eq!(rows(&database), rows(&file), "{table}: the database's rows are the file's");
    };
    for table in ["shortlist", "resources", "triads", "clusters"] {
        same_rows("one", table);
    }
    assert_eq!(server.sql(&format!("SELECT count(*) FROM nightly.rejects WHERE run_id = '{first}'")), "0");

    // The same night again replaces its rows; other weights are another run; the third run
    // pushes the first out (--keep-runs 2), rows and all.
    assert_eq!(night("one", &[]), first);
    assert_eq!(published(&server, "nightly"), [first.as_str()]);
    let rows = server.sql("SELECT count(*) FROM nightly.shortlist");
    let second = night("two", &["--weight", "geography=0.4", "--previous", "one"]);
    // What changed since the night in "one" is in the sink too.
    same_rows("two", "changes");
    let third = night("three", &["--weight", "geography=0.5"]);
    assert_eq!(published(&server, "nightly"), [third.as_str(), second.as_str()]);
    assert_eq!(server.sql(&format!("SELECT count(*) FROM nightly.shortlist WHERE run_id = '{first}'")), "0");
    assert_eq!(server.sql("SELECT count(DISTINCT run_id) FROM nightly.shortlist"), "2");
    assert_eq!(server.sql(&format!("SELECT count(*) FROM nightly.latest_shortlist WHERE run_id = '{third}'")), rows);
}

#[test]
fn a_second_job_on_the_schema_and_a_schema_of_foreign_tables_are_refused() {
    let server = Server::start();
    // Another job holds the schema's lock.
    let mut holder = server.psql().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut to_holder = holder.stdin.take().unwrap();
    writeln!(to_holder, "SELECT 'locked' FROM (SELECT pg_advisory_lock(hashtextextended('sstc-match sink nightly', 0))) AS l;").unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    let busy = server.engine(&["run", "--out", "out", "-q", "--sink", &server.url("schema=nightly")]);
    assert_eq!(code(&busy), 2);
    assert!(stderr(&busy).contains("another sstc-match job is writing schema 'nightly'"), "{}", stderr(&busy));
    assert!(!server.dir.path("out").exists(), "refused before any work");
    drop(to_holder);
    holder.wait().unwrap();
    let free = server.engine(&["run", "--out", "out", "-q", "--sink", &server.url("schema=nightly")]);
    assert_eq!(code(&free), 0, "{}", stderr(&free));

    server.sql("CREATE SCHEMA crm; CREATE TABLE crm.contacts (id text); INSERT INTO crm.contacts VALUES ('kept')");
    let foreign = server.engine(&["run", "--out", "out2", "-q", "--sink", &server.url("schema=crm")]);
    assert_eq!(code(&foreign), 2);
    assert!(stderr(&foreign).contains("schema 'crm' holds tables this engine did not create (contacts)"), "{}", stderr(&foreign));
    assert_eq!(server.sql("SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'crm'"), "contacts");
    assert_eq!(server.sql("SELECT id FROM crm.contacts"), "kept");
}

#[test]
fn a_job_killed_during_copy_leaves_the_previous_night_readable_and_the_next_night_publishes() {
    let server = Server::start();
    let sink = server.url("schema=nightly");
    let first = server.engine(&["run", "--out", "out", "-q", "--sink", &sink]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let last_night = published(&server, "nightly");
    let rows = server.sql("SELECT count(*) FROM nightly.latest_shortlist");

    let large = generated(&server.dir, 30_000, 7);
    let mut job = Command::new(env!("CARGO_BIN_EXE_sstc-match"))
        .args(["run", "--profiles", path_str(&large), "--out", "out", "-q", "--formats", "csv", "--sink", &sink])
        .current_dir(server.dir.root.path())
        .env("PGPASSWORD", PASSWORD)
        .spawn()
        .unwrap();
    let copying = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sstc-match' AND query LIKE 'COPY %shortlist%'";
    let deadline = Instant::now() + Duration::from_secs(300);
    while server.sql(copying) == "0" {
        assert!(job.try_wait().unwrap().is_none(), "the job finished before it was seen copying");
        assert!(Instant::now() < deadline, "the job never copied");
        std::thread::sleep(Duration::from_millis(10));
    }
    job.kill().unwrap();
    job.wait().unwrap();
    // The server ends the killed job's session (and its lock) when it reads the closed socket.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") != "0" {
        assert!(Instant::now() < deadline, "the killed job's lock was never released");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(published(&server, "nightly"), last_night, "the killed night is not published");
    assert_eq!(server.sql("SELECT count(*) FROM nightly.latest_shortlist"), rows);
    assert_eq!(server.sql("SELECT count(DISTINCT run_id) FROM nightly.shortlist"), "1", "no half night in the table");

    let next = server.engine(&["run", "--profiles", path_str(&large), "--out", "out", "-q", "--formats", "csv", "--sink", &sink]);
    assert_eq!(code(&next), 0, "{}", stderr(&next));
    let tonight = manifest(&server.dir.path("out"))["run_id"].as_str().unwrap().to_string();
    assert_eq!(published(&server, "nightly")[0], tonight);
    assert_eq!(server.sql("SELECT count(*) FROM nightly.latest_shortlist"), Csv::read(&server.dir.path("out/shortlist.csv")).len().to_string());
}

#[test]
fn the_systemd_units_command_runs_a_night_from_a_table_into_a_schema_with_the_shipped_config() {
    let server = Server::start();
    server.load_default_profiles();
    let shipped = std::fs::read_to_string(repo("deploy/sstc-match.toml")).unwrap();
    let base = server.url("").trim_end_matches('?').to_string();
    let config = shipped
        .replace("postgresql://sstc@%2Fvar%2Frun%2Fpostgresql/crm", &base)
        .replace("/var/lib/sstc-match/nightly", path_str(&server.dir.path("nightly")));
    assert_ne!(config, shipped, "the example names a database and a directory");
    let config_path = server.dir.write("sstc-match.toml", &config);
    let unit = std::fs::read_to_string(repo("deploy/systemd/sstc-match.service")).unwrap();
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    let words: Vec<String> = exec.replace("/etc/sstc-match/sstc-match.toml", path_str(&config_path)).split_whitespace().skip(1).map(String::from).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let night = server.engine(&words);
    assert_eq!(code(&night), 0, "{}", stderr(&night));
    let summary: serde_json::Value = serde_json::from_slice(&night.stdout).expect("the summary line");
    let run = manifest(&server.dir.path("nightly"));
    assert_eq!(summary["run_id"], run["run_id"]);
    assert_eq!(run["config"]["settings"]["keep-runs"], 14);
    assert_eq!(published(&server, "sstc_nightly"), [run["run_id"].as_str().unwrap()]);
    let rows = server.sql("SELECT count(*) FROM sstc_nightly.latest_shortlist");
    assert_eq!(rows, run["counts"]["shortlist_rows"].to_string());
}

#[test]
fn a_sink_that_refuses_the_night_leaves_the_files_of_last_night_too() {
    let server = Server::start();
    let sink = server.url("schema=nightly");
    let first = server.engine(&["run", "--out", "out", "-q", "--sink", &sink]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let last_night = manifest(&server.dir.path("out"))["run_id"].clone();
    server.sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the registry is frozen tonight'; END $$;
         CREATE TRIGGER frozen BEFORE INSERT ON nightly.runs FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    let refused = server.engine(&["run", "--out", "out", "-q", "--sink", &sink, "--weight", "geography=0.3"]);
    assert_eq!(code(&refused), 2);
    assert!(stderr(&refused).contains("the registry is frozen tonight"), "{}", stderr(&refused));
    assert_eq!(manifest(&server.dir.path("out"))["run_id"], last_night, "the files stay last night's");
    assert_eq!(published(&server, "nightly"), [last_night.as_str().unwrap()]);
    assert_eq!(server.sql("SELECT count(DISTINCT run_id) FROM nightly.shortlist"), "1");
}
