//! A sharded night on a real Slurm cluster: Debian's `slurm-wlm` and `munge` (installed by
//! `.ci/run`), a controller and a node on localhost started here with a generated
//! `slurm.conf`, and the project's own `deploy/slurm/submit.sh`: 4 shards as a job array on
//! the node's CPUs, the merge held by `--dependency=afterok`. The merged run equals a
//! single-machine run byte for byte. Then a shard is lost: the merge job fails and publishes
//! nothing, the shard is rerun alone (`--array=2`), and the merge publishes the same night.
//! The cluster is stopped afterwards (also when the test fails).

mod util;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use util::{assert_same_run, ok, repo, Dir};

/// A single-node Slurm cluster in a temporary directory, stopped when dropped.
struct Cluster {
    dir: Dir,
}

impl Cluster {
    /// Starts munged, slurmctld and slurmd on localhost, and waits for the node to be idle.
    fn start() -> Cluster {
        for daemon in ["munged", "slurmctld", "slurmd"] {
            assert!(Path::new("/usr/sbin").join(daemon).exists(), "/usr/sbin/{daemon} is missing: install Debian's slurm-wlm and munge (.ci/run does)");
        }
        let cluster = Cluster { dir: Dir::new() };
        let path = |name: &str| cluster.dir.path(name).display().to_string();
        for dir in ["state", "spool"] {
            std::fs::create_dir(cluster.dir.path(dir)).unwrap();
        }
        let key: Vec<u8> = (0..1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        std::fs::write(cluster.dir.path("munge.key"), key).unwrap();
        std::fs::set_permissions(cluster.dir.path("munge.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let munged = format!("--socket={}", path("munge.socket"));
        let key_file = format!("--key-file={}", path("munge.key"));
        let (log, pid, seed) = (format!("--log-file={}", path("munged.log")), format!("--pid-file={}", path("munged.pid")), format!("--seed-file={}", path("munged.seed")));
        succeeded(&cluster.command("/usr/sbin/munged", &["--force", &munged, &key_file, &log, &pid, &seed]));

        // The node as slurmd sees it (its name and CPUs), reachable on the loopback.
        let node = String::from_utf8(cluster.command("/usr/sbin/slurmd", &["-C"]).stdout).unwrap();
        let node = node.lines().next().expect("slurmd -C prints the node").to_string();
        let name = node.split_whitespace().next().and_then(|w| w.strip_prefix("NodeName=")).expect("NodeName=").to_string();
        let cpus = node.split_whitespace().find_map(|w| w.strip_prefix("CPUs=")).expect("CPUs=").to_string();
        let conf = format!(
            "ClusterName=sstc\nSlurmctldHost={name}(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n\
             AuthType=auth/munge\nAuthInfo=socket={socket}\nCredType=cred/munge\n\
             StateSaveLocation={state}\nSlurmdSpoolDir={spool}\nSlurmctldPidFile={ctld_pid}\nSlurmdPidFile={d_pid}\n\
             SlurmctldPort={ctld_port}\nSlurmdPort={d_port}\n\
             SlurmctldLogFile={ctld_log}\nSlurmdLogFile={d_log}\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\nSchedulerType=sched/builtin\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\nMpiDefault=none\nReturnToService=2\n\
             NodeName={name} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=main Nodes={name} Default=YES MaxTime=INFINITE State=UP\n",
            socket = path("munge.socket"),
            state = path("state"),
            spool = path("spool"),
            ctld_pid = path("slurmctld.pid"),
            d_pid = path("slurmd.pid"),
            ctld_port = free_port(),
            d_port = free_port(),
            ctld_log = path("slurmctld.log"),
            d_log = path("slurmd.log"),
        );
        std::fs::write(cluster.dir.path("slurm.conf"), conf).unwrap();
        succeeded(&cluster.command("/usr/sbin/slurmctld", &["-i"]));
        succeeded(&cluster.command("/usr/sbin/slurmd", &[]));
        cluster.wait_until("the node is idle", Duration::from_secs(60), || {
            let sinfo = cluster.command("sinfo", &["-h", "-o", "%t"]);
            String::from_utf8_lossy(&sinfo.stdout).trim() == "idle"
        });
        cluster
    }

    /// Runs a program against this cluster (its `slurm.conf`), in its directory.
    fn command(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("SLURM_CONF", self.dir.path("slurm.conf"))
            .env("SSTC_MATCH", env!("CARGO_BIN_EXE_sstc-match"))
            .current_dir(self.dir.root.path())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    /// The state of a job (COMPLETED, FAILED, ...) once it has ended.
    fn finished(&self, job: &str) -> String {
        let mut state = String::new();
        self.wait_until(&format!("job {job} ends"), Duration::from_secs(600), || {
            let show = self.command("scontrol", &["show", "job", "-o", job]);
            let text = String::from_utf8_lossy(&show.stdout);
            state = text.split_whitespace().find_map(|w| w.strip_prefix("JobState=")).unwrap_or_default().to_string();
            !["", "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED"].contains(&state.as_str())
        });
        state
    }

    /// Polls `done` every 200 ms, failing the test (with the daemons' logs) after `limit`.
    fn wait_until(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < limit, "waited {limit:?} for {what}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The daemons' and jobs' logs, for a failure message.
    fn logs(&self) -> String {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.root.path()).unwrap().map(|e| e.unwrap().path()).collect();
        names.extend(std::fs::read_dir(self.dir.path("night.shards")).into_iter().flatten().map(|e| e.unwrap().path()));
        names.sort();
        let tail = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default().lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        names.iter().filter(|p| p.extension().is_some_and(|e| e == "log")).map(|p| format!("== {}\n{}", p.display(), tail(p))).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.command("scontrol", &["shutdown"]);
        std::thread::sleep(Duration::from_secs(1));
        for pid_file in ["slurmd.pid", "slurmctld.pid", "munged.pid"] {
            if let Ok(pid) = std::fs::read_to_string(self.dir.path(pid_file)) {
                self.command("kill", &[pid.trim()]);
            }
        }
    }
}

/// A TCP port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn succeeded(output: &Output) {
    assert!(output.status.success(), "{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_night_of_four_shards_on_slurm_merges_into_the_single_machine_run() {
    let cluster = Cluster::start();
    let dir = &cluster.dir;
    ok(dir, &["run", "--out", "single", "--quiet"]);
    let submit = repo("deploy/slurm/submit.sh").display().to_string();
    let submitted = cluster.command(&submit, &["4", "night"]);
    succeeded(&submitted);
    let ids = String::from_utf8(submitted.stdout).unwrap();
    let (array, merge) = ids.trim().split_once(' ').expect("submit.sh prints the array's and the merge's job ids");
    assert_eq!(cluster.finished(merge), "COMPLETED", "{}", cluster.logs());
    for task in 0..4 {
        assert_eq!(cluster.finished(&format!("{array}_{task}")), "COMPLETED");
        assert!(dir.path(&format!("night.shards/{task}/shard.json")).exists());
    }
    assert_same_run(&dir.path("single"), &dir.path("night"));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("night/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["shards"].as_array().map(Vec::len), Some(4));

    // Shard 2 is lost: the merge job fails and the night stays as it was; rerun alone, it
    // completes the set.
    std::fs::rename(dir.path("night.shards/2"), dir.path("lost")).unwrap();
    let scripts = repo("deploy/slurm");
    let sbatch = |args: &[&str]| {
        let output = cluster.command("sbatch", &[&["--parsable"], args].concat());
        succeeded(&output);
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let merge_script = scripts.join("merge.sbatch").display().to_string();
    let refused = sbatch(&["--output=refused.log", &merge_script, "4", "night.shards", "night"]);
    assert_eq!(cluster.finished(&refused), "FAILED");
    assert!(std::fs::read_to_string(dir.path("refused.log")).unwrap().contains("night.shards/2: not a finished shard"), "{}", cluster.logs());
    assert_same_run(&dir.path("single"), &dir.path("night"));
    let rerun = sbatch(&["--array=2", "--output=night.shards/shard-%a.log", &scripts.join("shard.sbatch").display().to_string(), "4", "night.shards"]);
    let merged = sbatch(&[&format!("--dependency=afterok:{rerun}"), "--output=merged-again.log", &merge_script, "4", "night.shards", "night-again"]);
    assert_eq!(cluster.finished(&merged), "COMPLETED", "{}", cluster.logs());
    assert_same_run(&dir.path("single"), &dir.path("night-again"));
}
