//! `herald-bench`: drives a running Herald (`herald all`, or api and worker processes) and prints what
//! users feel — time to a 202, messages per second end to end, webhook deliveries per second, listing
//! latency, memory — beside the physical floor (pgbench doing the accept's inserts) and a peer queue
//! (graphile-worker on the same Postgres). See the README's "Performance" section.

mod peer;
mod receiver;

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use serde_json::{Value, json};
use sqlx::PgPool;

#[derive(Parser, Clone)]
#[command(name = "herald-bench", about = "Benchmarks a running Herald")]
struct Args {
    /// The API of the Herald under test.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The same database the Herald under test uses (for end-to-end timings, seeding and the floor).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/herald"
    )]
    database_url: String,
    /// A platform admin, to approve the benchmark's sender ID.
    #[arg(long, env = "PLATFORM_ADMIN_EMAIL")]
    admin_email: String,
    #[arg(long, env = "PLATFORM_ADMIN_PASSWORD")]
    admin_password: String,
    /// Seconds each accept scenario runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages for the end-to-end run.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Deliveries for each webhook run (a tenth of them to a receiver that holds 20 at a time for
    /// 200 ms each, which takes 100 a second at most).
    #[arg(long, default_value_t = 10_000)]
    deliveries: usize,
    /// Largest listing table (10k, 100k, … up to this).
    #[arg(long, default_value_t = 1_000_000)]
    listing_max: usize,
    /// Jobs for the queue comparison.
    #[arg(long, default_value_t = 20_000)]
    jobs: usize,
    /// Which scenarios to run. `accept` leaves its messages queued (run it against `herald api`
    /// alone, as scripts/bench does); `webhooks-wide` is for a Herald with
    /// WEBHOOK_ENDPOINT_CONCURRENCY=200.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "floor,accept,batch,pickup,e2e,webhooks,listing,peer,memory"
    )]
    only: Vec<String>,
}

