//! R0: snapshots of every addon rendered under every profile, with fixed stand-ins for generated
//! credentials. A template change shows up as a reviewable diff; regenerate with
//! `BLESS=1 cargo test --test render_snapshots`.

use bigtop_k8s::catalog::Catalog;
use bigtop_k8s::params::{self, Overrides};
use bigtop_k8s::render::{Fetched, Generated, RenderInput, render_addon, to_yaml};
use bigtop_k8s::spec::Profile;

#[test]
fn rendered_addons_match_their_snapshots() {
    let catalog = Catalog::embedded().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let bless = std::env::var_os("BLESS").is_some();
    let mut stale = Vec::new();
    for profile in Profile::ALL {
        let resolved = params::resolve(&catalog, profile, &Overrides::default()).unwrap();
        for (name, addon) in &catalog.addons {
            let mut generated = Generated::new();
            for g in &addon.generated {
                for k in &g.keys {
                    generated.entry(g.secret.clone()).or_default().insert(k.clone(), format!("{}-{k}", g.secret));
                }
            }
            let def = catalog.phase(&addon.phase).unwrap();
            let input = RenderInput {
                addon,
                params: &params::of_addon(&resolved, name),
                phase_params: &params::of_addon(&resolved, &addon.phase),
                data: &def.data,
                generated: &generated,
                fetched: &Fetched::new(),
                profile,
            };
            let yaml = to_yaml(&render_addon(&input).unwrap());
            let path = dir.join(format!("{name}-{}.yaml", profile.name()));
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &yaml).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(yaml.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(stale.is_empty(), "rendered output differs from (or lacks) its snapshot; review and run `BLESS=1 cargo test --test render_snapshots`: {stale:?}");
}
