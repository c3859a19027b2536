//! R0: the knative addon from its pinned upstream bytes (`../shared/upstream`, fetched the way
//! `add-phase` fetches them, sha256 checked) with its patches: Kourier is the ingress class,
//! routes are cluster-local, tags of the listed registries are not resolved, the gateway's
//! Service is no LoadBalancer, every container's CPU request is the profile's — and what
//! `phases` declares the patched workloads request is what they request, under every profile.
//! Every image the manifests run is listed in the addon (for `phases` and image preloading).

mod common;

use std::collections::BTreeSet;

use bigtop_k8s::budget::{self, Requests};
use bigtop_k8s::catalog::Catalog;
use bigtop_k8s::fetch::Fetcher;
use bigtop_k8s::params::{self, Overrides};
use bigtop_k8s::profile::Profile;
use bigtop_k8s::render::{Fetched, RenderInput, render_addon};
use serde_json::Value;

async fn rendered(profile: Profile) -> Vec<Value> {
    let catalog = Catalog::embedded().unwrap();
    let addon = &catalog.addons["knative"];
    let cache = tempfile::tempdir().unwrap();
    // SAFETY of the test: only this test binary's threads read the variable.
    unsafe { std::env::set_var("BIGTOP_K8S_CACHE", cache.path()) };
    let fetcher = Fetcher::new(Some(common::mirror()));
    let mut fetched = Fetched::new();
    for source in &addon.sources {
        fetched.insert(source.name.clone(), fetcher.fetch(source).await.unwrap());
    }
    let resolved = params::resolve(&catalog, profile, &Overrides::default()).unwrap();
    let input = RenderInput::new(&catalog, "knative", &resolved, profile).with_fetched(fetched);
    render_addon(&input).unwrap()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[tokio::test]
async fn the_patched_release_manifests_are_what_the_addon_says() {
    let catalog = Catalog::embedded().unwrap();
    let addon = &catalog.addons["knative"];
    for profile in Profile::ALL {
        let objects = rendered(profile).await;
        assert_eq!(find(&objects, "ConfigMap", "config-network")["data"]["ingress-class"], "kourier.ingress.networking.knative.dev");
        assert_eq!(find(&objects, "ConfigMap", "config-domain")["data"]["svc.cluster.local"], "");
        let skipped = find(&objects, "ConfigMap", "config-deployment")["data"]["registries-skipping-tag-resolving"].as_str().unwrap();
        assert!(skipped.split(',').any(|r| r == "docker.io"), "the function's registry: {skipped}");
        assert_eq!(find(&objects, "Service", "kourier")["spec"]["type"], "ClusterIP");

        let cpu = match profile {
            Profile::Production => "100m",
            _ => "25m",
        };
        let deployments: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Deployment").collect();
        assert_eq!(deployments.len(), 6, "activator, autoscaler, controller, webhook, Kourier's controller and gateway");
        for d in &deployments {
            for c in d["spec"]["template"]["spec"]["containers"].as_array().unwrap() {
                assert_eq!(c["resources"]["requests"]["cpu"], cpu, "{} under {}", d["metadata"]["name"], profile.name());
            }
        }
        let declared = Requests::of(&addon.source_requests[profile.name()]);
        assert_eq!(budget::requests(&objects), declared, "source-requests of {} under {}", addon.name, profile.name());
    }

    let objects = rendered(Profile::Laptop).await;
    let run: BTreeSet<String> = objects
        .iter()
        .filter_map(|o| o.pointer("/spec/template/spec/containers"))
        .flat_map(|cs| cs.as_array().unwrap().iter().map(|c| c["image"].as_str().unwrap().to_string()))
        .collect();
    let listed: BTreeSet<String> = addon.images.values().cloned().collect();
    assert!(run.is_subset(&listed), "images the manifests run that the addon does not list: {:?}", run.difference(&listed));
    let queue = find(&objects, "ConfigMap", "config-deployment")["data"]["queue-sidecar-image"].as_str().unwrap().to_string();
    assert!(listed.contains(&queue), "queue-proxy's image, which Knative adds to every function pod");
}
