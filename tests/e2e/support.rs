//! What the opt-in end-to-end tests on Kind share: running the binary, and a sequence of steps
//! that deletes the cluster when one fails.

use std::process::Command;

/// Run `bigtop-k8s args`, echoing its output; exit code, stdout, stderr.
pub fn bigtop(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s")).args(args).output().expect("the binary runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    eprintln!("$ bigtop-k8s {}\n{stdout}{stderr}", args.join(" "));
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// Run each step in order; on the first failure delete Kind cluster `name` and panic.
pub fn steps_or_delete(name: &str, steps: &[&[&str]]) {
    for step in steps {
        let (code, _, _) = bigtop(step);
        if code != 0 {
            bigtop(&["delete-cluster", "--name", name]);
            panic!("{} failed with exit code {code}", step.join(" "));
        }
    }
}
