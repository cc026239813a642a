//! Comparing two dumps of a view byte for byte (`tally replay --check`, the served
//! `REPLAY_CHECK` operation): which keys differ, and the first of them.

/// A stored value for a message: its length and hex, or "absent".
#[must_use]
pub fn show(value: Option<&[u8]>) -> String {
    value.map_or_else(
        || "absent".to_owned(),
        |v| {
            let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
            format!("{} bytes {hex}", v.len())
        },
    )
}

/// One key whose value differs between the live view and the rebuild.
#[derive(Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The key.
    pub key: Vec<u8>,
    /// Its value in the live view (`None`: absent).
    pub live: Option<Vec<u8>>,
    /// Its value in the rebuild (`None`: absent).
    pub rebuilt: Option<Vec<u8>>,
}

/// How two key-ordered dumps differ.
#[derive(Debug, PartialEq, Eq)]
pub struct Difference {
    /// The first differing key in key order.
    pub first: Option<Mismatch>,
    /// How many keys differ.
    pub count: usize,
}

impl Difference {
    /// Merges two dumps sorted by key (as `ViewStore::dump` returns them).
    #[must_use]
    pub fn of(live: &[(Vec<u8>, Vec<u8>)], rebuilt: &[(Vec<u8>, Vec<u8>)]) -> Self {
        let (mut a, mut b) = (live.iter().peekable(), rebuilt.iter().peekable());
        let mut diff = Self { first: None, count: 0 };
        let mut note = |key: &[u8], l: Option<&Vec<u8>>, r: Option<&Vec<u8>>| {
            diff.count += 1;
            if diff.first.is_none() {
                diff.first =
                    Some(Mismatch { key: key.to_vec(), live: l.cloned(), rebuilt: r.cloned() });
            }
        };
        loop {
            match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some((k, v)), None) => {
                    note(k, Some(v), None);
                    a.next();
                }
                (None, Some((k, v))) => {
                    note(k, None, Some(v));
                    b.next();
                }
                (Some((ka, va)), Some((kb, vb))) => match ka.cmp(kb) {
                    std::cmp::Ordering::Less => {
                        note(ka, Some(va), None);
                        a.next();
                    }
                    std::cmp::Ordering::Greater => {
                        note(kb, None, Some(vb));
                        b.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if va != vb {
                            note(ka, Some(va), Some(vb));
                        }
                        a.next();
                        b.next();
                    }
                },
            }
        }
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::{Difference, Mismatch};

    fn kv(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn equal_dumps_do_not_differ() {
        let a = kv(&[("a", "1"), ("b", "2")]);
        assert_eq!(Difference::of(&a, &a), Difference { first: None, count: 0 });
    }

    #[test]
    fn the_first_differing_key_is_named_whichever_side_has_it() {
        let live = kv(&[("a", "1"), ("b", "2"), ("d", "4")]);
        let rebuilt = kv(&[("a", "1"), ("b", "3"), ("c", "3")]);
        let diff = Difference::of(&live, &rebuilt);
        assert_eq!(diff.count, 3, "b changed, c missing live, d extra live");
        assert_eq!(
            diff.first,
            Some(Mismatch {
                key: b"b".to_vec(),
                live: Some(b"2".to_vec()),
                rebuilt: Some(b"3".to_vec())
            })
        );
        let diff = Difference::of(&kv(&[("a", "1")]), &kv(&[("a", "1"), ("z", "9")]));
        assert_eq!(
            diff.first,
            Some(Mismatch { key: b"z".to_vec(), live: None, rebuilt: Some(b"9".to_vec()) })
        );
    }
}
