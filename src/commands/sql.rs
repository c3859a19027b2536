//! `sql`: run one statement on the sql phase's engine (Trino or Presto) through a port-forward,
//! with the same REST client the checkpoint uses, and print the rows as a table.

use super::{Globals, state_error};
use crate::cluster::connect;
use crate::error::Error;
use crate::forward;
use crate::sql::{Client, Engine, QueryResult};

/// Run `sql <statement>`.
pub async fn run(g: &Globals, statement: &str) -> Result<QueryResult, Error> {
    if statement.trim().is_empty() {
        return Err(Error::usage("no statement given").with_hint("bigtop-k8s sql \"SHOW SCHEMAS FROM hive\""));
    }
    let cluster = connect(&g.target).await?;
    let state = crate::state::load(&cluster.client).await.map_err(state_error)?;
    let Some(record) = state.get("sql") else {
        return Err(Error::prerequisite("the sql phase is not installed").with_hint("bigtop-k8s add-phase sql --with-deps"));
    };
    let engine_name = if record.addons.contains_key("presto") { "presto" } else { "trino" };
    let engine = Engine::from_name(engine_name).expect("both names are engines");
    let catalog = g.catalog()?;
    let namespace = &catalog.addons[engine_name].namespace;
    let fwd = forward::forward(&cluster.client, namespace, engine_name, 8080, 0)
        .await
        .map_err(|e| Error::failure(format!("cannot reach {engine_name} through a port-forward")).with_source(e))?;
    let client = Client::new(&format!("http://{}", fwd.local), engine, "bigtop")
        .map_err(|e| Error::failure("cannot build an HTTP client").with_source(e))?;
    client.execute(statement).await.map_err(|e| {
        Error::failure(format!("the statement failed on {engine_name}"))
            .with_source(e)
            .with_hint("tables live in catalog hive: `bigtop-k8s sql \"SHOW TABLES FROM hive.<schema>\"`")
    })
}
