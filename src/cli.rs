//! The command line (clap): unchecked flags, close to what the user typed.
//!
//! Input: `std::env::args`. Output: a [`Cli`], which `config` turns into one checked config
//! per command. Only this module parses arguments (the value enums it offers are the
//! engine's own, deriving `clap::ValueEnum`); doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::evaluate::metrics::Metric;
use crate::engine::modality::{Modality, TriangularDefinition};
use crate::engine::rules::OptionalRule;
use crate::engine::score::MutualRule;
use crate::io::table::TableFormat;

/// Recommends partners for South-South and Triangular Cooperation: ingests partner profiles,
/// scores candidate partnerships and writes an explained shortlist per partner.
///
/// Exit codes: 0 success; 1 finished, but some input rows were rejected (see rejects.csv);
/// 2 failed (bad flags, unreadable input, cannot write outputs), nothing published.
#[derive(Debug, Parser)]
#[command(name = "sstc-match", version = env!("SSTC_VERSION"), about, long_about)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// No progress bars (they are also off when stderr is not a terminal or CI is set).
    #[arg(short, long, global = true, help_heading = "Global")]
    pub quiet: bool,
    /// Structured logs on stderr: -v for stage events, -vv for details.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Global")]
    pub verbose: u8,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, help_heading = "Global")]
    pub log_format: LogFormat,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// key=value text.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The nightly match job: profiles in, explained shortlists out.
    ///
    /// Writes shortlist.csv, shortlist.parquet, rejects.csv, clusters.csv and manifest.json
    /// into --out; all of them are replaced together (the manifest last), so a failure never
    /// leaves a half-written shortlist where the last good one stood.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Merges the N shard directories of a sharded night (`run --shard I/N` on each
    /// machine) into the run one machine would publish, byte for byte: checks that they
    /// cover every shard once with the same input, settings and version, reads the same
    /// profiles, then clusters, re-ranks, finds triads and writes every table as `run` does.
    Merge(MergeArgs),
    /// Prints the settings a `run` with the same flags (and --config file) would use, as a
    /// config file: every flag of `run` by name, defaults included.
    Config(RunArgs),
    /// Explains one pair, shortlisted or not: every term's raw value, weight and
    /// contribution, every rule's verdict, the modality and roles, the candidate's rank in the
    /// partner's list and the gap to the list's last score.
    Explain(ExplainArgs),
    /// Scores a run, or a weighting, against known partnerships: precision, recall, MRR,
    /// nDCG, MAP and hit rate at k, coverage, exposure Gini and diversity, overall and per
    /// modality, region and actor type; with profiles, next to a cosine-similarity baseline.
    Evaluate(EvaluateArgs),
    /// Searches term weights (seeded random search, k-fold cross-validation over the known
    /// partnerships) and saves the best as a weights file for `run --weights`.
    Tune(TuneArgs),
    /// Moves each weight by ±δ and reports how much the lists change.
    Sensitivity(SensitivityArgs),
    /// What changed between two runs: settings, partners, candidates, ranks, clusters.
    Diff(DiffArgs),
    /// Proposes groups around a partner or a theme: a multi-stakeholder partnership (a
    /// workers' and an employers' organisation and two other groups) and a city-to-city
    /// coalition covering the city study's seven kinds of partner; says which requirement
    /// cannot be met when no valid group exists.
    Groups(GroupsArgs),
    /// Turns a run's shortlists into a campaign file: each partner receives and is proposed
    /// at most its capacity, the total score maximised exactly (min-cost flow); pairs
    /// contacted recently are suppressed; spreadsheet formulas are neutralised.
    Campaign(CampaignArgs),
    /// Writes RUN_DIR/report.html: one self-contained page (no network needed) with the run
    /// summary, score distribution, exposure per region, clusters, evaluation figures (with
    /// --known), changes since the previous night (with --previous), and every partner's
    /// shortlist, resources and triads, searchable and filtered by country, actor type and
    /// modality.
    Report(ReportArgs),
    /// Writes a synthetic profile population (clearly marked synthetic) for demos and
    /// benchmarks: real countries and cities, seeded, reproducible.
    Generate(GenerateArgs),
    /// Prints shell completions: `sstc-match completions bash > /etc/bash_completion.d/sstc-match`
    /// (zsh: into a directory of $fpath as _sstc-match; fish: ~/.config/fish/completions/).
    Completions(CompletionsArgs),
    /// Prints the man page (roff): `sstc-match man > /usr/local/share/man/man1/sstc-match.1`.
    Man,
}

