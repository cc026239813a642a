//! Relay's `Node` interface: global ids and `node(id:)` / `nodes(ids:)`.
//!
//! A global id is `gid://tally/{Type}/{id}` (Shopify's form), e.g. `gid://tally/Order/W1001`,
//! `gid://tally/Lot/SKU-A/L1` (SKU then lot), each part a ledger id with `%` written `%25` and
//! `/` written `%2F` (`tally_projections::graphql::global_id`). Clients treat it as opaque.
//!
//! Node types and where they come from: `Order` (the `orders` view), `Settlement` and
//! `JournalEntry` (`finance`), `Lot` (`lots`), and `Sku`, `Location`, `Return`, read from their
//! entity streams in the log
//! (`sku:…`, `location:…`, `return:…`: short streams). Each type is readable by the roles of
//! the root field that already serves it (`FIELD_ROLES` rows `Node.Order`, …): a node of a
//! type the caller may not read resolves to null with a `FORBIDDEN` error at its position;
//! an unknown or malformed id resolves to null with `NOT_FOUND` / `INVALID_INPUT`.

use super::args;
use super::audit::{LotTrace, trace};
use super::views::read_view;
use crate::auth::{Auth, FieldGuard};
use crate::error::{ApiError, ApiResult, log_error};
use crate::state::AppState;
use async_graphql::{Context, ID, Interface, Object, SimpleObject};
use tally_domain::Event;
use tally_domain::graphql::UnsignedInt64;
use tally_domain::ids::{JournalEntryId, LocationId, LotId, OrderId, ReturnId, SettlementId, Sku};
use tally_domain::master::{AbcClass, LocationKind};
use tally_domain::money::Money;
use tally_domain::time::Timestamp;
use tally_projections::finance::{self, JournalEntryView, SettlementView};
use tally_projections::graphql::{global_id, parse_global_id};
use tally_projections::lots;
use tally_projections::orders::{self, OrderView};

/// Most ids one `nodes(ids:)` call may ask for.
pub const NODE_IDS_MAX: usize = 100;

/// A SKU's master data (its latest `sku.defined`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Sku", complex)]
pub struct SkuNode {
    /// Its ledger id.
    pub sku: Sku,
    /// Whether stock is kept by lot (with expiry) and allocated first-expiry-first-out.
    pub lot_tracked: bool,
    /// Days before expiry at which a lot may no longer be allocated (a small number).
    pub shelf_life_margin_days: u32,
    /// Standard unit cost.
    pub unit_cost: Money,
    /// ABC class.
    pub abc: AbcClass,
}

#[async_graphql::ComplexObject]
impl SkuNode {
    /// Global id (`gid://tally/Sku/{sku}`).
    #[graphql(name = "id")]
    async fn global_id(&self) -> ID {
        global_id("Sku", &[self.sku.as_str()])
    }
}

/// A location's master data (its latest `location.defined`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Location", complex)]
pub struct LocationNode {
    /// Its ledger id.
    pub location: LocationId,
    /// What kind of place it is.
    pub kind: LocationKind,
    /// Allocation rank: lower ranks are tried first (a small number).
    pub rank: u32,
    /// Channels it ships for (a short list: the channels).
    pub channels: Vec<String>,
}

#[async_graphql::ComplexObject]
impl LocationNode {
    /// Global id (`gid://tally/Location/{location}`).
    #[graphql(name = "id")]
    async fn global_id(&self) -> ID {
        global_id("Location", &[self.location.as_str()])
    }
}

/// A customer return, folded from its stream.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Return", complex)]
pub struct ReturnNode {
    /// Its ledger id.
    pub return_id: ReturnId,
    /// The order it returns units of.
    pub order: OrderId,
    /// When it was authorised (business time).
    pub authorized_at: Timestamp,
    /// Units authorised.
    pub authorized_units: UnsignedInt64,
    /// Units received so far.
    pub received_units: UnsignedInt64,
    /// Units inspected so far.
    pub inspected_units: UnsignedInt64,
    /// When it was closed; null while open.
    pub closed_at: Option<Timestamp>,
}

#[async_graphql::ComplexObject]
impl ReturnNode {
    /// Global id (`gid://tally/Return/{returnId}`).
    #[graphql(name = "id")]
    async fn global_id(&self) -> ID {
        global_id("Return", &[self.return_id.as_str()])
    }
}

/// An object with a global id (Relay): fetch it again with `node(id:)`.
#[derive(Debug, Interface)]
#[graphql(field(
    name = "id",
    method = "global_id",
    ty = "ID",
    desc = "Global id: `gid://tally/{Type}/{id}`, opaque."
))]
#[allow(clippy::large_enum_variant, reason = "one node per answer")]
pub enum Node {
    /// An order.
    Order(OrderView),
    /// A marketplace settlement.
    Settlement(SettlementView),
    /// A lot of a SKU.
    Lot(LotTrace),
    /// A SKU.
    Sku(SkuNode),
    /// A location.
    Location(LocationNode),
    /// A customer return.
    Return(ReturnNode),
    /// A posted journal entry.
    JournalEntry(JournalEntryView),
}

