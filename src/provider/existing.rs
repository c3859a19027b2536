//! The existing provider: whatever `--kubeconfig`/`--context` point at. Never created or deleted
//! by us.

use super::{Provider, Provisioned};
use crate::cluster::Target;
use crate::error::Error;
use crate::pipeline::Globals;

/// The cluster the kubeconfig points at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Existing;

impl Provider for Existing {
    type Deleted = ();

    async fn create(&self, g: &Globals) -> Result<Provisioned, Error> {
        let name = g.target.context.clone().unwrap_or_else(|| "current context".into());
        Ok(Provisioned { target: self.kubeconfig(g), reused: true, name })
    }

    async fn delete(&self, _: &Globals) -> Result<(), Error> {
        Err(Error::usage("bigtop-k8s never deletes an existing cluster").with_hint("remove its phases with `bigtop-k8s remove-phase`"))
    }

    fn kubeconfig(&self, g: &Globals) -> Target {
        g.target.clone()
    }
}
