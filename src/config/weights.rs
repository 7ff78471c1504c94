//! Term weights: defaults < weights file (TOML) < `--weight NAME=VALUE` flags.
//!
//! Input: the optional file and the flag strings. Output: checked [`Weights`] (every weight
//! from 0 to [`MAX_WEIGHT`], at least one > 0, every name a real term), or a [`WeightError`]
//! that says what to fix and lists the valid names.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::engine::score::{Term, Weights, TERM_COUNT};

/// The largest weight: scores are sums of weighted terms in f32, which a weight near
/// f32::MAX would turn into infinities (every list then ranked by id alone).
pub const MAX_WEIGHT: f32 = 1000.0;

/// The shipped default weighting, by term (sums to 1).
pub const DEFAULT_WEIGHTS: [(Term, f32); TERM_COUNT] = [
    (Term::Complementarity, 0.30),
    (Term::MutualBenefit, 0.15),
    (Term::Context, 0.10),
    (Term::Geography, 0.15),
    (Term::Values, 0.10),
    (Term::Sector, 0.10),
    (Term::ActorType, 0.10),
];

/// A weighting problem, always naming its source.
#[derive(Debug, thiserror::Error)]
pub enum WeightError {
    /// A name that is not a term.
    #[error("{source_name}: unknown term '{name}'; valid terms: {}", Term::names().join(", "))]
    UnknownTerm {
        /// The flag or file.
        source_name: String,
        /// The wrong name.
        name: String,
    },
    /// Negative, NaN, infinite or beyond [`MAX_WEIGHT`].
    #[error("{source_name}: weight of '{name}' is {value}; a weight is a number from 0 to 1000 (only the ratios between weights matter)")]
    BadValue {
        /// The flag or file.
        source_name: String,
        /// The term.
        name: String,
        /// The value given.
        value: String,
    },
    /// Every weight is zero.
    #[error("all weights are zero (after {source_name}); give at least one term a positive weight")]
    AllZero {
        /// Where the last change came from.
        source_name: String,
    },
    /// `--weight` without `NAME=VALUE` shape.
    #[error("--weight '{spec}': expected NAME=VALUE, e.g. --weight complementarity=0.5")]
    Malformed {
        /// The flag value.
        spec: String,
    },
    /// The weights file cannot be read or parsed.
    #[error("{path}: {reason}; expected a TOML file with a [weights] table, e.g. [weights] complementarity = 0.5")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsFile {
    weights: BTreeMap<String, toml::Value>,
}

/// The default weights.
pub fn default_weights() -> Weights {
    let mut w = [0.0; TERM_COUNT];
    for (term, value) in DEFAULT_WEIGHTS {
        w[term as usize] = value;
    }
    Weights(w)
}

/// The largest weights file read: it holds a few lines, so anything longer (a device such
/// as `/dev/zero`, a profile table named by mistake) is refused before it fills memory.
pub const MAX_WEIGHTS_FILE_BYTES: u64 = 1 << 20;

fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_WEIGHTS_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_WEIGHTS_FILE_BYTES {
        return Err(format!("longer than {} KiB, which no weights file is", MAX_WEIGHTS_FILE_BYTES >> 10));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Resolves weights from an optional TOML file and `NAME=VALUE` flags, in that precedence.
pub fn resolve(file: Option<&Path>, flags: &[String]) -> Result<Weights, WeightError> {
    let mut weights = default_weights();
    let mut last_source = "the defaults".to_string();
    if let Some(path) = file {
        let source_name = path.display().to_string();
        let text = read_bounded(path).map_err(|reason| WeightError::File { path: source_name.clone(), reason })?;
        apply_file(&mut weights, &text, &source_name)?;
        last_source = source_name;
    }
    for spec in flags {
        let (name, value) = spec
            .split_once('=')
            .ok_or_else(|| WeightError::Malformed { spec: spec.clone() })?;
        last_source = format!("--weight {spec}");
        set(&mut weights, &last_source, name.trim(), value.trim())?;
    }
    if weights.0.iter().all(|&w| w == 0.0) {
        return Err(WeightError::AllZero {
            source_name: last_source,
        });
    }
    Ok(weights)
}

/// Applies the `[weights]` table of a weights file's text (named `source_name` in errors).
pub fn apply_file(weights: &mut Weights, text: &str, source_name: &str) -> Result<(), WeightError> {
    let parsed: WeightsFile = toml::from_str(text).map_err(|e| WeightError::File {
        path: source_name.to_string(),
        reason: e.message().to_string(),
    })?;
    for (name, value) in parsed.weights {
        let number = value.as_float().or_else(|| value.as_integer().map(|i| i as f64)).ok_or_else(|| WeightError::BadValue {
            source_name: source_name.to_string(),
            name: name.clone(),
            value: value.to_string(),
        })?;
        set(weights, source_name, &name, &number.to_string())?;
    }
    Ok(())
}

fn set(weights: &mut Weights, source_name: &str, name: &str, value: &str) -> Result<(), WeightError> {
    let term = Term::from_name(name).ok_or_else(|| WeightError::UnknownTerm {
        source_name: source_name.into(),
        name: name.into(),
    })?;
    let bad = || WeightError::BadValue {
        source_name: source_name.into(),
        name: name.into(),
        value: value.into(),
    };
    let number: f32 = value.parse().map_err(|_| bad())?;
    if !(0.0..=MAX_WEIGHT).contains(&number) {
        return Err(bad());
    }
    weights.0[term as usize] = number;
    Ok(())
}

/// The weights as a name → value map (for the manifest and saved weight files).
pub fn to_map(weights: &Weights) -> BTreeMap<String, f32> {
    Term::ALL
        .iter()
        .map(|t| (t.name().to_string(), weights.0[*t as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flag_overrides_file_overrides_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.toml");
        std::fs::write(&file, "[weights]\ncomplementarity = 0.9\nsector = 1\n").unwrap();
        let w = resolve(Some(&file), &flags(&["complementarity=0.5"])).unwrap();
        assert_eq!(w.0[Term::Complementarity as usize], 0.5);
        assert_eq!(w.0[Term::Sector as usize], 1.0);
        assert_eq!(w.0[Term::Geography as usize], 0.15);
    }

    #[test]
    fn unknown_term_lists_valid_ones() {
        let e = resolve(None, &flags(&["nonsense=1"])).unwrap_err().to_string();
        assert!(e.contains("unknown term 'nonsense'"), "{e}");
        for t in Term::ALL {
            assert!(e.contains(t.name()), "{e}");
        }
    }

    #[test]
    fn negative_nan_and_all_zero_are_refused() {
        assert!(matches!(
            resolve(None, &flags(&["values=-1"])),
            Err(WeightError::BadValue { .. })
        ));
        assert!(matches!(
            resolve(None, &flags(&["values=NaN"])),
            Err(WeightError::BadValue { .. })
        ));
        let zeros: Vec<String> = Term::ALL.iter().map(|t| format!("{}=0", t.name())).collect();
        assert!(matches!(resolve(None, &zeros), Err(WeightError::AllZero { .. })));
        assert!(matches!(
            resolve(None, &flags(&["complementarity"])),
            Err(WeightError::Malformed { .. })
        ));
    }

    #[test]
    fn malformed_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.toml");
        std::fs::write(&file, "complementarity = 0.5\n").unwrap();
        let e = resolve(Some(&file), &[]).unwrap_err().to_string();
        assert!(e.contains("w.toml") && e.contains("[weights]"), "{e}");
    }
}

/// Weights as a `term → weight` map in serde (the manifest, a config file): every term
/// written; on reading, unknown terms are errors and terms left out keep their default.
pub mod by_name {
    use super::*;
    use serde::{Deserializer, Serializer};

    /// Writes the map.
    pub fn serialize<S: Serializer>(weights: &Weights, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(to_map(weights))
    }

    /// Reads and checks the map.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Weights, D::Error> {
        let map = BTreeMap::<String, f32>::deserialize(deserializer)?;
        let mut weights = default_weights();
        for (name, value) in map {
            set(&mut weights, "weights", &name, &value.to_string()).map_err(serde::de::Error::custom)?;
        }
        Ok(weights)
    }
}