/// Examples under `run --help`.
const RUN_EXAMPLES: &str = "Examples:
  sstc-match run --out out                                  the shipped data, default settings
  sstc-match run --profiles registry.parquet --out /srv/sstc/nightly --mode blocked --formats parquet
  sstc-match run --config /etc/sstc-match.toml --weight complementarity=0.4
  PGPASSWORD=... sstc-match run --profiles 'postgresql://sstc@db/crm?table=partners' \\
      --sink 'postgresql://sstc@db/crm?schema=sstc_nightly' --out out
  sstc-match config --config /etc/sstc-match.toml           the settings a run would use";

/// What `--summary` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// One JSON object on one line.
    Json,
}

/// Flags of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// How `run` finds candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Every partner scores every candidate.
    Exact,
    /// Each partner scans blocks of similar partners, best score bound first.
    Blocked,
}

/// What and how to match: shared by `run` and `explain`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Profile table (.csv or .parquet) in the contract of README.md, or a PostgreSQL table
    /// or query: postgresql://USER@HOST:PORT/DB?table=NAME (or &query=SELECT...). Default:
    /// the shipped set (17 real country profiles and 2,000 synthetic organisations and cities).
    #[arg(long, help_heading = "Input", value_name = "FILE|URL")]
    pub profiles: Option<PathBuf>,
    /// Set one term weight, e.g. --weight complementarity=0.5 (repeatable; beats --weights).
    #[arg(long, help_heading = "Matching", value_name = "NAME=VALUE")]
    pub weight: Vec<String>,
    /// TOML weights file with a [weights] table (beats the defaults).
    #[arg(long, help_heading = "Matching", value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Geography: distance (km) at which the distance kernel falls to 1/e.
    #[arg(long, help_heading = "Matching", value_name = "KM", default_value_t = 2000.0)]
    pub geo_scale_km: f32,
    /// Theme rarity weighting: 1 full inverse frequency, 0 off, in between softened.
    #[arg(long, help_heading = "Matching", value_name = "R", default_value_t = 1.0)]
    pub rarity: f32,
    /// How the two directions of need coverage make mutual_benefit.
    #[arg(long, help_heading = "Matching", value_name = "RULE", value_enum, default_value_t = MutualRule::Harmonic)]
    pub mutual_rule: MutualRule,
    /// Keep only pairs of this modality (repeatable).
    #[arg(long, help_heading = "Rules", value_name = "NAME", value_enum)]
    pub modality: Vec<Modality>,
    /// Triangular definition: a (northern funder), b (northern funder or international
    /// organisation), c (multilateral institution).
    #[arg(long, help_heading = "Rules", value_name = "A|B|C", value_enum, ignore_case = true, default_value_t = TriangularDefinition::A)]
    pub triangular_definition: TriangularDefinition,
    /// Switch off an optional rule (repeatable).
    #[arg(long, help_heading = "Rules", value_name = "RULE", value_enum)]
    pub disable_rule: Vec<OptionalRule>,
    /// Pairs not to propose (already partners or recently contacted): a table with
    /// source_id, target_id and optionally date (YYYY-MM-DD).
    #[arg(long, help_heading = "Input", value_name = "FILE")]
    pub exclusions: Option<PathBuf>,
    /// A dated exclusion lasts this many days.
    #[arg(long, help_heading = "Input", value_name = "DAYS", default_value_t = 365)]
    pub exclusion_days: u32,
    /// The run's date for dated exclusions (YYYY-MM-DD; default today, UTC).
    #[arg(long, help_heading = "Input", value_name = "DATE")]
    pub as_of: Option<String>,
    /// Override the Global South classification per country: a table with country_iso3 and
    /// status (south or north).
    #[arg(long, help_heading = "Input", value_name = "FILE")]
    pub development_status: Option<PathBuf>,
    /// Actor-type compatibility table replacing data/mappings/actor_compatibility.csv
    /// (same shape: symmetric, values 0 to 1).
    #[arg(long, help_heading = "Input", value_name = "FILE")]
    pub actor_compatibility: Option<PathBuf>,
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What and how to match.
    #[command(flatten)]
    pub matching: MatchArgs,
    /// A TOML file of settings, named as these flags (`top-k = 20`, `[weight]` table, ...);
    /// a flag given here beats the file, the file beats the defaults. See `sstc-match config`.
    #[arg(long, help_heading = "Input", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output directory.
    #[arg(long, help_heading = "Output", value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// The run that changes.csv compares tonight's lists with (default: the run published in
    /// --out, if there is one).
    #[arg(long, help_heading = "Output", value_name = "DIR")]
    pub previous: Option<PathBuf>,
    /// Rank only what can have changed since the previous run (--previous, else the run in
    /// --out), from the state it wrote with --incremental: the lists equal a full run's. The
    /// night ranks in full, and says why in the manifest, when there is no usable state or
    /// too much changed. Writes the state for the next night.
    #[arg(long, help_heading = "Output")]
    pub incremental: bool,
    /// Worker threads (default: all cores). Outputs are identical for any value.
    #[arg(long, help_heading = "Global", value_name = "N")]
    pub threads: Option<usize>,
    /// Seed for k-means (the only randomness).
    #[arg(long, help_heading = "Matching", value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Candidates per partner.
    #[arg(long, help_heading = "Matching", value_name = "K", default_value_t = 10)]
    pub top_k: usize,
    /// Number of k-means clusters (default: about √(partners/20), 2 to 64).
    #[arg(long, help_heading = "Matching", value_name = "K")]
    pub clusters: Option<usize>,
    /// Also save the fitted centroids as DIR/centroids.json (every run keeps its own in
    /// --out); with --reuse-model, read them from there. Must lie outside --out.
    #[arg(long, help_heading = "Matching", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Reuse centroids instead of fitting new ones: those in --model-dir, else the last run's
    /// in --out. Refused when they were fitted on another profile table.
    #[arg(long, help_heading = "Matching")]
    pub reuse_model: bool,
    /// Publish nothing (exit 2, the last run stays) when more than this share of the input
    /// rows is rejected: a broken export must not replace a good night's lists.
    #[arg(long, help_heading = "Input", value_name = "SHARE", default_value_t = 0.5)]
    pub max_reject_share: f32,
    /// exact: every partner scores every candidate. blocked: each partner scans blocks of
    /// similar partners in the order of its score bound with each and scores only the blocks
    /// that can still enter its list (for large registries).
    #[arg(long, help_heading = "Blocked mode", value_name = "MODE", value_enum, default_value_t = Mode::Exact)]
    pub mode: Mode,
    /// Blocked mode: candidates each partner scans (its leaf blocks of up to 128 partners with
    /// the best bounds, until they hold the limit or more: at most one block beyond); 0 scans until the score
    /// bound proves the list exact. The default keeps recall@10 at 0.97 or above at a million
    /// partners (BENCHMARKS.md).
    #[arg(long, help_heading = "Blocked mode", value_name = "CANDIDATES", default_value_t = 44_000)]
    pub probe: usize,
    /// Blocked mode: a block of one country's partners of one actor type larger than this is
    /// cut into pieces of similar partners (0: no cap).
    #[arg(long, help_heading = "Blocked mode", value_name = "N", default_value_t = 1024)]
    pub max_block: usize,
    /// Blocked mode: partners whose blocked lists are checked against exact ones (recall@k in
    /// the manifest); 0 skips the check.
    #[arg(long, help_heading = "Blocked mode", value_name = "N", default_value_t = 2000)]
    pub recall_sample: usize,
    /// Diversity re-ranking (maximal marginal relevance): λ = 1 ranks by score only; lower
    /// values trade score for candidates of other actor types and regions.
    #[arg(long, help_heading = "Matching", value_name = "LAMBDA", default_value_t = 1.0)]
    pub diversity: f32,
    /// At least this share of each list from the partner's own UN sub-region, where
    /// available (0 to 1).
    #[arg(long, help_heading = "Matching", value_name = "SHARE", default_value_t = 0.0)]
    pub min_region_share: f32,
    /// Funders and facilitators listed per partner with a declared need in resources.csv
    /// and resources.parquet (0: none listed).
    #[arg(long, help_heading = "Matching", value_name = "K", default_value_t = 10)]
    pub resource_k: usize,
    /// Write no triads (by default every run proposes triangular triads, southern provider +
    /// beneficiary + funder or facilitator by --triangular-definition, into triads.csv and
    /// triads.parquet).
    #[arg(long, help_heading = "Rules")]
    pub no_triads: bool,
    /// Triads: providers taken from each beneficiary's shortlist.
    #[arg(long, help_heading = "Rules", value_name = "W", default_value_t = 5)]
    pub beam: usize,
    /// Triads: the most triads one funder or facilitator is proposed in, when its profile
    /// declares no capacity (a declared capacity is its limit).
    #[arg(long, help_heading = "Rules", value_name = "N", default_value_t = 20)]
    pub max_triads_per_third: usize,
    /// Formats of the three large tables (shortlist, resources, triads), comma-separated:
    /// csv (for people and spreadsheets), parquet (for databases and dataframes; about a
    /// tenth of the bytes). The other commands read Parquet when a run has it, else CSV.
    #[arg(long, help_heading = "Output", value_name = "FORMATS", value_enum, value_delimiter = ',', default_value = "csv,parquet")]
    pub formats: Vec<TableFormat>,
    /// Also write the run's tables (shortlist, resources, triads, rejects, clusters, and the
    /// manifest in `runs`) into a PostgreSQL schema, published in one transaction:
    /// postgresql://USER@HOST:PORT/DB?schema=NAME (HOST may be a socket directory; the
    /// password from PGPASSWORD or ~/.pgpass).
    #[arg(long, help_heading = "Output", value_name = "URL")]
    pub sink: Option<String>,
    /// Stop cleanly and publish nothing (exit 2) once the run has taken this long, e.g.
    /// 90m or 2h: a night that overruns its window leaves last night's outputs in place.
    #[arg(long, help_heading = "Global", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_runtime: Option<std::time::Duration>,
    /// Print one JSON line on stdout when the run ends (run id, counts, rejects, timings,
    /// exit code and reason), for monitoring.
    #[arg(long, help_heading = "Global", value_name = "FORMAT", value_enum)]
    pub summary: Option<SummaryFormat>,
    /// With --sink: how many published runs the schema keeps.
    #[arg(long, help_heading = "Output", value_name = "N", default_value_t = 7)]
    pub keep_runs: usize,
    /// Compute only shard I of N (0 to N-1, e.g. 0/4; the partners whose stable hash of id
    /// falls there) into a shard directory at --out; `sstc-match merge` turns the N shard
    /// directories into the run a single machine would publish (deploy/ has Slurm and
    /// Kubernetes jobs).
    #[arg(long, help_heading = "Output", value_name = "I/N")]
    pub shard: Option<crate::engine::shard::Shard>,
    /// Also write the inner-product part of the score as queries.npy and candidates.npy
    /// (float32, one row per active partner) with ids.txt into this directory, for a
    /// side-by-side run of a vector-search library on the same work.
    #[arg(long, help_heading = "Output", value_name = "DIR")]
    pub export_matrices: Option<PathBuf>,
}

