//! Version configuration: the values an operator sets for the variables a
//! version's manifest declares (`lifecycle::variables` has the rules),
//! kept per version, secrets sealed at rest (`keyring.rs`) and never
//! answered back, carried over from the previous version at registration,
//! and given to the cluster (`settled.rs`) as the version's ConfigMap and
//! Secret. A start is refused while a required one is missing
//! (`versions::action`); a change to a running version rolls its pods.

pub(crate) mod carry;
pub(crate) mod keyring;
mod rotate;
mod service;
pub(crate) mod settled;
pub(crate) mod store;
mod values;

pub use lifecycle::variables::ConfigField;

pub use carry::carry_over;
pub use keyring::{KeyError, Keyring, next_path};
pub use rotate::rotate;
pub use settled::{Settled, files_name, secret_name};
pub use store::{configure, fields, set_names, settled};
pub use values::{ConfigError, Configured, ValueChange};
