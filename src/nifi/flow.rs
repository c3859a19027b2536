//! Flows through NiFi's REST API: the root group's children, a flow definition uploaded as a
//! new group (`POST /process-groups/{id}/process-groups/upload`, the multipart form the UI's
//! "Upload flow definition" sends), its controller services (listed, given properties, enabled
//! or disabled together), the group started or stopped, its status and its bulletins. Paths,
//! parameters and entities as read at apache/nifi tag rel/nifi-2.11.0 (ProcessGroupResource,
//! FlowResource, ControllerServiceResource and their DTOs).

use serde_json::{Value, json};

use super::{Body, Nifi, NifiError};

/// A process group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// NiFi's id of it.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A controller service of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// NiFi's id of it.
    pub id: String,
    /// Its revision (an update names the one it changes).
    pub version: u64,
    /// Its Java type.
    pub kind: String,
    /// `ENABLED`, `ENABLING`, `DISABLING` or `DISABLED`.
    pub state: String,
    /// Why NiFi finds it invalid, if it does.
    pub validation_errors: Vec<String>,
}

/// What a group has done in NiFi's last five minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStatus {
    /// FlowFiles received from outside NiFi (Kafka records, batched).
    pub received: u64,
    /// FlowFiles sent out of NiFi (objects written).
    pub sent: u64,
    /// FlowFiles waiting in the group's connections.
    pub queued: u64,
}

impl Nifi {
    /// The root group's id and its child groups.
    ///
    /// # Errors
    /// As any call.
    pub async fn root_groups(&self) -> Result<(String, Vec<Group>), NifiError> {
        let path = "/flow/process-groups/root";
        let answer = self.call(path).await?;
        let flow = &answer["processGroupFlow"];
        let id = flow["id"].as_str().ok_or_else(|| self.protocol(path, &answer))?;
        let children = flow["flow"]["processGroups"].as_array().cloned().unwrap_or_default();
        let groups =
            children.iter().filter_map(|g| Some(Group { id: g["id"].as_str()?.into(), name: g["component"]["name"].as_str()?.into() }));
        Ok((id.to_string(), groups.collect()))
    }

