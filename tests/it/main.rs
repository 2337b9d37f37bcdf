//! Every integration test in one binary: one link instead of twenty-two (see README,
//! "Tests"). Each module is named after what it exercises.

// The shared harness trips a newer clippy lint.
#[allow(clippy::same_item_push)]
mod common;

mod addons;
mod admin;
mod binary;
mod blob_store;
mod cdn;
mod cdn_transform;
mod concurrency;
mod config_example;
mod console;
mod conversions;
mod copies;
mod crash;
mod from_url;
mod fuzz_cdn_transform;
mod fuzz_parsers;
mod group_batches;
mod hostile_http;
mod isolation;
mod log_secrets;
mod member_parsing;
mod multipart;
mod notify;
mod outage;
mod replica_reads;
mod replicas;
mod resources;
mod rest_auth;
mod rest_errors;
mod rest_files;
mod rest_groups;
mod slow_clients;
mod store_conformance;
mod tags_search;
mod upload_api;
mod upload_groups;
mod webhooks;
