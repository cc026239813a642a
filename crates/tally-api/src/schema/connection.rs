//! Relay cursor connections: one generic [`Connection`] / [`Edge`] pair for every list that
//! can grow, the `first`/`after`/`last`/`before` arguments, and [`paginate`], which turns them
//! into a page over any ordered source.
//!
//! A list is an ordered sequence of items, each with a key (`K`, a seq or an id) that is its
//! position. A source answers two questions: the items strictly after a key (or from the
//! start), nearest first, at most n; and the items strictly before a key (or from the end),
//! nearest first, at most n. [`paginate`] asks for one more item than the page to know whether
//! the list goes on, and once more, for one item, on the other side of the page, so both
//! `hasNextPage` and `hasPreviousPage` are exact whichever way the page was asked for.
//!
//! Page sizes: `first`/`last` default to `page_size_default`; above `page_size_max` the query
//! is refused with `LIMIT_EXCEEDED` (never cut silently). `first` and `last` together are
//! `INVALID_INPUT`, as are `after` and `before` together. Cursors are opaque base64 of
//! `kind:key`; a cursor of another list is `INVALID_INPUT`.

use super::args;
use super::views::ViewMeta;
use crate::config::ApiConfig;
use crate::error::{ApiError, ApiResult, code};
use async_graphql::{Object, OutputType, SimpleObject, TypeName};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::borrow::Cow;
use tally_domain::graphql::UnsignedInt64;

/// Where a page stands (Relay `PageInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, SimpleObject)]
pub struct PageInfo {
    /// Whether items follow the last item of this page (exact, whichever way it was asked).
    pub has_next_page: bool,
    /// Whether items come before the first item of this page (exact, whichever way it was
    /// asked).
    pub has_previous_page: bool,
    /// Cursor of the first item of this page (pass it as `before`); null for an empty page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of this page (pass it as `after`); null for an empty page.
    pub end_cursor: Option<String>,
}

/// An item of a page with its cursor.
#[derive(Debug, Clone)]
pub struct Edge<T> {
    /// Opaque cursor of the item.
    pub cursor: String,
    /// The item.
    pub node: T,
}

/// A page of a list (Relay cursor connection): its edges (or just `nodes`), where it stands,
/// what it reflects, and the total when it is cheap to know.
#[derive(Debug, Clone)]
pub struct Connection<T> {
    /// The items of this page, in list order.
    pub edges: Vec<Edge<T>>,
    /// Where the page stands.
    pub page_info: PageInfo,
    /// Items in the whole list (every page), when known without reading them all.
    pub total_count: Option<u64>,
    /// What the answer reflects.
    pub meta: ViewMeta,
}

/// One item of a list, in GraphQL: `{ cursor node }`.
#[Object(name_type)]
impl<T: OutputType> Edge<T> {
    /// Opaque cursor of this item: pass it as `after` (or `before`) to page from here.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The item.
    async fn node(&self) -> &T {
        &self.node
    }
}

impl<T: OutputType> TypeName for Edge<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", <T as OutputType>::type_name()).into()
    }
}

/// A page of a list (Relay cursor connection). Page with `first`/`after` forward or
/// `last`/`before` backward; `pageInfo` tells whether more items lie on either side.
#[Object(name_type)]
impl<T: OutputType> Connection<T> {
    /// The items of this page with their cursors, in list order.
    async fn edges(&self) -> &[Edge<T>] {
        &self.edges
    }

    /// The items of this page, in list order (the `node` of each edge).
    async fn nodes(&self) -> Vec<&T> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page stands: whether more items lie on either side, and its end cursors.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// Items in the whole list, every page together; null where counting would mean reading
    /// the whole list (a filtered scan).
    async fn total_count(&self) -> Option<UnsignedInt64> {
        self.total_count.map(UnsignedInt64)
    }

    /// What the answer reflects (the view's seq, or the head for lists read from the log).
    async fn meta(&self) -> &ViewMeta {
        &self.meta
    }
}

impl<T: OutputType> TypeName for Connection<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", <T as OutputType>::type_name()).into()
    }
}

/// A position in a list, written into an opaque cursor.
pub trait CursorKey: Sized + Clone + Ord {
    /// The text after `kind:` in the cursor.
    fn to_text(&self) -> String;
    /// Reads [`CursorKey::to_text`] back; `None` when it is not one.
    fn from_text(text: &str) -> Option<Self>;
}

