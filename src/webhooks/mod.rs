//! Webhooks: hooks (subscriptions) a project makes through the REST API, the events every
//! change to a file produces, and their delivery to each hook's target.
//!
//! - [`hooks`]: events one may subscribe to, validation of hook settings with production's
//!   answers, the REST `webhook` object.
//! - [`events`]: the payload of an event, written to the outbox in the same transaction as
//!   the change it describes, and the exact body each hook receives.
//! - [`delivery`]: signing, sending one delivery, and the retry schedule.
//! - [`worker`]: the background worker that fans events out and sends deliveries, and the
//!   flush tests use.

pub mod delivery;
pub mod events;
pub mod hooks;
pub mod worker;
