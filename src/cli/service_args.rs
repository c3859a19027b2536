//! The clap definitions of the commands that work with an installed phase's service: `spark`
//! and `kafka`, and how their flags map to the commands' arguments.

use clap::Subcommand;

use crate::commands;

#[derive(Debug, Subcommand)]
pub(super) enum SparkCommand {
    /// Run an application in cluster mode with the phase's S3 settings; prints the driver's log
    /// and fails when the driver does.
    Submit {
        /// job.py or app.jar (shipped in a ConfigMap, up to 900 KiB), or an s3a:// URL.
        app: String,
        /// Arguments of the application (after --).
        #[arg(last = true)]
        args: Vec<String>,
        /// Application name (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// Main class (jars).
        #[arg(long)]
        class: Option<String>,
        /// spark.driver.memory (default: the profile's, in spark-defaults.conf).
        #[arg(long)]
        driver_memory: Option<String>,
        /// spark.executor.memory.
        #[arg(long)]
        executor_memory: Option<String>,
        /// spark.executor.instances.
        #[arg(long)]
        executors: Option<u32>,
        /// Only ask the API server to validate what would be created (server-side dry run).
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum KafkaCommand {
    /// Send records to a topic, one per line of a file or of stdin (the topic is created when
    /// missing).
    Produce {
        /// The topic.
        topic: String,
        /// File of records, one per line; - (the default) for stdin.
        #[arg(default_value = "-")]
        input: String,
    },
    /// Print a topic's records, one per line, until none arrived for --idle-seconds.
    Consume {
        /// The topic.
        topic: String,
        /// Start from the oldest record kept, not only new ones.
        #[arg(long)]
        from_beginning: bool,
        /// Stop after this many records.
        #[arg(long)]
        max: Option<u64>,
        /// Stop when no record arrived for this many seconds.
        #[arg(long, default_value_t = 10)]
        idle_seconds: u64,
    },
}

impl SparkCommand {
    /// `spark submit`'s flags as the command's arguments.
    pub(super) fn submit_args(&self) -> commands::spark::SubmitArgs {
        let SparkCommand::Submit { app, args, name, class, driver_memory, executor_memory, executors, dry_run } = self;
        commands::spark::SubmitArgs {
            app: app.clone(),
            name: name.clone(),
            class: class.clone(),
            args: args.clone(),
            resources: crate::spark::Resources {
                driver_memory: driver_memory.clone(),
                executor_memory: executor_memory.clone(),
                executors: *executors,
            },
            dry_run: *dry_run,
        }
    }
}
