//! Kafka's console tools on the test machine: Kafka 4.1.1's classpath from Maven Central
//! (`tests/env/build-kafka.sh`) behind the stand-in for the image's `bin/*.sh`
//! (`tests/env/images/scripts/kafka-run.sh`), laid out as in the image (`bin/`, `libs/`).

use std::path::{Path, PathBuf};

/// The scripts the phase's start.sh and checkpoint.sh call.
pub const SCRIPTS: [&str; 5] =
    ["kafka-storage.sh", "kafka-server-start.sh", "kafka-topics.sh", "kafka-console-producer.sh", "kafka-console-consumer.sh"];

fn classpath() -> PathBuf {
    let root = PathBuf::from(std::env::var_os("BIGTOP_R2_KAFKA_ROOT").expect("BIGTOP_R2_KAFKA_ROOT (set by tests/env/test.sh)"));
    assert!(root.join("classpath.done").exists(), "Kafka missing: run `bash tests/env/build-kafka.sh`");
    root.join("classpath")
}

/// `dir/bin/<script>` for each script and `dir/libs`; returns `dir/bin`.
pub fn install_tools(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(classpath(), dir.join("libs")).unwrap();
    let stand_in = super::repo().join("tests/env/images/scripts/kafka-run.sh");
    for script in SCRIPTS {
        std::os::unix::fs::symlink(&stand_in, bin.join(script)).unwrap();
    }
    bin
}