pub struct Tenant {
    token: String,
    key: String,
    organization_id: String,
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut r = c.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

async fn setup(args: &Args, c: &reqwest::Client) -> anyhow::Result<Tenant> {
    let base = &args.base_url;
    let email = format!("bench-{}@bench.test", uuid::Uuid::now_v7().simple());
    let signup = c
        .post(format!("{base}/v1/auth/signup"))
        .json(&json!({"organizationName": "Bench", "name": "Bench", "email": email, "password": "bench password 123"}))
        .send()
        .await?
        .json::<Value>()
        .await?;
    let token = signup["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("signup failed: {signup}"))?
        .to_owned();
    let admin = c
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": args.admin_email, "password": args.admin_password}))
        .send()
        .await?
        .json::<Value>()
        .await?;
    let admin = admin["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("admin login failed: {admin}"))?;
    let req = call(
        c,
        reqwest::Method::POST,
        format!("{base}/v1/sms/sender-id-requests"),
        &token,
        Some(json!({"senderId": "Bench", "useCase": "benchmark"})),
    )
    .await?;
    call(
        c,
        reqwest::Method::POST,
        format!(
            "{base}/v1/sms/sender-id-requests/{}/review",
            req["id"].as_str().unwrap()
        ),
        admin,
        Some(json!({"decision": "APPROVE"})),
    )
    .await?;
    let key = call(
        c,
        reqwest::Method::POST,
        format!("{base}/v1/api-keys"),
        &token,
        Some(json!({"name": "bench", "scopes": ["send:sms", "read:sms"]})),
    )
    .await?;
    Ok(Tenant {
        token,
        key: key["key"].as_str().unwrap().to_owned(),
        organization_id: signup["organization"]["id"].as_str().unwrap().to_owned(),
    })
}

pub struct Latencies(Vec<Duration>);

impl Latencies {
    fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let mut v = self.0.clone();
        v.sort();
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i].as_secs_f64() * 1000.0
    }
}

fn sms(i: usize) -> Value {
    // Numbers end in 5, so none is one of the sandbox's failure numbers.
    json!({"to": format!("+2348{:08}5", i % 100_000_000), "body": "Your code is 123456", "senderId": "Bench"})
}

/// `concurrency` clients POSTing for `seconds`; returns (requests, elapsed, latencies).
async fn drive(
    args: &Args,
    key: &str,
    concurrency: usize,
    path: &str,
    batch: usize,
) -> (usize, Duration, Latencies) {
    let c = client();
    let url = format!("{}{path}", args.base_url);
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let (c, url, key) = (c.clone(), url.clone(), key.to_owned());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = t * 10_000_000;
                while Instant::now() < until {
                    let body = if batch == 0 {
                        sms(i)
                    } else {
                        json!({"messages": (0..batch).map(|j| sms(i + j)).collect::<Vec<_>>()})
                    };
                    i += batch.max(1);
                    let s = Instant::now();
                    let res = c.post(&url).bearer_auth(&key).json(&body).send().await;
                    if let Ok(r) = res
                        && r.status().as_u16() == 202
                    {
                        let _ = r.bytes().await;
                        lat.push(s.elapsed());
                    }
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all.len(), started.elapsed(), Latencies(all))
}

/// Waits until the bench organization has no message short of a final or SENT-and-received state.
async fn wait_drained(pool: &PgPool, org: &str, timeout: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + timeout;
    loop {
        let open: i64 = sqlx::query_scalar(
            // Through the (organization, channel, status) index: only open messages are read, so
            // the benchmark's own polling costs Postgres little of what it measures.
            "SELECT count(*) FROM messages
             WHERE organization_id = $1::uuid AND channel = 'sms' AND status IN ('QUEUED','PROCESSING','SENT')",
        )
        .bind(org)
        .fetch_one(pool)
        .await?;
        if open == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < until,
            "{open} messages still open after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let c = client();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(&args.database_url)
        .await?;
    let tenant = Arc::new(setup(&args, &c).await?);
    let run = |s: &str| args.only.iter().any(|o| o == s);
    let mut results: BTreeMap<String, Value> = BTreeMap::new();
    let mut table: Vec<(String, String)> = Vec::new();

    // The floor first, while Herald is idle, so that nothing else competes for the disk.
    let mut floor_rates = BTreeMap::new();
    if run("floor") {
        // Plain copies of the three tables an accept writes: the same columns, defaults, checks and
        // indexes, no trigger and no foreign key. What a transaction of those inserts costs here is
        // the physical limit of the accept's durable work.
        for (copy, table) in [
            ("bench_floor_messages", "messages"),
            ("bench_floor_events", "events"),
            ("bench_floor_jobs", "apalis.jobs"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE IF NOT EXISTS {copy} (LIKE {table} INCLUDING ALL)"
            )))
            .execute(&pool)
            .await?;
        }
        let floor_org = uuid::Uuid::now_v7().to_string();
        for conc in [1usize, 16, 64] {
            let tps = floor(&args, &floor_org, conc)?;
            floor_rates.insert(conc, tps);
            table.push((
                format!("floor (pgbench, accept inserts, plain tables) c={conc}"),
                format!("{tps:.0} tx/s"),
            ));
            results.insert(format!("floor_c{conc}"), json!({"tps": tps}));
        }
    }
    if run("accept") {
        for conc in [1usize, 16, 64] {
            let (n, el, lat) = drive(&args, &tenant.key, conc, "/v1/public/sms/send", 0).await;
            let rps = n as f64 / el.as_secs_f64();
            let mut line = format!(
                "{rps:.0} req/s  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
                lat.pct(0.5),
                lat.pct(0.99),
                lat.pct(1.0)
            );
            let mut row = json!({"rps": rps, "p50_ms": lat.pct(0.5), "p99_ms": lat.pct(0.99), "max_ms": lat.pct(1.0)});
            if let Some(tps) = floor_rates.get(&conc) {
                line.push_str(&format!("  accept/floor {:.2}", rps / tps));
                row["floor_ratio"] = json!(rps / tps);
            }
            table.push((format!("accept c={conc}"), line));
            results.insert(format!("accept_c{conc}"), row);
        }
    }
    if run("batch") {
        let (n, el, lat) = drive(&args, &tenant.key, 4, "/v1/public/sms/batch", 100).await;
        let mps = (n * 100) as f64 / el.as_secs_f64();
        table.push((
            "batch accept (100/request, c=4)".into(),
            format!("{mps:.0} messages/s  p50 {:.1} ms/request", lat.pct(0.5)),
        ));
        results.insert(
            "batch".into(),
            json!({"messages_per_s": mps, "p50_ms": lat.pct(0.5)}),
        );
        wait_drained(&pool, &tenant.organization_id, Duration::from_secs(600)).await?;
    }
    if run("pickup") {
        let r = pickup(&args, &pool, &tenant).await?;
        table.push((
            "pick-up when idle (202 → PROCESSING)".into(),
            format!(
                "p50 {:.1} ms  p99 {:.1} ms",
                r["p50_ms"].as_f64().unwrap(),
                r["p99_ms"].as_f64().unwrap()
            ),
        ));
        results.insert("pickup".into(), r);
    }
    if run("e2e") {
        let r = end_to_end(&args, &pool, &tenant).await?;
        let f = |k: &str| r[k].as_f64().unwrap();
        table.push((format!("end to end ({} messages)", args.messages), format!(
            "{:.0} messages/s to DELIVERED; 202→SENT p50 {:.0} ms p99 {:.0} ms; 202→DELIVERED p50 {:.0} ms p99 {:.0} ms",
            f("messages_per_s"), f("sent_p50_ms"), f("sent_p99_ms"), f("delivered_p50_ms"), f("delivered_p99_ms"))));
        table.push(("end to end: the cost of a message".into(), format!(
            "{:.2} commits (the database's, all of them); {:.0} WAL flushes/s; CPU {:.2} ms herald + {:.2} ms postgres",
            f("commits_per_message"), f("wal_syncs_per_s"), f("herald_cpu_ms_per_message"), f("postgres_cpu_ms_per_message"))));
        results.insert("e2e".into(), r);
    }
    // `webhooks-wide` is meant for a Herald whose per-endpoint limit is 200 (scripts/bench runs it so).
    let webhook_runs = [
        ("webhooks", 0u64, "", args.deliveries),
        ("webhooks", 200, "", args.deliveries / 10),
        (
            "webhooks-wide",
            200,
            ", WEBHOOK_ENDPOINT_CONCURRENCY=200",
            args.deliveries,
        ),
    ];
    for (scenario, delay, label, deliveries) in webhook_runs {
        if run(scenario) {
            let wait = Duration::from_millis(delay);
            let r = receiver::webhooks(&args, &pool, &tenant, wait, deliveries).await?;
            table.push((
                format!("webhooks, receiver answers after {delay} ms{label}"),
                format!(
                    "{:.0} deliveries/s",
                    r["deliveries_per_s"].as_f64().unwrap()
                ),
            ));
            results.insert(format!("{scenario}_{delay}ms"), r);
        }
    }
    if run("listing") {
        for (size, r) in listing(&args, &pool, &tenant).await? {
            table.push((
                format!("listing, {size} messages"),
                format!(
                    "p50 {:.1} ms  p99 {:.1} ms",
                    r["p50_ms"].as_f64().unwrap(),
                    r["p99_ms"].as_f64().unwrap()
                ),
            ));
            results.insert(format!("listing_{size}"), r);
        }
    }
    if run("peer") {
        let r = match peer::compare(&args, &pool).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("queue comparison failed: {e:#}");
                json!({"herald_jobs_per_s": 0.0, "peer_jobs_per_s": 0.0, "ratio": 0.0, "error": e.to_string()})
            }
        };
        table.push((
            "queue: herald (apalis) no-op jobs".into(),
            format!("{:.0} jobs/s", r["herald_jobs_per_s"].as_f64().unwrap()),
        ));
        table.push((
            "queue: graphile-worker no-op jobs".into(),
            format!("{:.0} jobs/s", r["peer_jobs_per_s"].as_f64().unwrap()),
        ));
        table.push((
            "queue: herald / graphile-worker".into(),
            format!("{:.2}", r["ratio"].as_f64().unwrap()),
        ));
        table.push((
            "queue: row writes per job (herald | peer)".into(),
            format!(
                "{} | {}",
                r["herald_row_writes_per_job"], r["peer_row_writes_per_job"]
            ),
        ));
        results.insert("peer".into(), r);
    }
    if run("memory") {
        let m = memory();
        for (name, kib) in m.as_object().unwrap() {
            table.push((
                format!("peak RSS {name}"),
                format!("{:.1} MiB", kib.as_f64().unwrap() / 1024.0),
            ));
        }
        results.insert("peak_rss_kib".into(), m);
    }

    let width = table.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    println!();
    for (k, v) in &table {
        println!("{k:width$}  {v}");
    }
    println!("{}", serde_json::to_string(&results)?);
    Ok(())
}

