//! Dovecot dict semantics every shared_dict backend must show.

use shared_imapc::dict::{Dict, DictError, IterateFlags, Op};

fn set(k: &str, v: &str) -> Op {
    Op::Set(k.into(), v.into())
}

fn keys(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|(k, _)| k.as_str()).collect()
}

/// Lookup, iterate with every flag, atomic_inc found and missing, unset,
/// per-user priv/ keys, and limits that refuse a whole transaction.
pub fn check(d: &mut Dict) {
    let shares = "shared/shared-boxes/user/bob/";
    assert!(d
        .commit(
            None,
            &[
                set(&format!("{shares}alice"), "1"),
                set(&format!("{shares}carol"), "1"),
                set(&format!("{shares}deep/er"), "x"),
                set("shared/shared-boxes/anyone/dave", "1"),
                set("shared/counter", "41"),
            ]
        )
        .unwrap());
    assert_eq!(
        d.lookup(None, "shared/shared-boxes/anyone/dave")
            .unwrap()
            .as_deref(),
        Some("1")
    );
    assert_eq!(d.lookup(None, "shared/missing").unwrap(), None);

    let one_level = d.iterate(None, shares, IterateFlags::default()).unwrap();
    assert_eq!(
        keys(&one_level),
        [format!("{shares}alice"), format!("{shares}carol")]
    );
    let recursive = d
        .iterate(
            None,
            shares,
            IterateFlags {
                recurse: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(recursive.len(), 3);
    let exact = d
        .iterate(
            None,
            "shared/counter",
            IterateFlags {
                exact_key: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        exact,
        vec![("shared/counter".to_string(), "41".to_string())]
    );
    let no_values = d
        .iterate(
            None,
            shares,
            IterateFlags {
                no_value: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(no_values.iter().all(|(_, v)| v.is_empty()));

    // atomic_inc: found, and missing (skipped, reported, the rest applied).
    assert!(d
        .commit(None, &[Op::Inc("shared/counter".into(), 1)])
        .unwrap());
    assert_eq!(
        d.lookup(None, "shared/counter").unwrap().as_deref(),
        Some("42")
    );
    let all_found = d
        .commit(
            None,
            &[
                Op::Inc("shared/nothing".into(), 5),
                set("shared/after", "y"),
            ],
        )
        .unwrap();
    assert!(!all_found);
    assert_eq!(d.lookup(None, "shared/nothing").unwrap(), None);
    assert_eq!(
        d.lookup(None, "shared/after").unwrap().as_deref(),
        Some("y")
    );

    // Unset.
    d.commit(None, &[Op::Unset(format!("{shares}carol"))])
        .unwrap();
    assert_eq!(
        keys(&d.iterate(None, shares, IterateFlags::default()).unwrap()),
        [format!("{shares}alice")]
    );

    // priv/ keys are per user.
    d.commit(Some("alice"), &[set("priv/quota", "10")]).unwrap();
    d.commit(Some("bob"), &[set("priv/quota", "20")]).unwrap();
    assert_eq!(
        d.lookup(Some("alice"), "priv/quota").unwrap().as_deref(),
        Some("10")
    );
    assert_eq!(
        d.lookup(Some("bob"), "priv/quota").unwrap().as_deref(),
        Some("20")
    );
    let bobs = d
        .iterate(
            Some("bob"),
            "priv/",
            IterateFlags {
                recurse: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(bobs, vec![("priv/quota".to_string(), "20".to_string())]);
    assert!(matches!(
        d.lookup(None, "priv/quota"),
        Err(DictError::Invalid(_))
    ));

    // Limits: refused with a clear error, nothing lost.
    let huge = "x".repeat(shared_imapc::dict::MAX_VALUE_LEN + 1);
    let err = d
        .commit(None, &[set("shared/a", "kept"), set("shared/huge", &huge)])
        .unwrap_err();
    assert!(err.to_string().contains("over the"), "{err}");
    assert_eq!(
        d.lookup(None, "shared/a").unwrap(),
        None,
        "the whole transaction was refused"
    );
    assert_eq!(
        d.lookup(None, "shared/after").unwrap().as_deref(),
        Some("y")
    );
}
