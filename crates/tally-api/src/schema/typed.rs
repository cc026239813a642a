//! One typed mutation per domain command, generated from the domain's list
//! ([`tally_domain::for_each_command!`]): the mutation's name, description and input type are
//! the command's own, so adding a command to the domain adds its mutation here with no edit.

use super::inputs::EnvelopeInput;
use super::mutations::{CommandPayload, submit_command};
use crate::auth::MutationGuard;
use async_graphql::{Context, Object};

/// The typed mutations.
#[derive(Debug, Default)]
pub struct TypedMutation;

/// Expands the domain's command list into one resolver per command.
macro_rules! typed_mutations {
    ($($(#[doc = $doc:literal])* $variant:ident($payload:ident) $tag:ident $field:literal;)*) => {
        #[Object]
        impl TypedMutation {
            $(
                $(#[doc = $doc])*
                #[graphql(guard = "MutationGuard")]
                async fn $tag(
                    &self,
                    ctx: &Context<'_>,
                    #[graphql(desc = "The command.")] input: tally_domain::command::$payload,
                    #[graphql(desc = "Idempotency key, source and business time.")]
                    envelope: EnvelopeInput,
                    #[graphql(desc = "Answer only once every view reflects the command (bounded \
                                      by the server's wait; see `viewsCaughtUp`).")]
                    wait_for_views: Option<bool>,
                ) -> async_graphql::Result<CommandPayload> {
                    let command = tally_domain::Command::$variant(input);
                    submit_command(ctx, envelope, command, wait_for_views).await
                }
            )*
        }
    };
}

tally_domain::for_each_command!(typed_mutations);
