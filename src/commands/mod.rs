//! Commands: one module per subcommand, each a thin adapter over the pipeline (`crate::pipeline`)
//! or a read-only view of the cluster.

pub mod add;
pub mod capi;
pub mod cluster;
pub mod doctor;
pub mod endpoints;
pub mod images;
pub mod kafka;
pub mod phases;
pub mod remove;
pub mod render;
pub mod rotate;
pub mod spark;
pub mod sql;
pub mod status;
pub mod verify;

pub use crate::pipeline::{Globals, RenderScope, SpecArgs, load_spec, plan_error, render_phase, state_error};
