//! R0: the documentation keeps up with the code — the catalog-format page names every
//! parameter, setup and checkpoint kind the code accepts, each phase's page every parameter of
//! the phase and its addons, and the commands page every command and every long flag its
//! `--help` lists.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use bigtop_k8s::catalog::{Checkpoint, Setup};
use bigtop_k8s::validation::Validation;

fn page(name: &str) -> String {
    std::fs::read_to_string(common::repo().join("docs").join(name)).unwrap_or_else(|e| panic!("docs/{name}: {e}"))
}

#[test]
fn the_catalog_format_page_names_every_kind() {
    let doc = page("catalog.md");
    let kinds = Validation::KINDS.iter().chain(Setup::KINDS.iter()).chain(Checkpoint::KINDS.iter());
    let missing: Vec<&&str> = kinds.filter(|k| !doc.contains(&format!("`{k}`")) && !doc.contains(&format!("`{k} "))).collect();
    assert!(missing.is_empty(), "kinds the code accepts that docs/catalog.md does not name: {missing:?}");
}

#[test]
fn each_phase_has_a_page_naming_every_parameter() {
    let catalog = bigtop_k8s::catalog::Catalog::embedded().unwrap();
    let declared = bigtop_k8s::params::declared(&catalog);
    for phase in &catalog.phases {
        let doc = page(&format!("phases/{}.md", phase.name));
        let addons: Vec<&String> = phase.choice.iter().flat_map(|c| c.options.values().flatten()).chain(&phase.addons).collect();
        let owned = |key: &String| key.starts_with(&format!("{}.", phase.name)) || addons.iter().any(|a| key.starts_with(&format!("{a}.")));
        let missing: Vec<&String> = declared.keys().filter(|k| owned(k) && !doc.contains(&format!("`{k}`"))).collect();
        assert!(missing.is_empty(), "parameters docs/phases/{}.md does not name: {missing:?}", phase.name);
    }
}

fn help(path: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bigtop-k8s")).args(path).arg("--help").env_remove("KUBECONFIG").output().unwrap();
    assert!(out.status.success(), "{path:?} --help: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a `--help` lists (clap's "Commands:" section), without `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect()
}

/// The long flags a `--help` lists.
fn flags(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '=' || c == '<')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_string())
        .filter(|f| f != "--help" && f != "--version")
        .collect()
}

#[test]
fn the_commands_page_covers_every_command_and_flag() {
    let doc = page("commands.md");
    let mut missing = Vec::new();
    let mut queue: Vec<Vec<String>> = subcommands(&help(&[])).into_iter().map(|c| vec![c]).collect();
    assert!(queue.len() > 10, "{queue:?}");
    while let Some(path) = queue.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let name = path.join(" ");
        if !doc.contains(&format!("`{name}")) {
            missing.push(format!("command `{name}`"));
        }
        for flag in flags(&text) {
            if !doc.contains(&flag) {
                missing.push(format!("{name} {flag}"));
            }
        }
        queue.extend(subcommands(&text).into_iter().map(|c| [path.clone(), vec![c]].concat()));
    }
    assert!(missing.is_empty(), "docs/commands.md does not cover: {missing:#?}");
}
