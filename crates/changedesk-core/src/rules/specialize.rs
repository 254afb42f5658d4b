//! Rewrites the most common node shapes into single nodes that evaluate
//! without recursion: `field has "x"`, `field has ["x", "y"]`,
//! `field == "x"`, `field != "x"` and `field in ["x", "y"]` on string
//! fields. Results are identical to the general nodes (a property test
//! compares them).

use super::check::{CmpOp, Lit, Node, NodeKind};
use super::fields::Field;

/// The string literals of a literal string or list of strings.
fn strings(n: &Node) -> Option<Vec<String>> {
    match &n.kind {
        NodeKind::Lit(Lit::Str(s)) => Some(vec![s.clone()]),
        NodeKind::Lit(Lit::List(items)) => items
            .iter()
            .map(|i| match i {
                Lit::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn field(n: &Node) -> Option<Field> {
    match n.kind {
        NodeKind::Field(f) => Some(f),
        _ => None,
    }
}

/// Rewrites `n` and its children.
pub(crate) fn specialize(n: Node) -> Node {
    let Node { kind, tenant, cost } = n;
    let kind = match kind {
        NodeKind::Has(list, x) => match (field(&list), strings(&x), field(&x)) {
            (Some(f), Some(wanted), _) if f.is_list() => NodeKind::FieldHas(f, wanted),
            // `field in ["x", "y"]`
            (None, _, Some(f)) if f.is_string() => match strings(&list) {
                Some(wanted) => NodeKind::FieldIn(f, wanted, false),
                None => NodeKind::Has(Box::new(specialize(*list)), x),
            },
            _ => NodeKind::Has(Box::new(specialize(*list)), Box::new(specialize(*x))),
        },
        NodeKind::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), a, b) => {
            let pair = match (field(&a), field(&b)) {
                (Some(f), None) => strings(&b).map(|s| (f, s)),
                (None, Some(f)) => strings(&a).map(|s| (f, s)),
                _ => None,
            };
            match pair {
                Some((f, wanted)) if f.is_string() && wanted.len() == 1 => {
                    NodeKind::FieldIn(f, wanted, op == CmpOp::Ne)
                }
                _ => NodeKind::Cmp(op, Box::new(specialize(*a)), Box::new(specialize(*b))),
            }
        }
        NodeKind::And(items) => NodeKind::And(items.into_iter().map(specialize).collect()),
        NodeKind::Or(items) => NodeKind::Or(items.into_iter().map(specialize).collect()),
        NodeKind::Not(i) => NodeKind::Not(Box::new(specialize(*i))),
        NodeKind::IsNull(i) => NodeKind::IsNull(Box::new(specialize(*i))),
        NodeKind::NotNull(i) => NodeKind::NotNull(Box::new(specialize(*i))),
        NodeKind::Cmp(op, a, b) => {
            NodeKind::Cmp(op, Box::new(specialize(*a)), Box::new(specialize(*b)))
        }
        NodeKind::Matches(a, m) => NodeKind::Matches(Box::new(specialize(*a)), m),
        NodeKind::Add(a, b) => NodeKind::Add(Box::new(specialize(*a)), Box::new(specialize(*b))),
        NodeKind::Sub(a, b) => NodeKind::Sub(Box::new(specialize(*a)), Box::new(specialize(*b))),
        NodeKind::Coalesce(a, b) => {
            NodeKind::Coalesce(Box::new(specialize(*a)), Box::new(specialize(*b)))
        }
        other @ (NodeKind::Lit(_)
        | NodeKind::Field(_)
        | NodeKind::FieldHas(..)
        | NodeKind::FieldIn(..)) => other,
    };
    Node { kind, tenant, cost }
}