impl CursorKey for u64 {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl CursorKey for String {
    fn to_text(&self) -> String {
        self.clone()
    }
    fn from_text(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

/// A key of several parts (sorting part by part), written with `\u{1f}` between parts.
impl CursorKey for Vec<String> {
    fn to_text(&self) -> String {
        self.join("\u{1f}")
    }
    fn from_text(text: &str) -> Option<Self> {
        Some(text.split('\u{1f}').map(str::to_owned).collect())
    }
}

/// Encodes `key` as a cursor of the list `kind`.
#[must_use]
pub fn encode<K: CursorKey>(kind: &str, key: &K) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{}", key.to_text()))
}

/// Decodes a cursor of the list `kind`; `INVALID_INPUT` for anything else.
pub fn decode<K: CursorKey>(kind: &str, cursor: &str) -> ApiResult<K> {
    let bad = || ApiError::invalid(format!("cursor '{cursor}' is not a cursor of this list"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, rest) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    K::from_text(rest).ok_or_else(bad)
}

/// The Relay arguments of a connection field, as given.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Items from the start (or after `after`).
    pub first: Option<i32>,
    /// Cursor to start after.
    pub after: Option<String>,
    /// Items from the end (or before `before`).
    pub last: Option<i32>,
    /// Cursor to end before.
    pub before: Option<String>,
}

impl PageArgs {
    /// The four arguments.
    #[must_use]
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self { first, after, last, before }
    }
}

/// Which way a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// In list order, from the start or strictly after a key.
    Forward,
    /// Against list order, from the end or strictly before a key (nearest first).
    Backward,
}

/// A checked page size `n` of argument `arg`: ≥ 0 and at most the page size limit.
pub(crate) fn size(config: &ApiConfig, arg: &str, n: i32) -> ApiResult<usize> {
    if n < 0 {
        return Err(ApiError::invalid(format!("{arg} must be ≥ 0, got {n}")));
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > config.page_size_max {
        return Err(ApiError::new(
            code::LIMIT_EXCEEDED,
            format!("{arg} is {n}, over the page size limit of {}", config.page_size_max),
        ));
    }
    Ok(n)
}

/// A checked request for one page: which way, from where, how many.
#[derive(Debug, Clone)]
pub struct Window<K> {
    /// Forward (`first`/`after`) or backward (`last`/`before`).
    pub direction: Direction,
    /// The cursor's key (exclusive), if any.
    pub from: Option<K>,
    /// Page size.
    pub size: usize,
}

impl<K: CursorKey> Window<K> {
    /// Checks `args` against the limits and decodes the cursor of list `kind`.
    pub fn new(config: &ApiConfig, kind: &str, args: &PageArgs) -> ApiResult<Self> {
        args::cursor("after", args.after.as_deref())?;
        args::cursor("before", args.before.as_deref())?;
        if args.first.is_some() && args.last.is_some() {
            return Err(ApiError::invalid("give first or last, not both"));
        }
        if args.after.is_some() && args.before.is_some() {
            return Err(ApiError::invalid("give after or before, not both"));
        }
        let backward = args.last.is_some() || args.before.is_some();
        if backward && (args.first.is_some() || args.after.is_some()) {
            return Err(ApiError::invalid(
                "page forward with first/after or backward with last/before",
            ));
        }
        let (direction, n, cursor) = if backward {
            (Direction::Backward, args.last.map(|n| size(config, "last", n)), &args.before)
        } else {
            (Direction::Forward, args.first.map(|n| size(config, "first", n)), &args.after)
        };
        let size = n.transpose()?.unwrap_or(config.page_size_default);
        let from = cursor.as_deref().map(|c| decode(kind, c)).transpose()?;
        Ok(Self { direction, from, size })
    }
}

/// A source of `(key, item)` pairs read one way from a key (see [`paginate`]).
type Fetch<'a, K, T> = dyn FnMut(Direction, Option<&K>, usize) -> ApiResult<Vec<(K, T)>> + 'a;

/// The page `window` asks for over `fetch`, a source of `(key, item)` in list order:
/// `fetch(direction, from, n)` returns at most `n` items strictly after (`Forward`) or before
/// (`Backward`) `from`, nearest first.
pub fn paginate<K, T>(
    kind: &str,
    window: &Window<K>,
    meta: ViewMeta,
    total_count: Option<u64>,
    mut fetch: impl FnMut(Direction, Option<&K>, usize) -> ApiResult<Vec<(K, T)>>,
) -> ApiResult<Connection<T>>
where
    K: CursorKey,
{
    let mut items = fetch(window.direction, window.from.as_ref(), window.size.saturating_add(1))?;
    let more = items.len() > window.size;
    items.truncate(window.size);
    if window.direction == Direction::Backward {
        items.reverse();
    }
    // Whether anything lies on the other side of the page (for an empty page: of the cursor).
    let other_side = |items: &[(K, T)], fetch: &mut Fetch<'_, K, T>| -> ApiResult<bool> {
        let (direction, edge) = match window.direction {
            Direction::Forward => (Direction::Backward, items.first().map(|(k, _)| k)),
            Direction::Backward => (Direction::Forward, items.last().map(|(k, _)| k)),
        };
        match edge.or(window.from.as_ref()) {
            None => Ok(false),
            Some(key) => Ok(!fetch(direction, Some(key), 1)?.is_empty()),
        }
    };
    let other = other_side(&items, &mut fetch)?;
    let (has_next_page, has_previous_page) = match window.direction {
        Direction::Forward => (more, other),
        Direction::Backward => (other, more),
    };
    let edges: Vec<Edge<T>> =
        items.into_iter().map(|(key, node)| Edge { cursor: encode(kind, &key), node }).collect();
    let page_info = PageInfo {
        has_next_page,
        has_previous_page,
        start_cursor: edges.first().map(|e| e.cursor.clone()),
        end_cursor: edges.last().map(|e| e.cursor.clone()),
    };
    Ok(Connection { edges, page_info, total_count, meta })
}