/// What the database and the processes have done so far: commits in this database, WAL flushes of
/// the cluster, and CPU seconds of the herald processes and of Postgres's.
struct Counters {
    commits: i64,
    wal_syncs: i64,
    herald_cpu: f64,
    postgres_cpu: f64,
    at: Instant,
}

async fn counters(pool: &PgPool) -> anyhow::Result<Counters> {
    // Backends report their counts at most once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (commits, wal_syncs): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
                (SELECT wal_sync FROM pg_stat_wal)",
    )
    .fetch_one(pool)
    .await?;
    Ok(Counters {
        commits,
        wal_syncs,
        herald_cpu: cpu_seconds(|name, args| name == "herald" && args.len() > 1),
        postgres_cpu: cpu_seconds(|name, _| name == "postgres"),
        at: Instant::now(),
    })
}

/// CPU seconds (user and system) of the running processes that `pick` chooses by name and arguments.
fn cpu_seconds(pick: impl Fn(&str, &[String]) -> bool) -> f64 {
    let ticks_per_second = 100.0;
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        // "pid (comm) state …": the fields after the command name, utime and stime at 12 and 13.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let name = head.split_once(" (").map(|(_, n)| n).unwrap_or_default();
        let program = args
            .first()
            .map(|a| a.rsplit('/').next().unwrap_or(a).to_owned())
            .unwrap_or_default();
        if !pick(name, &args) && !pick(&program, &args) {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        ticks += field(11) + field(12);
    }
    ticks as f64 / ticks_per_second
}