/// The `FIELD_ROLES` row of each node type.
fn row_of(type_name: &str) -> Option<&'static str> {
    Some(match type_name {
        "Order" => "Node.Order",
        "Settlement" => "Node.Settlement",
        "Lot" => "Node.Lot",
        "Sku" => "Node.Sku",
        "Location" => "Node.Location",
        "Return" => "Node.Return",
        "JournalEntry" => "Node.JournalEntry",
        _ => return None,
    })
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no node with id '{id}'"))
}

/// The one part of `parts` parsed as the id `T`.
fn one<T: tally_domain::ids::Id>(id: &str, parts: &[String]) -> ApiResult<T> {
    match parts {
        [part] => args::id("id", part),
        _ => Err(ApiError::invalid(format!("id '{id}' has {} parts, not 1", parts.len()))),
    }
}

/// The decoded events of `stream`, in stream order.
fn stream_events(state: &AppState, stream: &str) -> ApiResult<Vec<(i64, Event)>> {
    let mut out = Vec::new();
    for e in state.log().read_stream(stream, 1) {
        let e = e.map_err(|e| log_error("read stream", &e))?;
        let event = tally_domain::decode(e.event_type(), e.schema_version(), e.payload()).map_err(
            |err| ApiError::internal("decode event", &format!("seq {}: {err}", e.seq())),
        )?;
        out.push((e.occurred_at_ms(), event));
    }
    Ok(out)
}

fn sum(qtys: impl Iterator<Item = u64>) -> u64 {
    qtys.fold(0, u64::saturating_add)
}

/// Resolves one global id, checking the caller's role for its type.
async fn resolve(ctx: &Context<'_>, id: &ID) -> ApiResult<Option<Node>> {
    let state = ctx.data_unchecked::<AppState>();
    args::bounded("id", id.as_str(), 2 * tally_domain::limits::ID_BYTES_MAX + 64)?;
    let (type_name, parts) = parse_global_id(id.as_str())
        .ok_or_else(|| ApiError::invalid(format!("'{}' is not a Tally global id", id.as_str())))?;
    let row = row_of(type_name).ok_or_else(|| not_found(id.as_str()))?;
    let auth = ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous);
    auth.check(row)?;
    let id = id.as_str();
    Ok(match type_name {
        "Order" => {
            let order: OrderId = one(id, &parts)?;
            let view = read_view(state, "orders", None).await?;
            orders::order(&view.reader, order.as_str())
                .map_err(|e| super::views::view_error("orders", &e))?
                .map(Node::Order)
        }
        "Settlement" => {
            let settlement: SettlementId = one(id, &parts)?;
            let view = read_view(state, "finance", None).await?;
            finance::settlement(&view.reader, settlement.as_str())
                .map_err(|e| super::views::view_error("finance", &e))?
                .map(|d| Node::Settlement(d.settlement))
        }
        "JournalEntry" => {
            let entry: JournalEntryId = one(id, &parts)?;
            let view = read_view(state, "finance", None).await?;
            finance::journal_entry(&view.reader, entry.as_str())
                .map_err(|e| super::views::view_error("finance", &e))?
                .map(Node::JournalEntry)
        }
        "Lot" => {
            let [sku, lot] = parts.as_slice() else {
                return Err(ApiError::invalid(format!("lot id '{id}' needs a SKU and a lot")));
            };
            let sku: Sku = args::id("id", sku)?;
            let lot: LotId = args::id("id", lot)?;
            let view = read_view(state, "lots", None).await?;
            lots::trace(&view.reader, sku.as_str(), lot.as_str())
                .map_err(|e| super::views::view_error("lots", &e))?
                .map(|t| Node::Lot(trace(sku.as_str(), lot.as_str(), t, view.meta.clone())))
        }
        "Sku" => {
            let sku: Sku = one(id, &parts)?;
            stream_events(state, &tally_domain::stream::sku(&sku))?.into_iter().rev().find_map(
                |(_, e)| match e {
                    Event::SkuDefined(d) => Some(Node::Sku(SkuNode {
                        sku: d.sku,
                        lot_tracked: d.lot_tracked,
                        shelf_life_margin_days: d.shelf_life_margin_days,
                        unit_cost: d.unit_cost,
                        abc: d.abc,
                    })),
                    _ => None,
                },
            )
        }
        "Location" => {
            let location: LocationId = one(id, &parts)?;
            stream_events(state, &tally_domain::stream::location(&location))?
                .into_iter()
                .rev()
                .find_map(|(_, e)| match e {
                    Event::LocationDefined(l) => Some(Node::Location(LocationNode {
                        location: l.id,
                        kind: l.kind,
                        rank: l.rank,
                        channels: l.channels.iter().map(ToString::to_string).collect(),
                    })),
                    _ => None,
                })
        }
        "Return" => {
            let return_id: ReturnId = one(id, &parts)?;
            let events = stream_events(state, &tally_domain::stream::return_of(&return_id))?;
            let mut node: Option<ReturnNode> = None;
            for (at_ms, event) in events {
                match (&mut node, event) {
                    (None, Event::ReturnAuthorized(a)) => {
                        node = Some(ReturnNode {
                            return_id: a.return_id,
                            order: a.order,
                            authorized_at: Timestamp::from_millis(at_ms),
                            authorized_units: UnsignedInt64(sum(a
                                .lines
                                .iter()
                                .map(|l| l.qty.get()))),
                            received_units: UnsignedInt64(0),
                            inspected_units: UnsignedInt64(0),
                            closed_at: None,
                        });
                    }
                    (Some(n), Event::ReturnReceived(r)) => {
                        let units = sum(r.items.iter().map(|i| i.qty.get()));
                        n.received_units = UnsignedInt64(n.received_units.0.saturating_add(units));
                    }
                    (Some(n), Event::ReturnInspected(r)) => {
                        let units = sum(r.items.iter().map(|i| i.qty.get()));
                        n.inspected_units =
                            UnsignedInt64(n.inspected_units.0.saturating_add(units));
                    }
                    (Some(n), Event::ReturnClosed(_)) => {
                        n.closed_at = Some(Timestamp::from_millis(at_ms))
                    }
                    _ => {}
                }
            }
            node.map(Node::Return)
        }
        _ => None,
    })
}