/// Flags of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The partner whose list is explained (its id).
    pub partner: String,
    /// The candidate (its id).
    pub candidate: String,
    /// What and how to match (use the same flags as the run being explained, or --run).
    #[command(flatten)]
    pub matching: MatchArgs,
    /// Length of the partner's list, for the gap to its last candidate.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub top_k: usize,
    /// Explain with the settings of this finished run (its manifest: profiles, weights,
    /// rules, list length) instead of flags.
    #[arg(long, value_name = "DIR", conflicts_with_all = MATCHING_FLAGS)]
    pub run: Option<PathBuf>,
}

/// The flags `explain --run` takes from the run instead.
const MATCHING_FLAGS: [&str; 15] = [
    "profiles", "weight", "weights", "geo_scale_km", "rarity", "mutual_rule", "modality", "triangular_definition", "disable_rule", "exclusions", "exclusion_days", "as_of", "development_status", "actor_compatibility", "top_k",
];

/// Flags of `evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Known partnerships: a table with source_id and target_id (modality, directed optional).
    #[arg(long, value_name = "FILE")]
    pub known: PathBuf,
    /// Evaluate the shortlists of this finished run instead of computing lists here.
    #[arg(long, value_name = "DIR")]
    pub run: Option<PathBuf>,
    /// What and how to match (the weighting being evaluated, without --run).
    #[command(flatten)]
    pub matching: MatchArgs,
    /// The list length k of the metrics (`--k` is read too, its old name).
    #[arg(long = "top-k", alias = "k", value_name = "K", default_value_t = 10)]
    pub k: usize,
}

