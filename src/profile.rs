//! Sizing profiles: laptop, ci, production.

use serde::Deserialize;

/// A sizing profile: picks per-profile parameter defaults and the resource budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// A laptop or Docker Desktop: smallest footprint.
    #[default]
    Laptop,
    /// A CI runner: small, but with headroom for parallel jobs.
    Ci,
    /// Real infrastructure.
    Production,
}

impl Profile {
    /// Every profile, for lint tests and help.
    pub const ALL: [Profile; 3] = [Profile::Laptop, Profile::Ci, Profile::Production];

    /// The name used in `addon.yaml` and `bigtop.yaml`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Laptop => "laptop",
            Profile::Ci => "ci",
            Profile::Production => "production",
        }
    }
}
