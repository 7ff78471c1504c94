//! The Kubernetes manifests of `deploy/k8s/`: they parse, the shards are an Indexed Job
//! whose completion index reaches `--shard` (through the downward API, with completions,
//! parallelism and the shard count equal, a failed pod retried with its own index), and the
//! merge Job lists every shard. Then every pod's command line is run here as Kubernetes
//! would expand it (the volume a temporary directory), and the merged night equals a
//! single run of the same flags byte for byte.

mod util;

use std::collections::BTreeMap;

use util::{assert_same_run, ok, repo, Dir};
use yaml_rust2::{Yaml, YamlLoader};

/// The one document of a manifest.
fn manifest(name: &str) -> Yaml {
    let text = std::fs::read_to_string(repo(&format!("deploy/k8s/{name}"))).unwrap();
    let mut documents = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(documents.len(), 1, "{name}: one document");
    documents.remove(0)
}

/// The container of a Job's pod template.
fn container(job: &Yaml) -> &Yaml {
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let containers = pod["containers"].as_vec().expect("containers");
    assert_eq!(containers.len(), 1);
    &containers[0]
}

/// A container's command line with `$(NAME)` expanded from `env`, and `/night` (the volume)
/// moved to `volume`.
fn command_line(container: &Yaml, env: &BTreeMap<&str, String>, volume: &str) -> Vec<String> {
    let words = container["command"].as_vec().unwrap().iter().chain(container["args"].as_vec().unwrap());
    words
        .map(|w| {
            let mut word = w.as_str().expect("a string").to_string();
            for (name, value) in env {
                word = word.replace(&format!("$({name})"), value);
            }
            assert!(!word.contains("$("), "{word}: an unexpanded variable");
            word.replace("/night", volume)
        })
        .collect()
}

#[test]
fn the_indexed_job_wires_its_completion_index_to_shard_and_the_merge_publishes_the_single_run() {
    let shards = manifest("shards-job.yaml");
    let spec = &shards["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let count = spec["completions"].as_i64().expect("completions");
    assert_eq!(spec["parallelism"].as_i64(), Some(count));
    assert!(spec["backoffLimitPerIndex"].as_i64().is_some_and(|n| n >= 1), "a failed pod is retried with its index");
    assert_eq!(spec["maxFailedIndexes"].as_i64(), Some(0), "a night with a failed shard stops");
    let shard = container(&shards);
    let env: BTreeMap<&str, &Yaml> = shard["env"].as_vec().unwrap().iter().map(|e| (e["name"].as_str().unwrap(), e)).collect();
    assert_eq!(env["SHARDS"]["value"].as_str(), Some(count.to_string().as_str()));
    assert_eq!(env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"].as_str(), Some("metadata.annotations['batch.kubernetes.io/job-completion-index']"));
    let merge = manifest("merge-job.yaml");
    let merger = container(&merge);
    for (job, claim) in [(&shards, "sstc-night"), (&merge, "sstc-night")] {
        assert_eq!(job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"].as_str(), Some(claim));
    }

    // The pods' command lines, run here: every index, then the merge.
    let dir = Dir::new();
    let volume = dir.path("night").display().to_string();
    std::fs::create_dir(&volume).unwrap();
    ok(&dir, &["generate", "--n", "600", "--seed", "11", "--out", &format!("{volume}/profiles.parquet")]);
    let mut single = Vec::new();
    for index in 0..count {
        let env = BTreeMap::from([("JOB_COMPLETION_INDEX", index.to_string()), ("SHARDS", count.to_string())]);
        let words = command_line(shard, &env, &volume);
        assert_eq!(words[..2], ["sstc-match", "run"]);
        let at = words.iter().position(|w| w == "--shard").expect("--shard");
        assert_eq!(words[at + 1], format!("{index}/{count}"));
        ok(&dir, &words[1..].iter().map(String::as_str).collect::<Vec<_>>());
        // The same flags on one machine: no --shard, another --out.
        single = words[1..].to_vec();
        single.drain(at - 1..at + 1);
        let out = single.iter().position(|w| w == "--out").expect("--out");
        single[out + 1] = "single".into();
    }
    let words = command_line(merger, &BTreeMap::new(), &volume);
    assert_eq!(words[..2], ["sstc-match", "merge"]);
    let listed: Vec<&String> = words.iter().filter(|w| w.starts_with(&format!("{volume}/shards/"))).collect();
    assert_eq!(listed.len() as i64, count, "the merge lists every shard");
    ok(&dir, &words[1..].iter().map(String::as_str).collect::<Vec<_>>());
    ok(&dir, &single.iter().map(String::as_str).collect::<Vec<_>>());
    assert_same_run(&dir.path("single"), &dir.path("night/out"));
}