/// Flags of `tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Known partnerships (the positives the weights are tuned to find).
    #[arg(long, value_name = "FILE")]
    pub known: PathBuf,
    /// Profiles and the settings kept fixed while weights are searched.
    #[command(flatten)]
    pub matching: MatchArgs,
    /// Where to save the weights (default models/weights-<name>.toml).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Name of the saved weight set.
    #[arg(long, value_name = "NAME", default_value = "tuned")]
    pub name: String,
    /// The metric to maximise.
    #[arg(long, value_enum, default_value_t = Metric::Ndcg)]
    pub metric: Metric,
    /// The list length k of the metric (`--k` is read too, its old name).
    #[arg(long = "top-k", alias = "k", value_name = "K", default_value_t = 10)]
    pub k: usize,
    /// Folds of the cross-validation.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub folds: usize,
    /// Random weightings tried (besides the defaults).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub trials: usize,
    /// Seed of the search and the fold split.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
}

/// Flags of `sensitivity`.
#[derive(Debug, Args)]
pub struct SensitivityArgs {
    /// Profiles and the weighting to probe.
    #[command(flatten)]
    pub matching: MatchArgs,
    /// How far each weight moves, up and down.
    #[arg(long, value_name = "D", default_value_t = 0.05)]
    pub delta: f32,
    /// List length.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub top_k: usize,
    /// Probe only this many partners, spread over the id order (default: all active).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
}