/// `resolve`, an unknown id being `NOT_FOUND`.
async fn resolve_found(ctx: &Context<'_>, id: &ID) -> ApiResult<Node> {
    resolve(ctx, id).await?.ok_or_else(|| not_found(id.as_str()))
}

/// The `node` and `nodes` root fields.
#[derive(Debug, Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global id, or null (with `NOT_FOUND`) when there is none; null
    /// with `FORBIDDEN` when the caller's role may not read its type.
    #[graphql(guard = "FieldGuard(\"Query.node\")")]
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as `id` of a node gives it.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        Ok(Some(resolve_found(ctx, &id).await?))
    }

    /// The objects with these global ids, in the same order: null (with an error at its
    /// index) for an id that is unknown, malformed, or of a type the caller may not read.
    #[graphql(guard = "FieldGuard(\"Query.nodes\")")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids (at most 100).")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > NODE_IDS_MAX {
            return Err(ApiError::new(
                crate::error::code::LIMIT_EXCEEDED,
                format!("ids has {} entries, more than {NODE_IDS_MAX}", ids.len()),
            )
            .into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            match resolve_found(ctx, id).await {
                Ok(node) => out.push(Some(node)),
                Err(e) => {
                    // Null at this index, with the error's path pointing at it.
                    let error: async_graphql::Error = e.into();
                    let mut error = ctx.set_error_path(error.into_server_error(ctx.item.pos));
                    error.path.push(async_graphql::PathSegment::Index(index));
                    ctx.add_error(error);
                    out.push(None);
                }
            }
        }
        Ok(out)
    }
}

/// The global id of the object an event stream belongs to, when that object is a node:
/// `order:`, `return:`, `settlement:`, `sku:`, `location:` and `lot:` streams name theirs; a
/// stock position (`inventory:{location}:{sku}[:{lot}]`) gives its SKU. Other streams (channels,
/// payouts, the manual journal, command markers) have none.
#[must_use]
pub fn stream_node_id(stream: &str) -> Option<ID> {
    let (kind, parts) = tally_domain::stream::parse(stream)?;
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    Some(match (kind, parts.as_slice()) {
        ("order", [id]) => global_id("Order", &[id]),
        ("return", [id]) => global_id("Return", &[id]),
        ("settlement", [id]) => global_id("Settlement", &[id]),
        ("sku", [id]) | ("inventory", [_, id] | [_, id, _]) => global_id("Sku", &[id]),
        ("location", [id]) => global_id("Location", &[id]),
        ("lot", [sku, lot]) => global_id("Lot", &[sku, lot]),
        _ => return None,
    })
}

/// Resolves `id` for a mutation's `changed`: `None` when the caller's role may not read its
/// type or the views do not hold it (yet); other errors as they are.
pub async fn resolve_readable(ctx: &Context<'_>, id: &ID) -> ApiResult<Option<Node>> {
    match resolve(ctx, id).await {
        Ok(node) => Ok(node),
        Err(e)
            if e.code == crate::error::code::FORBIDDEN
                || e.code == crate::error::code::NOT_FOUND =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
