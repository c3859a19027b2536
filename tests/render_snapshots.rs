//! R0: snapshots of every addon's own templates rendered under every profile (upstream sources
//! and labels are left out), with fixed stand-ins for generated
//! credentials. A template change shows up as a reviewable diff; regenerate with
//! `BLESS=1 cargo test --test render_snapshots`.

use bigtop_k8s::catalog::Catalog;
use bigtop_k8s::params::{self, Overrides};
use bigtop_k8s::profile::Profile;
use bigtop_k8s::render::{RenderInput, render_templates, to_yaml};

#[test]
fn rendered_addons_match_their_snapshots() {
    let catalog = Catalog::embedded().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let bless = std::env::var_os("BLESS").is_some();
    let mut stale = Vec::new();
    for profile in Profile::ALL {
        let resolved = params::resolve(&catalog, profile, &Overrides::default()).unwrap();
        for name in catalog.addons.keys() {
            let input = RenderInput::new(&catalog, name, &resolved, profile).with_stand_ins(|g, k| format!("{}-{k}", g.secret));
            let yaml = to_yaml(&render_templates(&input).unwrap());
            let path = dir.join(format!("{name}-{}.yaml", profile.name()));
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &yaml).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(yaml.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "rendered output differs from (or lacks) its snapshot; review and run `BLESS=1 cargo test --test render_snapshots`: {stale:?}"
    );
}
