//! Running an external tool (kind, clusterctl, go): argv, stdin and extra environment in; stdout
//! on success; on failure the command line, exit code and everything it printed, for the error.

use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// A tool invocation that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{argv}` failed (exit {code}):\n{output}")]
pub struct ToolError {
    /// The command line.
    pub argv: String,
    /// Exit code (-1 when it could not start or was killed).
    pub code: i32,
    /// What it printed (stderr then stdout), trimmed.
    pub output: String,
}

/// Run `path args…` with optional stdin and extra environment; its stdout on success.
pub async fn run(path: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Result<String, ToolError> {
    let argv = format!("{} {}", path.display(), args.join(" "));
    let failed = |output: String| ToolError { argv: argv.clone(), code: -1, output };
    let mut child = tokio::process::Command::new(path)
        .args(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(text.as_bytes()).await.map_err(|e| failed(e.to_string()))?;
    }
    let out = child.wait_with_output().await.map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let output = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout)).trim().to_string();
    Err(ToolError { argv, code: out.status.code().unwrap_or(-1), output })
}

/// Mark a file executable (a downloaded or built tool).
pub fn make_executable(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_exit_code_and_stdin() {
        let sh = Path::new("/bin/sh");
        assert_eq!(run(sh, &["-c", "cat; echo $X"], Some("in "), &[("X", "env")]).await.unwrap(), "in env\n");
        let err = run(sh, &["-c", "echo out; echo err >&2; exit 3"], None, &[]).await.unwrap_err();
        assert_eq!((err.code, err.output.as_str()), (3, "err\nout"));
        assert_eq!(run(Path::new("/nonexistent/tool"), &[], None, &[]).await.unwrap_err().code, -1);
    }
}
