//! Preflight: judge what Docker and the host report against what a profile needs. Each check is
//! pass/warn/fail with the fix. Pure, except the two readers of host facts at the bottom.

use serde::Serialize;

use crate::catalog::Budget;
use crate::docker::Facts;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Fine.
    Pass,
    /// Works, but something may bite later.
    Warn,
    /// Blocks bigtop-k8s.
    Fail,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Result.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// How to fix it (empty on pass).
    pub fix: String,
}

/// A check result.
pub fn check(name: &str, verdict: Verdict, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check { name: name.into(), verdict, detail: detail.into(), fix: fix.into() }
}

/// What the profile's default stack needs from the machine.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// CPUs, millicores.
    pub cpu_milli: u64,
    /// Free disk for images and volumes, bytes.
    pub disk_bytes: u64,
}

/// Room for node images, component images and volumes of the default stack.
pub const DISK_NEEDED: u64 = 20 << 30;

impl Needs {
    /// What a profile's budget asks for (nothing, without a budget).
    pub fn from_budget(budget: Option<&Budget>) -> Needs {
        Needs {
            memory_bytes: budget.and_then(|b| crate::validation::quantity_bytes(&b.memory)).unwrap_or(0),
            cpu_milli: budget.map(|b| crate::budget::cpu_milli(&b.cpu)).unwrap_or(0),
            disk_bytes: DISK_NEEDED,
        }
    }
}

/// Host facts that Docker does not report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host {
    /// `fs.inotify.max_user_watches` and `max_user_instances` (Linux only).
    pub inotify: Option<(u64, u64)>,
    /// Free bytes where Docker keeps its data, when readable from here.
    pub free_disk: Option<u64>,
}

/// inotify limits kind's documentation asks for (many kubelets and controllers watch files).
pub const INOTIFY_WATCHES: u64 = 524_288;
/// See [`INOTIFY_WATCHES`].
pub const INOTIFY_INSTANCES: u64 = 512;

const GIB: f64 = (1u64 << 30) as f64;

/// The Docker checks, in doctor's order.
pub fn docker_checks(f: &Facts, needs: Needs, host: Host) -> Vec<Check> {
    let mut out = vec![check("docker engine", Verdict::Pass, format!("Docker {} (API {})", f.version, f.api_version), "")];
    let (have, want) = (f.memory_bytes as f64 / GIB, needs.memory_bytes as f64 / GIB);
    let memory_fix = "give Docker more memory (Docker Desktop: Settings → Resources) or use a smaller --profile";
    out.push(match have {
        h if h < want => check("docker memory", Verdict::Fail, format!("{h:.1} GiB, the profile needs {want:.1} GiB"), memory_fix),
        h if h < want * 1.5 => {
            check("docker memory", Verdict::Warn, format!("{h:.1} GiB, little headroom over the {want:.1} GiB needed"), memory_fix)
        }
        h => check("docker memory", Verdict::Pass, format!("{h:.1} GiB (needs {want:.1})"), ""),
    });
    let cpus_needed = needs.cpu_milli.div_ceil(1000);
    out.push(if f.cpus < cpus_needed {
        check(
            "docker cpus",
            Verdict::Warn,
            format!("{} CPUs, the profile requests {cpus_needed}", f.cpus),
            "give Docker more CPUs; pods will wait for CPU otherwise",
        )
    } else {
        check("docker cpus", Verdict::Pass, format!("{} CPUs", f.cpus), "")
    });
    out.push(match f.cgroup_version.as_str() {
        "2" => check("cgroup version", Verdict::Pass, "cgroup v2", ""),
        v => check(
            "cgroup version",
            Verdict::Warn,
            format!("cgroup v{v}: kind works, but rootless mode and newer Kubernetes need v2"),
            "boot with systemd.unified_cgroup_hierarchy=1, see https://kind.sigs.k8s.io/docs/user/known-issues/",
        ),
    });
    if f.rootless {
        out.push(check(
            "rootless docker",
            Verdict::Warn,
            "rootless engine",
            "rootless needs cgroup v2 with delegation: https://kind.sigs.k8s.io/docs/user/rootless/",
        ));
    }
    if let Some((watches, instances)) = host.inotify {
        out.push(if watches < INOTIFY_WATCHES || instances < INOTIFY_INSTANCES {
            check(
                "inotify limits",
                Verdict::Warn,
                format!("max_user_watches={watches}, max_user_instances={instances}: pods fail with \"too many open files\""),
                format!("sudo sysctl fs.inotify.max_user_watches={INOTIFY_WATCHES} fs.inotify.max_user_instances={INOTIFY_INSTANCES}"),
            )
        } else {
            check("inotify limits", Verdict::Pass, format!("max_user_watches={watches}, max_user_instances={instances}"), "")
        });
    }
    if let Some(free) = host.free_disk {
        let (have, want) = (free as f64 / GIB, needs.disk_bytes as f64 / GIB);
        let fix = format!("free space under {} (docker system prune) or move Docker's data root", f.root_dir);
        out.push(match have {
            h if h < want / 2.0 => check("free disk", Verdict::Fail, format!("{h:.1} GiB free, about {want:.0} GiB needed"), fix),
            h if h < want => check("free disk", Verdict::Warn, format!("{h:.1} GiB free, about {want:.0} GiB needed"), fix),
            h => check("free disk", Verdict::Pass, format!("{h:.1} GiB free under {}", f.root_dir), ""),
        });
    }
    out
}

