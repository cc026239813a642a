//! The size of a query with its fragments expanded, measured before async-graphql validates it.
//!
//! async-graphql's recursion-depth check, depth limit and complexity limit each walk the
//! query with every fragment spread expanded in place, with no memory of fragments already
//! walked. Fragments that each spread the previous one twice make that walk exponential: a
//! 900-byte query took 10 s of CPU on one runtime thread, and 24 levels (1 KB) ran for
//! minutes, out of reach of the request timeout. This extension counts the fields of the
//! expanded query in time linear in its text (each fragment is counted once) and refuses a
//! query over the limit, or nested deeper than [`NESTING_MAX`], before any of those walks.
//! Before parsing, it refuses a query text longer than `ApiConfig::query_bytes_max`.

use crate::error::code;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, ServerError, ServerResult};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting of selection sets and fragment spreads, together, that is measured; deeper
/// is refused. (async-graphql refuses more than 32 anyway; this bounds the walk's stack.)
pub const NESTING_MAX: usize = 64;

/// Refuses query texts longer than `query_bytes_max` unparsed, and queries whose expanded
/// field count exceeds `fields_max`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpandedSize {
    pub(crate) query_bytes_max: usize,
    pub(crate) fields_max: u64,
}

impl ExtensionFactory for ExpandedSize {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for ExpandedSize {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if request.query.len() > self.query_bytes_max {
            return Err(limit_error(format!(
                "the query text has {} bytes, more than {} (pass data in variables)",
                request.query.len(),
                self.query_bytes_max
            )));
        }
        // Parsed once here and kept in the request; a query that does not parse is left for
        // async-graphql to report.
        if let Ok(document) = request.parsed_query() {
            check(document, self.fields_max)?;
        }
        next.run(ctx, request).await
    }
}

fn limit_error(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code::LIMIT_EXCEEDED);
    error
}

/// Fields of every operation of `document` with fragments expanded, if at most `fields_max`.
pub fn check(document: &ExecutableDocument, fields_max: u64) -> Result<u64, ServerError> {
    let mut walk = Walk { document, memo: HashMap::new() };
    let mut total: u64 = 0;
    for (_, operation) in document.operations.iter() {
        total = total.saturating_add(walk.count(&operation.node.selection_set.node, 0)?);
    }
    if total > fields_max {
        return Err(limit_error(format!(
            "the query has {total} fields with its fragments expanded, more than {fields_max}"
        )));
    }
    Ok(total)
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Expanded field count of each fragment; `None` while it is being counted (a cycle).
    memo: HashMap<&'a str, Option<u64>>,
}

impl<'a> Walk<'a> {
    fn count(&mut self, set: &'a SelectionSet, depth: usize) -> Result<u64, ServerError> {
        if depth > NESTING_MAX {
            return Err(limit_error(format!(
                "the query nests selections and fragments more than {NESTING_MAX} deep"
            )));
        }
        let mut fields: u64 = 0;
        for selection in &set.items {
            let more = match &selection.node {
                Selection::Field(field) => {
                    1_u64.saturating_add(self.count(&field.node.selection_set.node, depth + 1)?)
                }
                Selection::InlineFragment(inline) => {
                    self.count(&inline.node.selection_set.node, depth + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.memo.get(name.as_str()) {
                        Some(Some(known)) => *known,
                        // A fragment cycle: validation refuses it; count nothing more here.
                        Some(None) => 0,
                        None => match self.document.fragments.get_key_value(name) {
                            // An unknown fragment: validation refuses it.
                            None => 0,
                            Some((key, fragment)) => {
                                self.memo.insert(key.as_str(), None);
                                let n = self.count(&fragment.node.selection_set.node, depth + 1)?;
                                self.memo.insert(key.as_str(), Some(n));
                                n
                            }
                        },
                    }
                }
            };
            fields = fields.saturating_add(more);
        }
        Ok(fields)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn bomb(levels: usize) -> String {
        let mut text =
            format!("query {{ ...F{levels} }}\nfragment F0 on Query {{ head {{ seq }} }}\n");
        for i in 1..=levels {
            text.push_str(&format!("fragment F{i} on Query {{ ...F{} ...F{} }}\n", i - 1, i - 1));
        }
        text
    }

    #[test]
    fn counts_expanded_fields_in_linear_time() {
        let plain = parse_query("{ head { seq hash } a: head { seq } }").unwrap();
        assert_eq!(check(&plain, 100).unwrap(), 5);
        let doubled = parse_query(bomb(3)).unwrap();
        assert_eq!(check(&doubled, 100).unwrap(), 2 * 8);
        // 2^60 fields: counted at once (saturating), and refused.
        let huge = parse_query(bomb(60)).unwrap();
        let error = check(&huge, 10_000).unwrap_err();
        assert!(error.message.contains("more than 10000"), "{}", error.message);
    }

    #[test]
    fn cycles_and_unknown_fragments_are_left_to_validation() {
        let cyclic = parse_query(
            "{ ...A } fragment A on Query { head { seq } ...B } fragment B on Query { ...A }",
        )
        .unwrap();
        assert_eq!(check(&cyclic, 100).unwrap(), 2);
        let unknown = parse_query("{ ...Nope head { seq } }").unwrap();
        assert_eq!(check(&unknown, 100).unwrap(), 2);
    }

    #[test]
    fn a_long_chain_of_fragments_is_refused_not_walked() {
        let mut text = String::from("{ ...F0 }\n");
        for i in 0..200 {
            text.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
        }
        text.push_str("fragment F200 on Query { head { seq } }\n");
        let chain = parse_query(text).unwrap();
        let error = check(&chain, 10_000).unwrap_err();
        assert!(error.message.contains("deep"), "{}", error.message);
    }
}
