//! `sql`: run one statement on the SQL engine the catalog's contracts name (Trino or Presto)
//! through a port-forward, with the same REST client the checkpoint uses, and print the rows as
//! a table.

use super::{Globals, SpecArgs};
use crate::error::Error;
use crate::forward;
use crate::pipeline::Loaded;
use crate::sql::{Client, QueryResult};

/// Run `sql <statement>`.
pub async fn run(g: &Globals, statement: &str) -> Result<QueryResult, Error> {
    let loaded = Loaded::read(g, &SpecArgs::default())?;
    if statement.trim().is_empty() {
        let offline = crate::contracts::of_catalog(&loaded.catalog, &loaded.resolved).unwrap_or_default();
        let catalog = offline.sql_engine.map(|e| e.catalog).unwrap_or_default();
        return Err(Error::usage("no statement given").with_hint(format!("bigtop-k8s sql \"SHOW SCHEMAS FROM {catalog}\"")));
    }
    let ctx = loaded.connect(g).await?;
    let Some(engine) = &ctx.contracts.sql_engine else {
        return Err(Error::usage("no phase of the catalog provides a SQL engine").with_hint("`bigtop-k8s phases` lists the phases"));
    };
    if !ctx.state.contains_key(&engine.phase) {
        let phase = &engine.phase;
        return Err(Error::prerequisite(format!("the {phase} phase is not installed"))
            .with_hint(format!("bigtop-k8s add-phase {phase} --with-deps")));
    }
    let name = engine.engine.name();
    let fwd = forward::forward(&ctx.cluster.client, &engine.namespace, &engine.service, engine.port, 0)
        .await
        .map_err(|e| Error::failure(format!("cannot reach {name} through a port-forward")).with_source(e))?;
    let client = Client::new(&format!("http://{}", fwd.local), engine.engine, "bigtop")
        .map_err(|e| Error::failure("cannot build an HTTP client").with_source(e))?;
    let catalog = &engine.catalog;
    client.execute(statement).await.map_err(|e| {
        Error::failure(format!("the statement failed on {name}"))
            .with_source(e)
            .with_hint(format!("tables live in catalog {catalog}: `bigtop-k8s sql \"SHOW TABLES FROM {catalog}.<schema>\"`"))
    })
}