    /// Upload `definition` (a flow definition's JSON) as a new group `name` under `parent`.
    ///
    /// # Errors
    /// As any call; 400 when NiFi cannot read the definition.
    pub async fn upload_group(&self, parent: &str, name: &str, definition: &str) -> Result<Group, NifiError> {
        let path = format!("/process-groups/{parent}/process-groups/upload");
        let boundary = format!("bigtop-k8s-{}", crate::secrets::random(24, crate::catalog::Alphabet::Alphanumeric));
        let client_id = crate::secrets::random(32, crate::catalog::Alphabet::Alphanumeric);
        let fields = [
            ("groupName", name),
            ("positionX", "0.0"),
            ("positionY", "0.0"),
            ("clientId", &client_id),
            ("disconnectedNodeAcknowledged", "false"),
        ];
        let mut bytes = Vec::new();
        for (field, value) in fields {
            bytes.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").into_bytes());
        }
        bytes.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"flow.json\"\r\nContent-Type: application/json\r\n\r\n")
                .into_bytes(),
        );
        bytes.extend(definition.as_bytes());
        bytes.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let answer = self.request(reqwest::Method::POST, &path, Some(Body::Multipart { boundary, bytes })).await?;
        let id = answer["id"].as_str().ok_or_else(|| self.protocol(&path, &answer))?;
        Ok(Group { id: id.to_string(), name: answer["component"]["name"].as_str().unwrap_or(name).to_string() })
    }

    /// The controller services of `group` (not its ancestors' or descendants').
    ///
    /// # Errors
    /// As any call.
    pub async fn services(&self, group: &str) -> Result<Vec<Service>, NifiError> {
        let path = format!("/flow/process-groups/{group}/controller-services?includeAncestorGroups=false&includeDescendantGroups=false");
        let answer = self.call(&path).await?;
        let listed = answer["controllerServices"].as_array().ok_or_else(|| self.protocol(&path, &answer))?;
        listed
            .iter()
            .map(|s| {
                let c = &s["component"];
                Some(Service {
                    id: s["id"].as_str()?.into(),
                    version: s["revision"]["version"].as_u64()?,
                    kind: c["type"].as_str()?.into(),
                    state: c["state"].as_str()?.into(),
                    validation_errors: c["validationErrors"]
                        .as_array()
                        .map(|e| e.iter().filter_map(|m| m.as_str().map(str::to_string)).collect())
                        .unwrap_or_default(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.protocol(&path, &answer))
    }

    /// Set `properties` of a disabled `service` (NiFi refuses with 409 while it is enabled).
    ///
    /// # Errors
    /// As any call.
    pub async fn set_properties(&self, service: &Service, properties: &Value) -> Result<(), NifiError> {
        let body = json!({
            "revision": {"version": service.version},
            "component": {"id": service.id, "properties": properties},
        });
        self.request(reqwest::Method::PUT, &format!("/controller-services/{}", service.id), Some(Body::Json(body))).await.map(drop)
    }

    /// Ask for every controller service of `group` to be `ENABLED` or `DISABLED`; NiFi gets
    /// there in the background ([`Nifi::services`] tells when).
    ///
    /// # Errors
    /// As any call.
    pub async fn set_services_state(&self, group: &str, state: &str) -> Result<(), NifiError> {
        let body = json!({"id": group, "state": state, "disconnectedNodeAcknowledged": false});
        let path = format!("/flow/process-groups/{group}/controller-services");
        self.request(reqwest::Method::PUT, &path, Some(Body::Json(body))).await.map(drop)
    }

    /// Start (`RUNNING`) or stop (`STOPPED`) every processor of `group`.
    ///
    /// # Errors
    /// As any call; 409 when a processor is invalid (a service still disabled).
    pub async fn schedule(&self, group: &str, state: &str) -> Result<(), NifiError> {
        let body = json!({"id": group, "state": state, "disconnectedNodeAcknowledged": false});
        self.request(reqwest::Method::PUT, &format!("/flow/process-groups/{group}"), Some(Body::Json(body))).await.map(drop)
    }

    /// What `group` has done lately.
    ///
    /// # Errors
    /// As any call.
    pub async fn status(&self, group: &str) -> Result<GroupStatus, NifiError> {
        let path = format!("/flow/process-groups/{group}/status?recursive=false");
        let answer = self.call(&path).await?;
        let s = &answer["processGroupStatus"]["aggregateSnapshot"];
        if !s.is_object() {
            return Err(self.protocol(&path, &answer));
        }
        let count = |name: &str| s[name].as_u64().unwrap_or(0);
        Ok(GroupStatus { received: count("flowFilesReceived"), sent: count("flowFilesSent"), queued: count("flowFilesQueued") })
    }

    /// The group's bulletins (warnings and errors its components reported), oldest first.
    ///
    /// # Errors
    /// As any call.
    pub async fn bulletins(&self, group: &str) -> Result<Vec<String>, NifiError> {
        let answer = self.call(&format!("/flow/bulletin-board?groupId={group}&limit=20")).await?;
        let listed = answer["bulletinBoard"]["bulletins"].as_array().cloned().unwrap_or_default();
        Ok(listed
            .iter()
            .filter_map(|b| {
                let b = &b["bulletin"];
                Some(format!("{} {}: {}", b["level"].as_str()?, b["sourceName"].as_str().unwrap_or("?"), b["message"].as_str()?))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    //! Against a loopback server answering in the shapes of NiFi 2.11.0's entities (read at
    //! apache/nifi tag rel/nifi-2.11.0: ProcessGroupFlowEntity, ProcessGroupEntity,
    //! ControllerServicesEntity, ProcessGroupStatusEntity, BulletinBoardEntity), written from
    //! the source: no NiFi runs here.

    use std::time::Duration;

    use super::*;
    use crate::test_pages::serve;

    const ROOT: &str = r#"{"permissions":{"canRead":true,"canWrite":true},"processGroupFlow":{"id":"3f2a0c5e-019a-1000-0000-00000000aaaa","uri":"https://localhost:8443/nifi-api/flow/process-groups/3f2a0c5e-019a-1000-0000-00000000aaaa","parentGroupId":null,"breadcrumb":{"id":"3f2a0c5e-019a-1000-0000-00000000aaaa"},"flow":{"processGroups":[{"revision":{"version":3},"id":"8d1e22f0-019a-1000-0000-00000000bbbb","component":{"id":"8d1e22f0-019a-1000-0000-00000000bbbb","name":"someone else's flow","position":{"x":0.0,"y":0.0}},"runningCount":2,"stoppedCount":0}],"remoteProcessGroups":[],"processors":[],"inputPorts":[],"outputPorts":[],"connections":[],"labels":[],"funnels":[]},"lastRefreshed":"12:00:00 UTC"}}"#;
    const UPLOADED: &str = r#"{"revision":{"version":1},"id":"9a7b0d11-019a-1000-0000-00000000cccc","uri":"https://localhost:8443/nifi-api/process-groups/9a7b0d11-019a-1000-0000-00000000cccc","component":{"id":"9a7b0d11-019a-1000-0000-00000000cccc","parentGroupId":"3f2a0c5e-019a-1000-0000-00000000aaaa","name":"bigtop-k8s lake","runningCount":0,"stoppedCount":2,"invalidCount":0}}"#;

    fn services(kafka_state: &str, aws_state: &str, aws_errors: &str) -> String {
        format!(
            r#"{{"currentTime":"12:00:01 UTC","controllerServices":[
              {{"revision":{{"version":2}},"id":"k-1","parentGroupId":"9a7b0d11","component":{{"id":"k-1","name":"Kafka","type":"org.apache.nifi.kafka.service.Kafka3ConnectionService","state":"{kafka_state}","properties":{{"bootstrap.servers":"kafka.streaming.svc:9092"}},"validationStatus":"VALID"}},"status":{{"runStatus":"{kafka_state}","validationStatus":"VALID"}}}},
              {{"revision":{{"version":5}},"id":"a-1","parentGroupId":"9a7b0d11","component":{{"id":"a-1","name":"Lake key","type":"org.apache.nifi.processors.aws.credentials.provider.service.AWSCredentialsProviderControllerService","state":"{aws_state}","properties":{{"Access Key ID":null}},"validationErrors":[{aws_errors}],"validationStatus":"INVALID"}}}}]}}"#
        )
    }

    #[tokio::test]
    async fn a_flow_is_uploaded_keyed_enabled_started_and_watched() {
        let status = r#"{"processGroupStatus":{"id":"9a7b0d11","name":"bigtop-k8s lake","statsLastRefreshed":"12:01:00 UTC","aggregateSnapshot":{"id":"9a7b0d11","name":"bigtop-k8s lake","flowFilesIn":0,"bytesIn":0,"flowFilesQueued":3,"bytesQueued":120,"flowFilesOut":0,"flowFilesReceived":7,"bytesReceived":31890,"flowFilesSent":4,"bytesSent":18222}}}"#;
        let bulletins = r#"{"bulletinBoard":{"bulletins":[{"id":1,"groupId":"9a7b0d11","sourceId":"p-2","canRead":true,"bulletin":{"id":1,"category":"Log Message","groupId":"9a7b0d11","sourceId":"p-2","sourceName":"PutS3Object","level":"ERROR","message":"Failed to put object: Access Denied","timestamp":"12:01:00 UTC"}}],"generated":"12:01:02 UTC"}}"#;
        let (base, seen) = serve(vec![
            ("GET /nifi-api/flow/process-groups/root ", 200, "", ROOT.into()),
            ("POST /nifi-api/process-groups/3f2a0c5e-019a-1000-0000-00000000aaaa/process-groups/upload", 201, "", UPLOADED.into()),
            (
                "GET /nifi-api/flow/process-groups/9a7b0d11/controller-services?",
                200,
                "",
                services("DISABLED", "DISABLED", r#""'Access Key ID' is invalid""#),
            ),
            ("PUT /nifi-api/controller-services/a-1 ", 200, "", r#"{"revision":{"version":6},"id":"a-1","component":{"id":"a-1"}}"#.into()),
            ("PUT /nifi-api/flow/process-groups/9a7b0d11/controller-services ", 200, "", r#"{"id":"9a7b0d11","state":"ENABLED"}"#.into()),
            ("PUT /nifi-api/flow/process-groups/9a7b0d11 ", 200, "", r#"{"id":"9a7b0d11","state":"RUNNING"}"#.into()),
            ("GET /nifi-api/flow/process-groups/9a7b0d11/status?recursive=false", 200, "", status.into()),
            ("GET /nifi-api/flow/bulletin-board?groupId=9a7b0d11", 200, "", bulletins.into()),
        ])
        .await;
        let nifi = Nifi::new(&base, Duration::from_secs(10)).unwrap();
        let (root, children) = nifi.root_groups().await.unwrap();
        assert_eq!(root, "3f2a0c5e-019a-1000-0000-00000000aaaa");
        assert_eq!(children, vec![Group { id: "8d1e22f0-019a-1000-0000-00000000bbbb".into(), name: "someone else's flow".into() }]);
        let definition = r#"{"flowContents":{"name":"bigtop-k8s lake"}}"#;
        let group = nifi.upload_group(&root, "bigtop-k8s lake", definition).await.unwrap();
        assert_eq!(group, Group { id: "9a7b0d11-019a-1000-0000-00000000cccc".into(), name: "bigtop-k8s lake".into() });

        let listed = nifi.services("9a7b0d11").await.unwrap();
        assert_eq!(listed.len(), 2);
        let aws = &listed[1];
        assert_eq!((aws.id.as_str(), aws.version, aws.state.as_str()), ("a-1", 5, "DISABLED"));
        assert!(aws.kind.ends_with("AWSCredentialsProviderControllerService"));
        assert_eq!(aws.validation_errors, vec!["'Access Key ID' is invalid".to_string()]);
        nifi.set_properties(aws, &json!({"Access Key ID": "AK", "Secret Access Key": "SK"})).await.unwrap();
        nifi.set_services_state("9a7b0d11", "ENABLED").await.unwrap();
        nifi.schedule("9a7b0d11", "RUNNING").await.unwrap();
        assert_eq!(nifi.status("9a7b0d11").await.unwrap(), GroupStatus { received: 7, sent: 4, queued: 3 });
        assert_eq!(nifi.bulletins("9a7b0d11").await.unwrap(), vec!["ERROR PutS3Object: Failed to put object: Access Denied".to_string()]);

        let seen = seen.lock().unwrap().clone();
        // The upload is the multipart form ProcessGroupResource reads: every field, then the file.
        let upload = seen.iter().find(|s| s.line.contains("/upload")).unwrap();
        let boundary = upload.header("content-type").unwrap().split_once("boundary=").unwrap().1.to_string();
        for field in [
            "groupName\"\r\n\r\nbigtop-k8s lake\r\n",
            "positionX\"\r\n\r\n0.0\r\n",
            "positionY\"\r\n\r\n0.0\r\n",
            "disconnectedNodeAcknowledged\"\r\n\r\nfalse\r\n",
        ] {
            assert!(upload.body.contains(&format!("name=\"{field}")), "{field} in {}", upload.body);
        }
        assert!(
            upload
                .body
                .contains(&format!("filename=\"flow.json\"\r\nContent-Type: application/json\r\n\r\n{definition}\r\n--{boundary}--\r\n")),
            "{}",
            upload.body
        );
        let put = |prefix: &str| serde_json::from_str::<Value>(&seen.iter().find(|s| s.line.starts_with(prefix)).unwrap().body).unwrap();
        assert_eq!(
            put("PUT /nifi-api/controller-services/a-1 "),
            json!({"revision": {"version": 5}, "component": {"id": "a-1", "properties": {"Access Key ID": "AK", "Secret Access Key": "SK"}}}),
            "the revision it changes, and only the properties given"
        );
        assert_eq!(put("PUT /nifi-api/flow/process-groups/9a7b0d11/controller-services ")["state"], "ENABLED");
        assert_eq!(put("PUT /nifi-api/flow/process-groups/9a7b0d11 ")["state"], "RUNNING");
    }

    #[tokio::test]
    async fn a_definition_nifi_cannot_read_and_a_service_refusing_changes_are_reported() {
        let (base, _) = serve(vec![
            ("POST /nifi-api/process-groups/root-id/process-groups/upload", 400, "", "Deserialization of uploaded JSON failed".into()),
            ("PUT /nifi-api/controller-services/a-1 ", 409, "", "Controller Service a-1 cannot be updated while it is enabled".into()),
            ("GET /nifi-api/flow/process-groups/g/controller-services?", 200, "", r#"{"controllerServices":[{"id":"x"}]}"#.into()),
        ])
        .await;
        let nifi = Nifi::new(&base, Duration::from_secs(10)).unwrap();
        let e = nifi.upload_group("root-id", "bigtop-k8s lake", "{}").await.unwrap_err();
        assert!(matches!(&e, NifiError::Protocol { status: 400, detail, .. } if detail.contains("Deserialization")), "{e}");
        let service = Service { id: "a-1".into(), version: 1, kind: "x".into(), state: "ENABLED".into(), validation_errors: vec![] };
        let e = nifi.set_properties(&service, &json!({})).await.unwrap_err();
        assert!(matches!(&e, NifiError::Protocol { status: 409, .. }), "{e}");
        let e = nifi.services("g").await.unwrap_err();
        assert!(matches!(&e, NifiError::Protocol { status: 200, .. }), "a service without revision or state: {e}");
    }
}
