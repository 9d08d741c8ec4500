//! YAML in and out. `node` reads compose files into a position-carrying tree typed like
//! compose-go; `emit` writes Kubernetes objects in a form YAML 1.1 and 1.2 readers agree on.

mod emit;
mod node;
mod split;

pub use emit::{is_plain_safe, to_yaml, write_yaml};
pub use node::{format_float, parse, resolve_plain, Documents, Key, Limits, Node, Value};
pub use split::{every_cut_agrees, parse_split, SPLIT_BYTES};
