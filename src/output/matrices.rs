//! Matrices: the inner-product part of the score as float32 `.npy` files, so that a vector
//! search library can run the same work side by side (`run --export-matrices DIR`).
//!
//! Input: a [`Scorer`], the active partners and their ids. Output, in `DIR`:
//! `queries.npy` and `candidates.npy` (`[N × d]` little-endian float32, one row per active
//! partner in id order) and `ids.txt` (the partner id of each row), such that
//! `queries @ candidates.T` is the inner-product part of every score
//! ([`crate::engine::score::linear`]). Rows are streamed, never held as a matrix; each file is written
//! atomically.

use std::io::Write;
use std::path::Path;

use crate::io::atomic::{at, write_with};
use crate::output::OutputIoError;
use crate::engine::profile::Profile;
use crate::engine::score::linear::Linear;
use crate::engine::score::Scorer;
use crate::PartnerIdx;

/// Writes one partner's row into a buffer.
type RowFiller<'a> = &'a dyn Fn(PartnerIdx, &mut [f32]);

/// Writes the three files into `dir`.
pub fn export(dir: &Path, scorer: &Scorer, active: &[PartnerIdx], profiles: &[Profile]) -> Result<(), OutputIoError> {
    let linear = Linear::new(scorer);
    let sides: [(&str, RowFiller); 2] = [
        ("queries.npy", &|i, row| linear.query_row(i, row)),
        ("candidates.npy", &|i, row| linear.candidate_row(i, row)),
    ];
    for (name, fill) in sides {
        let path = dir.join(name);
        write_with(&path, |w| {
            w.write_all(&npy_header(active.len(), linear.width())).map_err(at(&path))?;
            let mut row = vec![0.0; linear.width()];
            for &i in active {
                fill(i, &mut row);
                for x in &row {
                    w.write_all(&x.to_le_bytes()).map_err(at(&path))?;
                }
            }
            Ok::<(), OutputIoError>(())
        })?;
    }
    let path = dir.join("ids.txt");
    write_with(&path, |w| {
        active
            .iter()
            .try_for_each(|&i| writeln!(w, "{}", profiles[i as usize].id))
            .map_err(at(&path))
    })
}

/// The header of a version 1.0 `.npy` file of a C-ordered `[rows × cols]` float32 array,
/// padded with spaces so the data starts at a multiple of 64 bytes.
fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = 6 + 2 + 2 + dict.len() + 1;
    let padding = unpadded.next_multiple_of(64) - unpadded;
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend_from_slice(&((dict.len() + padding + 1) as u16).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header.extend(std::iter::repeat_n(b' ', padding));
    header.push(b'\n');
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_describes_the_array() {
        let header = npy_header(100_000, 172);
        assert_eq!(header.len() % 64, 0);
        assert_eq!(&header[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(u16::from_le_bytes([header[8], header[9]]) as usize, header.len() - 10);
        let text = std::str::from_utf8(&header[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 172), }"));
        assert!(text.ends_with('\n'));
    }
}
