//! Context groups: named term lists, with `include` resolved into one flat
//! list per group and include cycles reported.

use super::compile::{Compiler, ContextDecl};
use super::error::ErrorKind;

/// Compiles each group's own terms, then flattens includes. Returns one term
/// list per group, in declaration order.
pub fn flatten(c: &mut Compiler, decls: &[ContextDecl]) -> Vec<Vec<u32>> {
    let own: Vec<Vec<u32>> = decls
        .iter()
        .map(|(_, file, _, raw)| raw.terms.iter().filter_map(|t| c.term(*file, t)).collect())
        .collect();
    let mut includes: Vec<Vec<usize>> = Vec::new();
    for (_, file, _, raw) in decls {
        let mut inc = Vec::new();
        for name in &raw.include {
            match c.context_ids.get(name.get_ref()) {
                Some(&id) => inc.push(id as usize),
                None => {
                    let msg = format!("unknown context group `{}` in `include`", name.get_ref());
                    c.err(*file, name.span(), ErrorKind::UnknownContext, msg);
                }
            }
        }
        includes.push(inc);
    }
    let mut out = Vec::with_capacity(decls.len());
    for (i, (name, file, span, raw)) in decls.iter().enumerate() {
        let mut terms = Vec::new();
        let mut stack = vec![i];
        let mut seen = vec![false; decls.len()];
        let mut cycle = false;
        while let Some(g) = stack.pop() {
            if seen[g] {
                continue;
            }
            seen[g] = true;
            terms.extend_from_slice(&own[g]);
            for &inc in &includes[g] {
                cycle |= inc == i;
                stack.push(inc);
            }
        }
        if cycle {
            let msg = format!("context group `{name}` includes itself");
            c.err(*file, span.span(), ErrorKind::ContextCycle, msg);
        }
        if terms.is_empty() && raw.include.is_empty() {
            let msg = format!("empty expression: context group `{name}` has no terms");
            c.err(*file, span.span(), ErrorKind::EmptyExpression, msg);
        }
        terms.sort_unstable();
        terms.dedup();
        out.push(terms);
    }
    out
}