impl Host {
    /// Read this machine's facts; `docker_root` is where Docker keeps its data.
    pub fn read(docker_root: &str) -> Host {
        Host { inotify: read_inotify(), free_disk: read_free_disk(docker_root) }
    }
}

/// The inotify limits of this (Linux) host.
pub fn read_inotify() -> Option<(u64, u64)> {
    let read = |name: &str| std::fs::read_to_string(format!("/proc/sys/fs/inotify/{name}")).ok()?.trim().parse().ok();
    Some((read("max_user_watches")?, read("max_user_instances")?))
}

/// Free bytes of the filesystem holding `path`, via POSIX `df -Pk` (absent when the path is
/// not on this host, e.g. inside Docker Desktop's VM).
pub fn read_free_disk(path: &str) -> Option<u64> {
    let out = std::process::Command::new("df").args(["-Pk", path]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let available_kib: u64 = text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
    out.status.success().then_some(available_kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(memory_gib: u64, cgroup: &str) -> Facts {
        Facts {
            version: "28.2.2".into(),
            api_version: "1.47".into(),
            memory_bytes: memory_gib << 30,
            cpus: 4,
            cgroup_version: cgroup.into(),
            rootless: false,
            root_dir: "/var/lib/docker".into(),
        }
    }

    const NEEDS: Needs = Needs { memory_bytes: 6 << 30, cpu_milli: 4000, disk_bytes: 20 << 30 };

    #[test]
    fn memory_cgroup_inotify_and_disk_verdicts() {
        let host = Host { inotify: Some((8192, 128)), free_disk: Some(5 << 30) };
        let checks = docker_checks(&facts(4, "1"), NEEDS, host);
        let by = |n: &str| checks.iter().find(|c| c.name == n).unwrap().clone();
        assert_eq!(by("docker memory").verdict, Verdict::Fail);
        assert_eq!(by("cgroup version").verdict, Verdict::Warn);
        assert_eq!(by("inotify limits").fix, "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512");
        assert_eq!(by("free disk").verdict, Verdict::Fail);
        let ok = docker_checks(&facts(16, "2"), NEEDS, Host { inotify: Some((524_288, 512)), free_disk: Some(100 << 30) });
        assert!(ok.iter().all(|c| c.verdict == Verdict::Pass), "{ok:?}");
    }
}
