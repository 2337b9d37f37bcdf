//! Who is calling: the Upload API's public key and signed-upload checks, and the REST API's
//! `Uploadcare.Simple` and `Uploadcare` (HMAC-SHA1) schemes.

pub mod rest;
pub mod upload;
