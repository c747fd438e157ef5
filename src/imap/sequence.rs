//! Sequence sets (`1:3,5,7:*`) of message numbers or UIDs.

use std::fmt;

/// `*`: the largest number in use.
pub const STAR: u32 = u32::MAX;

/// Ranges, each `(low, high)` inclusive, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(u32, u32)>);

impl SequenceSet {
    /// Parses `1:3,5,7:*`; `None` for anything else (including 0).
    pub fn parse(text: &str) -> Option<SequenceSet> {
        let number = |s: &str| -> Option<u32> {
            match s {
                "*" => Some(STAR),
                _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                    s.parse().ok().filter(|&n| n > 0)
                }
                _ => None,
            }
        };
        let ranges = text
            .split(',')
            .map(|part| match part.split_once(':') {
                Some((a, b)) => {
                    let (a, b) = (number(a)?, number(b)?);
                    Some((a.min(b), a.max(b)))
                }
                None => number(part).map(|n| (n, n)),
            })
            .collect::<Option<Vec<_>>>()?;
        Some(SequenceSet(ranges))
    }

    /// The smallest set covering `numbers` (sorted and merged).
    pub fn from_numbers(numbers: impl IntoIterator<Item = u32>) -> SequenceSet {
        SequenceSet::from_ranges(numbers.into_iter().map(|n| (n, n)))
    }

    /// The smallest set covering `ranges` (each `(low, high)`, inclusive):
    /// sorted, with overlapping and adjacent ranges merged.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u32, u32)>) -> SequenceSet {
        let mut sorted: Vec<(u32, u32)> = ranges
            .into_iter()
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        sorted.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(sorted.len());
        for (low, high) in sorted {
            match merged.last_mut() {
                Some((_, last)) if low <= last.saturating_add(1) => *last = (*last).max(high),
                _ => merged.push((low, high)),
            }
        }
        SequenceSet(merged)
    }

    pub fn contains(&self, n: u32) -> bool {
        self.0.iter().any(|&(low, high)| (low..=high).contains(&n))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The highest number in the set (`None` when it is empty).
    pub fn last(&self) -> Option<u32> {
        self.0.iter().map(|&(low, high)| low.max(high)).max()
    }

    /// How many numbers the ranges cover (counted, not listed: a hostile
    /// `1:4294967295` is one range).
    pub fn count(&self) -> u64 {
        self.0
            .iter()
            .map(|&(low, high)| u64::from(high.saturating_sub(low)) + 1)
            .sum()
    }

    /// Every number in the set; `*` is capped at `max`.
    pub fn numbers(&self, max: u32) -> impl Iterator<Item = u32> + '_ {
        self.0
            .iter()
            .flat_map(move |&(low, high)| low..=high.min(max))
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |n: u32| {
            if n == STAR {
                "*".to_string()
            } else {
                n.to_string()
            }
        };
        for (i, &(low, high)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if low == high {
                f.write_str(&one(low))?;
            } else {
                write!(f, "{}:{}", one(low), one(high))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let s = SequenceSet::parse("1:3,5,9:7,10:*").unwrap();
        assert_eq!(s.0, vec![(1, 3), (5, 5), (7, 9), (10, STAR)]);
        assert_eq!(s.to_string(), "1:3,5,7:9,10:*");
        assert!(s.contains(8) && !s.contains(4) && s.contains(1_000_000));
        for bad in ["", "0", "1:", ",", "a", "1:2:3", "-1", "99999999999"] {
            assert!(SequenceSet::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn from_numbers_merges_runs() {
        assert_eq!(
            SequenceSet::from_numbers([5, 1, 2, 3, 9, 8]).to_string(),
            "1:3,5,8:9"
        );
        assert_eq!(
            SequenceSet::from_numbers([STAR - 1, STAR]).to_string(),
            format!("{}:*", STAR - 1)
        );
        assert!(SequenceSet::from_numbers([]).is_empty());
    }

    #[test]
    fn from_ranges_merges_overlaps_and_neighbours() {
        let s = SequenceSet::from_ranges([(9, 12), (1, 3), (2, 5), (6, 6), (20, 14), (STAR, STAR)]);
        assert_eq!(s.0, vec![(1, 6), (9, 12), (14, 20), (STAR, STAR)]);
        assert_eq!(
            SequenceSet::from_ranges([(1, STAR), (5, 7)]).0,
            vec![(1, STAR)]
        );
    }

    #[test]
    fn count_adds_up_the_ranges_without_listing_them() {
        assert_eq!(SequenceSet::parse("1:3,5,9:7").unwrap().count(), 7);
        assert_eq!(SequenceSet::parse("1:*").unwrap().count(), u64::from(STAR));
        assert_eq!(SequenceSet::default().count(), 0);
    }
}