async fn end_to_end(args: &Args, pool: &PgPool, tenant: &Tenant) -> anyhow::Result<Value> {
    let c = client();
    let url = format!("{}/v1/public/sms/batch", args.base_url);
    let before = counters(pool).await?;
    let started = chrono::Utc::now();
    let per = 100;
    let chunks: Vec<usize> = (0..args.messages).step_by(per).collect();
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = Vec::new();
    for start in chunks {
        let (c, url, key, sem) = (c.clone(), url.clone(), tenant.key.clone(), sem.clone());
        let n = per.min(args.messages - start);
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire().await.unwrap();
            let body = json!({"messages": (0..n).map(|j| sms(500_000_000 + start + j)).collect::<Vec<_>>()});
            c.post(&url).bearer_auth(&key).json(&body).send().await.map(|r| r.status().as_u16())
        }));
    }
    for t in tasks {
        anyhow::ensure!(t.await?? == 202, "a batch was refused");
    }
    wait_drained(pool, &tenant.organization_id, Duration::from_secs(1800)).await?;
    let after = counters(pool).await?;
    let row: (f64, Vec<f64>, Vec<f64>) = sqlx::query_as(
        "WITH m AS (
             SELECT m.created_at,
                    (SELECT occurred_at FROM events e WHERE e.message_id = m.id AND e.type = 'sms_sent') AS sent,
                    (SELECT occurred_at FROM events e WHERE e.message_id = m.id AND e.type = 'sms_delivered') AS delivered
             FROM messages m WHERE m.organization_id = $1::uuid AND m.created_at >= $2)
         SELECT extract(epoch FROM max(delivered) - min(created_at))::float8,
                array_agg(extract(epoch FROM sent - created_at)::float8 * 1000 ORDER BY sent - created_at),
                array_agg(extract(epoch FROM delivered - created_at)::float8 * 1000 ORDER BY delivered - created_at)
         FROM m",
    )
    .bind(&tenant.organization_id)
    .bind(started)
    .fetch_one(pool)
    .await?;
    let pct = |v: &Vec<f64>, p: f64| {
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let n = args.messages as f64;
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    Ok(json!({
        "messages_per_s": n / row.0,
        "sent_p50_ms": pct(&row.1, 0.5), "sent_p99_ms": pct(&row.1, 0.99),
        "delivered_p50_ms": pct(&row.2, 0.5), "delivered_p99_ms": pct(&row.2, 0.99),
        "commits_per_message": (after.commits - before.commits) as f64 / n,
        "wal_syncs_per_s": (after.wal_syncs - before.wal_syncs) as f64 / seconds,
        "herald_cpu_ms_per_message": (after.herald_cpu - before.herald_cpu) * 1000.0 / n,
        "postgres_cpu_ms_per_message": (after.postgres_cpu - before.postgres_cpu) * 1000.0 / n,
    }))
}

/// How soon an idle worker picks a message up: one send at a time, 200 ms apart, and the time from
/// the 202 to the PROCESSING event.
async fn pickup(args: &Args, pool: &PgPool, tenant: &Tenant) -> anyhow::Result<Value> {
    wait_drained(pool, &tenant.organization_id, Duration::from_secs(600)).await?;
    let c = client();
    let mut ids = Vec::new();
    for i in 0..50 {
        let m = call(
            &c,
            reqwest::Method::POST,
            format!("{}/v1/public/sms/send", args.base_url),
            &tenant.key,
            Some(sms(700_000_000 + i)),
        )
        .await?;
        ids.push(m["id"].as_str().unwrap().to_owned());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_drained(pool, &tenant.organization_id, Duration::from_secs(600)).await?;
    let mut v: Vec<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM e.occurred_at - m.created_at)::float8 * 1000 FROM messages m
         JOIN events e ON e.message_id = m.id AND e.type = 'sms_processing' WHERE m.id::text = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    v.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(json!({"p50_ms": pct(0.5), "p99_ms": pct(0.99), "samples": v.len()}))
}

