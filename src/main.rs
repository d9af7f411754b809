use clap::{Parser, Subcommand};
use herald::{Application, Roles};
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "Transactional email, SMS and WhatsApp you run yourself"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// API, worker and scheduler in one process (the default for a laptop or a small install).
    All,
    /// The HTTP API only.
    Api,
    /// The queue workers only.
    Worker,
    /// The recurring duties only.
    Scheduler,
    /// Create the database if missing and apply pending migrations, then exit.
    Migrate,
    /// Exit 0 when an http:// URL answers 2xx within 2 s, else 1: a container's health check, in an
    /// image without curl (`herald probe http://127.0.0.1:9090/health/ready`).
    Probe { url: String },
    /// Write the OpenAPI documents (`public.json`, `internal.json`) generated from the routes.
    Openapi {
        /// The directory to write them into.
        #[arg(long, default_value = "openapi")]
        out: std::path::PathBuf,
    },
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user in an organization of its own.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        platform_admin: bool,
    },
    /// Jobs that ran out of attempts.
    DeadJobs {
        #[command(subcommand)]
        command: DeadJobsCommand,
    },
}

#[derive(Subcommand)]
enum DeadJobsCommand {
    /// List the most recent dead jobs.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put dead jobs back on their queues: one by id, or all of them.
    Redrive {
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

/// Whether `url` (`http://host:port/path`) answers 2xx within 2 s.
async fn probe(url: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(rest) = url.strip_prefix("http://") else {
        eprintln!("herald probe: only http:// URLs");
        return false;
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, format!("/{p}")),
        None => (rest, "/".to_owned()),
    };
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await.ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut status_line = [0u8; 12];
        stream.read_exact(&mut status_line).await.ok()?;
        Some(status_line.starts_with(b"HTTP/1.") && status_line[9] == b'2')
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), ask)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Command::Probe { url } = &cli.command {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        return if runtime.block_on(probe(url)) {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        };
    }
    // Needs no settings and no database: the documents come from the routes alone.
    if let Command::Openapi { out } = &cli.command {
        return match api::write_openapi(out) {
            Ok(()) => {
                println!(
                    "wrote {} and {}",
                    out.join("public.json").display(),
                    out.join("internal.json").display()
                );
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("herald: writing {}: {e}", out.display());
                std::process::ExitCode::FAILURE
            }
        };
    }
    let config = match domain::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("herald: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    herald::init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "herald stopped with an error");
            eprintln!("herald: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: domain::Config) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Some(path) = &config.dev_secrets_file {
        tracing::warn!(
            file = %path.display(),
            "DEVELOPMENT SECRETS IN USE: JWT_SECRET and SECRETS_ENCRYPTION_KEY were not set, so generated \
             values are kept in this file. Set both (and HERALD_ENV=production) for any real deployment."
        );
    }
    let roles = match cli.command {
        Command::All => Roles::ALL,
        Command::Api => Roles::API,
        Command::Worker => Roles::WORKER,
        Command::Scheduler => Roles::SCHEDULER,
        Command::Migrate => {
            herald::prepare_database(&config).await?;
            println!("migrations applied");
            return Ok(());
        }
        Command::Openapi { .. } | Command::Probe { .. } => {
            unreachable!("run in main, before any setting is read")
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    email,
                    password,
                    name,
                    platform_admin,
                },
        } => {
            let pool = herald::prepare_database(&config).await?;
            let user =
                domain::identity::create_user(&pool, &email, &password, &name, platform_admin)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}: {e:?}"))?;
            println!("created user {} ({})", user.email, user.id);
            return Ok(());
        }
        Command::Admin {
            command: AdminCommand::DeadJobs { command },
        } => {
            let pool = herald::prepare_database(&config).await?;
            match command {
                DeadJobsCommand::List { limit } => {
                    let jobs = domain::dead_jobs::list(&pool, limit)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("{} dead job(s)", jobs.len());
                    for j in jobs {
                        let error = j.last_error.map(|e| e.to_string()).unwrap_or_default();
                        println!(
                            "{}\t{}\t{} attempts\t{}\t{}",
                            j.id,
                            j.queue,
                            j.attempts,
                            j.failed_at.to_rfc3339(),
                            error
                        );
                    }
                }
                DeadJobsCommand::Redrive { id, all: _ } => {
                    let n = domain::dead_jobs::redrive(&pool, id.as_deref())
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("redrove {n} job(s)");
                }
            }
            return Ok(());
        }
    };
    let app = Application::build(config, roles).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(app.run(stop_rx));
    herald::shutdown_signal().await;
    tracing::info!("stopping: finishing in-flight work");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(herald::STOP_GRACE, running).await {
        Ok(joined) => joined??,
        Err(_) => tracing::warn!("in-flight work did not finish in time; exiting anyway"),
    }
    Ok(())
}
