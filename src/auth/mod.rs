//! API keys and tokens: how a request proves which project and session it
//! belongs to.

pub mod api_key;
pub mod revocation;
pub mod token;
