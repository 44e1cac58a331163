//! Parse and validate what clients send, and turn it into `model` records.
//!
//! Nothing here touches storage: a handler calls these functions, then hands
//! the records to the store.

pub mod error;
pub mod rest;
pub mod time;
pub mod value;

pub use error::FieldError;