/// Listing latency with the table at 10k, 100k, … messages (seeded straight into the bench organization).
async fn listing(
    args: &Args,
    pool: &PgPool,
    tenant: &Tenant,
) -> anyhow::Result<Vec<(usize, Value)>> {
    let c = client();
    let mut out = Vec::new();
    let mut size = 10_000;
    while size <= args.listing_max {
        let have: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
            .fetch_one(pool)
            .await?;
        let missing = size as i64 - have;
        if missing > 0 {
            sqlx::query(
                "INSERT INTO messages (id, organization_id, channel, status, recipient, sender, category, content,
                     external_id, search_text, created_at, updated_at)
                 SELECT gen_random_uuid(), $1::uuid, 'sms', CASE WHEN g % 50 = 0 THEN 'FAILED' ELSE 'DELIVERED' END,
                     '+2349' || lpad(g::text, 9, '0'), 'Bench', 'STANDARD',
                     jsonb_build_object('body', 'order ' || g || ' shipped', 'senderId', 'Bench'),
                     'ord-' || g, lower('+2349' || lpad(g::text, 9, '0') || ' order ' || g || ' shipped ord-' || g),
                     now() - make_interval(secs => g), now() - make_interval(secs => g)
                 FROM generate_series($2::bigint, $3::bigint) g",
            )
            .bind(&tenant.organization_id)
            .bind(have + 1)
            .bind(size as i64)
            .execute(pool)
            .await?;
            sqlx::query("ANALYZE messages").execute(pool).await?;
        }
        let mut lat = Vec::new();
        for i in 0..200 {
            let url = format!(
                "{}/v1/public/sms?query=ord-{}&status=FAILED&pageSize=20",
                args.base_url,
                4200 + i * 50
            );
            let s = Instant::now();
            let r = c.get(url).bearer_auth(&tenant.key).send().await?;
            anyhow::ensure!(r.status().is_success(), "listing failed: {}", r.status());
            let _ = r.bytes().await?;
            lat.push(s.elapsed());
        }
        let l = Latencies(lat);
        out.push((size, json!({"p50_ms": l.pct(0.5), "p99_ms": l.pct(0.99)})));
        size *= 10;
    }
    Ok(out)
}

/// The floor: pgbench doing exactly the inserts of one accept (the message, its first event, its
/// job) in one transaction, at the same concurrency.
fn floor(args: &Args, organization_id: &str, concurrency: usize) -> anyhow::Result<f64> {
    let script = format!(
        "\\set n random(1, 1000000000000)
BEGIN;
INSERT INTO bench_floor_messages (id, organization_id, channel, status, recipient, sender, category, content, search_text, created_at, updated_at)
  VALUES (md5('m' || :n || :client_id)::uuid, '{org}', 'sms', 'QUEUED', '+23480670001115', 'Bench', 'STANDARD',
          '{{\"body\":\"Your code is 123456\",\"senderId\":\"Bench\",\"flow\":\"STANDARD\",\"segments\":1,\"encoding\":\"GSM7\"}}',
          '+23480670001115 your code is 123456 ', now(), now());
INSERT INTO bench_floor_events (id, organization_id, message_id, type, status, occurred_at)
  VALUES (md5('e' || :n || :client_id)::uuid, '{org}', md5('m' || :n || :client_id)::uuid, 'sms_queued', 'QUEUED', now());
INSERT INTO bench_floor_jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority)
  VALUES (md5('j' || :n || :client_id), 'herald.bench.floor', '\\x7b7d', 'Pending', 0, 5, now(), 0);
COMMIT;
",
        org = organization_id
    );
    let path = std::env::temp_dir().join(format!("herald-floor-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let out = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &concurrency.to_string(),
            "-j",
            &concurrency.min(2).to_string(),
            "-T",
            &args.seconds.to_string(),
            "-f",
        ])
        .arg(&path)
        .arg(&args.database_url)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| anyhow::anyhow!("no tps in pgbench output: {text}"))?;
    Ok(tps)
}

/// Peak resident memory (VmHWM) of every running herald process.
fn memory() -> Value {
    let mut out = serde_json::Map::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_herald = args
            .first()
            .is_some_and(|a| a.ends_with("/herald") || a == "herald");
        if !is_herald || args.len() < 2 {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        if let Some(kib) = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
        {
            out.insert(
                format!(
                    "herald {} (pid {})",
                    args[1],
                    entry.file_name().to_string_lossy()
                ),
                json!(kib),
            );
        }
    }
    Value::Object(out)
}