/// Flags of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier run's output directory.
    pub old: PathBuf,
    /// The later run's output directory.
    pub new: PathBuf,
}

/// Flags of `groups`.
#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// Build groups around this partner (its themes and scores).
    #[arg(long, value_name = "ID")]
    pub partner: Option<String>,
    /// Build groups around this theme instead.
    #[arg(long, value_name = "THEME", conflicts_with = "partner")]
    pub theme: Option<String>,
    /// For a theme: keep members in this UN region (Africa, Americas, Asia, Europe, Oceania).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Look beyond the anchor partner's UN region.
    #[arg(long)]
    pub worldwide: bool,
    /// Members of a multi-stakeholder group.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub size: usize,
    /// Profiles and settings.
    #[command(flatten)]
    pub matching: MatchArgs,
}

/// Flags of `campaign`.
#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// The run's output directory.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Where campaign.csv and campaign.json go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The campaign's id, stamped on every proposal.
    #[arg(long, value_name = "ID", default_value = "campaign")]
    pub campaign_id: String,
    /// Pairs contacted recently: a table with source_id, target_id and optionally date.
    #[arg(long, value_name = "FILE")]
    pub suppress: Option<PathBuf>,
    /// A dated suppression lasts this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub suppress_days: u32,
    /// Allocate exactly (min-cost flow) up to this many proposals; above it by score
    /// (greedy), reporting how far from the optimum it may be.
    #[arg(long, value_name = "ROWS", default_value_t = 200_000)]
    pub exact_limit: usize,
    /// The campaign's date for dated suppressions (YYYY-MM-DD; default today, UTC).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Also propose the run's triads (campaign_triads.csv), allocated first: each takes one
    /// unit of capacity from each of its three members.
    #[arg(long)]
    pub triads: bool,
    /// Propose only the pairs new to their list since the run's previous night (the rows
    /// `entered` of its changes.csv): "new this week". Triads have no such record: not with
    /// --triads.
    #[arg(long, conflicts_with = "triads")]
    pub new_only: bool,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run's output directory.
    pub run: PathBuf,
    /// Known partnerships, to add evaluation figures.
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
    /// The previous night's run directory: the report shows what changed since (lists that
    /// changed, candidates new to a list, rank moves, candidates that left).
    #[arg(long, value_name = "DIR")]
    pub previous: Option<PathBuf>,
}

/// Flags of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard directories (the --out of every `run --shard I/N` of the night).
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// Output directory of the merged run.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). Outputs are identical for any value.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Flags of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of synthetic profiles.
    #[arg(long, value_name = "N")]
    pub n: usize,
    /// Seed; the same seed gives the same file, and N rows are a prefix of any larger N.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Output file, .csv or .parquet.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Put the 17 real country profiles (data/sources/seed_countries.tsv) first.
    #[arg(long)]
    pub with_seed_countries: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn weight_flags_repeat() {
        let cli = Cli::parse_from([
            "sstc-match", "run", "--weight", "complementarity=0.5", "--weight", "values=0",
        ]);
        let Command::Run(args) = cli.command else { panic!("run") };
        assert_eq!(args.matching.weight, vec!["complementarity=0.5", "values=0"]);
        assert_eq!(args.top_k, 10);
    }
}
