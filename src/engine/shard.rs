//! Shards: which partners' lists one machine of a sharded night computes.
//!
//! Input: `--shard I/N` and the partners' ids. Output: the partners of shard I, those whose
//! stable hash of id falls there (the first 8 bytes of its SHA-256, big-endian, modulo N):
//! the same on every machine and every night, about N-th of the partners each, and a partner
//! keeps its shard while its id stays. Only the queries are sharded: every shard scores its
//! partners against every candidate (or the blocks they probe), so the merged lists are the
//! single run's (`sstc-match merge`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::profile::Profile;
use crate::PartnerIdx;

/// Shard `index` of `count` (counted from 0, as Slurm's array task ids and Kubernetes'
/// completion indexes are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 0 to `count - 1`.
    pub index: u32,
    /// Shards in the night.
    pub count: u32,
}

impl Shard {
    /// The shard a partner's id falls in, out of `count`.
    pub fn of(id: &str, count: u32) -> u32 {
        let digest = Sha256::digest(id.as_bytes());
        let head = u64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 has 32 bytes"));
        (head % u64::from(count)) as u32
    }

    /// The partners of `partners` (indices into `profiles`) this shard computes, in order.
    pub fn select(&self, profiles: &[Profile], partners: &[PartnerIdx]) -> Vec<PartnerIdx> {
        partners.iter().copied().filter(|&p| Shard::of(&profiles[p as usize].id, self.count) == self.index).collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("'{text}' is not a shard: give I/N, shard I (0 to N-1) of N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let (index, count): (u32, u32) = (index.trim().parse().map_err(|_| usage())?, count.trim().parse().map_err(|_| usage())?);
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: the shard must be 0 to {} of {count}", count.saturating_sub(1)));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_of_count_and_refuses_the_rest() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard { index: 2, count: 4 }.to_string(), "2/4");
        for bad in ["4/4", "1/0", "1", "a/2", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn an_id_falls_in_one_shard_and_the_shards_are_balanced() {
        // The hash is fixed: a partner keeps its shard across versions and machines (the
        // expected shards computed with Python's hashlib).
        assert_eq!(Shard::of("ILO-0001", 4), 2);
        assert_eq!(Shard::of("P000000", 7), 5);
        let mut sizes = [0usize; 4];
        for i in 0..40_000 {
            sizes[Shard::of(&format!("P{i:06}"), 4) as usize] += 1;
        }
        assert!(sizes.iter().all(|&n| (9_500..10_500).contains(&n)), "{sizes:?}");
    }
}
