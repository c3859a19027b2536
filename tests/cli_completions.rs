//! R0: shell completions and the manual page come from the same clap definitions as the CLI, so
//! they list every subcommand and flag.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s")).args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {err}");
        for sub in ["add-phase", "remove-phase", "verify", "create-cluster", "spark", "completions"] {
            assert!(out.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid value 'tcsh'") && err.contains("possible values"), "{err}");
}

#[test]
fn the_manual_page_is_roff_for_the_whole_cli() {
    let (code, out, err) = run(&["man"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(".TH bigtop-k8s 1"), "{}", &out[..200.min(out.len())]);
    for sub in ["add\\-phase", "remove\\-phase", "create\\-cluster", "completions"] {
        assert!(out.contains(sub), "the manual page lacks {sub}");
    }
}
