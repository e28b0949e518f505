//! The vector-index conformance test every backend runs: recall@1 against brute force, upsert
//! (replace), delete, and filtering by tenant.

#![allow(clippy::unwrap_used, reason = "test")]

use fintra_ml::index::{BruteForceIndex, Filter, InMemoryIndex, Point, VectorIndex, embed};

/// Deterministic names: syllables combined (no randomness crate needed).
fn name(n: u64) -> String {
    const SYL: &[&str] =
        &["KA", "LO", "MEX", "TRI", "BON", "SU", "VAR", "DEL", "QUI", "ZAN", "PER", "OST"];
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (n >> 7);
    let mut out = String::new();
    for part in 0..3 {
        if part > 0 && x.is_multiple_of(3) {
            out.push(' ');
        }
        out.push_str(SYL[usize::try_from(x % 12).unwrap()]);
        x /= 12;
        out.push_str(SYL[usize::try_from(x % 12).unwrap()]);
        x /= 12;
    }
    format!("{out} {n}")
}

fn conformance(index: &mut dyn VectorIndex) {
    let mut reference = BruteForceIndex::default();
    for n in 0..3_000u64 {
        let tenant = (n % 10 == 0).then(|| format!("tenant-{}", n % 3));
        let point = Point { id: format!("p{n}"), tenant, vector: embed(&name(n)) };
        index.upsert(point.clone());
        reference.upsert(point);
    }
    assert_eq!(index.len(), 3_000);
    // Recall@1 against brute force, on queries with a typo or a missing word.
    let mut agree = 0;
    for n in (0..3_000u64).step_by(7) {
        let mut q = name(n);
        q.remove(1);
        let query = embed(&q);
        let filter = Filter { tenant: Some("tenant-1".into()) };
        let got = index.search(&query, 1, &filter);
        let want = reference.search(&query, 1, &filter);
        if got.first().map(|h| &h.id) == want.first().map(|h| &h.id) {
            agree += 1;
        }
    }
    let queries = (0..3_000u64).step_by(7).count();
    assert_eq!(agree, queries, "recall@1 against brute force: {agree}/{queries}");
    // Upsert replaces.
    index.upsert(Point { id: "p5".into(), tenant: None, vector: embed("COMPLETELY NEW NAME") });
    assert_eq!(index.len(), 3_000);
    let hit = index.search(&embed("COMPLETELY NEW NAME"), 1, &Filter::default());
    assert_eq!(hit[0].id, "p5");
    assert!((hit[0].score - 1.0).abs() < 1e-4);
    // Delete.
    assert!(index.delete("p5"));
    assert!(!index.delete("p5"));
    assert_eq!(index.len(), 2_999);
    let hit = index.search(&embed("COMPLETELY NEW NAME"), 1, &Filter::default());
    assert!(hit.first().is_none_or(|h| h.id != "p5"));
    // Tenant filter: another tenant's points never come back; shared ones always may.
    let private = name(30); // tenant-0
    let hits = index.search(&embed(&private), 5, &Filter { tenant: Some("tenant-2".into()) });
    assert!(hits.iter().all(|h| h.id != "p30"));
    let hits = index.search(&embed(&private), 1, &Filter { tenant: Some("tenant-0".into()) });
    assert_eq!(hits[0].id, "p30");
    let hits = index.search(&embed(&private), 50, &Filter::default());
    assert!(hits.iter().all(|h| h.id != "p30"), "shared-only search returns no tenant's point");
}

#[test]
fn the_in_memory_index_conforms() {
    conformance(&mut InMemoryIndex::default());
}

#[test]
fn the_brute_force_reference_conforms() {
    conformance(&mut BruteForceIndex::default());
}