/// [`paginate`] over a whole list already in memory (total count known); sorts it by key
/// first (stable, so callers' lists already in key order stay as they are).
pub fn paginate_sorted<K, T>(
    kind: &str,
    window: &Window<K>,
    meta: ViewMeta,
    mut items: Vec<(K, T)>,
) -> ApiResult<Connection<T>>
where
    K: CursorKey,
    T: Clone,
{
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let total = u64::try_from(items.len()).unwrap_or(u64::MAX);
    paginate(kind, window, meta, Some(total), |direction, from, n| {
        Ok(slice(&items, direction, from, n))
    })
}

/// At most `n` items of `items` (sorted by key) strictly after / before `from`, nearest first.
pub fn slice<K: Ord + Clone, T: Clone>(
    items: &[(K, T)],
    direction: Direction,
    from: Option<&K>,
    n: usize,
) -> Vec<(K, T)> {
    match direction {
        Direction::Forward => {
            let start = from.map_or(0, |k| items.partition_point(|(key, _)| key <= k));
            items.iter().skip(start).take(n).cloned().collect()
        }
        Direction::Backward => {
            let end = from.map_or(items.len(), |k| items.partition_point(|(key, _)| key < k));
            items[..end].iter().rev().take(n).cloned().collect()
        }
    }
}

/// The `complexity` of a connection field: its page size times the cost of one item.
#[must_use]
pub fn complexity(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first.or(last).map_or(50, |n| usize::try_from(n).unwrap_or(0));
    n.saturating_mul(child).saturating_add(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    fn meta() -> ViewMeta {
        ViewMeta {
            seq: UnsignedInt64(0),
            head_seq: UnsignedInt64(0),
            checkpoint: None,
            quarantined: super::super::views::QuarantineSummary::default(),
            views_stopped: None,
            occurred_at: None,
        }
    }

    fn keys(c: &Connection<u64>) -> Vec<u64> {
        c.edges.iter().map(|e| e.node).collect()
    }

    #[test]
    fn pages_forward_and_backward_with_exact_page_info() {
        let config = ApiConfig::default();
        let items: Vec<(u64, u64)> = (1..=5).map(|k| (k, k)).collect();
        let page = |args: PageArgs| {
            let window = Window::<u64>::new(&config, "t", &args).unwrap();
            paginate_sorted("t", &window, meta(), items.clone()).unwrap()
        };
        let first = page(PageArgs::new(Some(2), None, None, None));
        assert_eq!(keys(&first), [1, 2]);
        assert_eq!(
            (first.page_info.has_previous_page, first.page_info.has_next_page),
            (false, true)
        );
        let second = page(PageArgs::new(Some(2), first.page_info.end_cursor.clone(), None, None));
        assert_eq!(keys(&second), [3, 4]);
        assert_eq!(
            (second.page_info.has_previous_page, second.page_info.has_next_page),
            (true, true)
        );
        let back = page(PageArgs::new(None, None, Some(2), second.page_info.start_cursor.clone()));
        assert_eq!(keys(&back), [1, 2]);
        assert_eq!((back.page_info.has_previous_page, back.page_info.has_next_page), (false, true));
        let tail = page(PageArgs::new(None, None, Some(2), None));
        assert_eq!(keys(&tail), [4, 5]);
        assert_eq!((tail.page_info.has_previous_page, tail.page_info.has_next_page), (true, false));
        assert_eq!(tail.total_count, Some(5));
    }

    #[test]
    fn over_the_max_is_limit_exceeded_and_mixed_directions_are_invalid() {
        let config = ApiConfig::default();
        let over = i32::try_from(config.page_size_max + 1).unwrap_or(i32::MAX);
        let e = Window::<u64>::new(&config, "t", &PageArgs::new(Some(over), None, None, None));
        assert_eq!(e.err().map(|e| e.code), Some(code::LIMIT_EXCEEDED));
        let e = Window::<u64>::new(&config, "t", &PageArgs::new(Some(1), None, Some(1), None));
        assert_eq!(e.err().map(|e| e.code), Some(code::INVALID_INPUT));
        let other = encode("other", &1_u64);
        let e = Window::<u64>::new(&config, "t", &PageArgs::new(None, Some(other), None, None));
        assert_eq!(e.err().map(|e| e.code), Some(code::INVALID_INPUT));
    }
}
