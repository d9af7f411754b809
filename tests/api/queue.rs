use std::time::Duration;

use domain::queue::{self, SendMessage};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_job_pushed_in_a_rolled_back_transaction_never_exists() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM apalis.jobs")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let job = || SendMessage {
        message_id: uuid::Uuid::now_v7(),
        attempt: 0,
    };

    let mut tx = app.pool.begin().await.unwrap();
    queue::push(&mut tx, job(), None).await.unwrap();
    let inside: i64 = sqlx::query_scalar("SELECT count(*) FROM apalis.jobs")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(inside, 1, "the push is visible inside its transaction");
    tx.rollback().await.unwrap();
    assert_eq!(count().await, 0);

    let mut tx = app.pool.begin().await.unwrap();
    queue::push(&mut tx, job(), None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count().await, 1);
    let queue_name: String = sqlx::query_scalar("SELECT job_type FROM apalis.jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queue_name, "herald.send");
}

#[tokio::test]
async fn a_duplicate_send_job_is_a_no_op() {
    let app = spawn_app().await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    app.wait_for_status(&key, &id, "DELIVERED").await;
    let mut conn = app.pool.acquire().await.unwrap();
    queue::push(
        &mut conn,
        SendMessage {
            message_id: id.parse().unwrap(),
            attempt: 0,
        },
        None,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = sandbox_calls(&app, &id).await;
    assert_eq!(calls, 1);
    assert_eq!(
        statuses(&app.timeline(&key, &id).await),
        vec!["QUEUED", "PROCESSING", "SENT", "DELIVERED"]
    );
}

#[tokio::test]
async fn a_message_left_processing_past_its_lease_is_sent_again_with_a_note() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let id = app.send_sms_id(&key, "+2348067000111").await;
    // As if a worker claimed it and died during the provider call: PROCESSING, lease run out.
    sqlx::query("DELETE FROM apalis.jobs")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE messages SET status = 'PROCESSING', send_attempts = 1, lease_until = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let config = domain::Config::from_source(&base_settings(&app.database_url)).unwrap();
    let settings = scheduler::Settings::from_config(&config);
    assert_eq!(scheduler::run_once(&app.pool, &settings).await, 0);
    assert_eq!(scheduler::run_once(&app.pool, &settings).await, 0);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM apalis.jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 1, "one re-send, even when the scheduler runs twice");

    let listen = domain::db::listen_pool(&app.database_url).unwrap();
    let ctx = jobs::JobContext::new(
        app.pool.clone(),
        listen,
        std::sync::Arc::new(config),
        domain::wakes::Wakes::default(),
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(worker::run(ctx, async move {
        let mut rx = rx;
        let _ = rx.wait_for(|s| *s).await;
    }));
    app.wait_for_status(&key, &id, "DELIVERED").await;
    let _ = stop.send(true);
    let _ = worker.await;
    let timeline = app.timeline(&key, &id).await;
    let note = timeline
        .iter()
        .find(|e| e["type"] == "note")
        .expect("a note says it was sent again");
    assert_eq!(note["detail"]["reason"], "lease_expired");
    let types: Vec<&str> = timeline
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["sms_queued", "note", "sms_sent", "sms_delivered"]
    );
    let m = app.message(&key, &id).await;
    assert_eq!(m["status"], "DELIVERED");
}

#[tokio::test]
async fn scheduler_duties_bury_dead_jobs_disable_failing_endpoints_and_expire_old_records() {
    let app = spawn_app_with(herald::Roles::API, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let t = app.signup("Acme").await;
    let res = app
        .post(
            "/v1/webhook-endpoints",
            Some(&t.token),
            serde_json::json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    sqlx::query("UPDATE webhook_endpoints SET failing_since = now() - interval '6 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    queue::push(
        &mut conn,
        SendMessage {
            message_id: uuid::Uuid::now_v7(),
            attempt: 0,
        },
        None,
    )
    .await
    .unwrap();
    drop(conn);
    sqlx::query("UPDATE apalis.jobs SET status = 'Failed', attempts = max_attempts, last_result = '{\"Err\": \"boom\"}'")
        .execute(&app.pool)
        .await
        .unwrap();
    // More jobs finished ten minutes ago than one batch deletes, and three finished since.
    sqlx::query(
        "INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, done_at)
         SELECT 'done-' || g, 'herald.send', '\\x7b7d', 'Done', 1, 5, now(),
                now() - CASE WHEN g <= 4500 THEN interval '20 minutes' ELSE interval '1 minute' END
         FROM generate_series(1, 4503) g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO login_failures (subject, failed_at) VALUES ('account:x', now() - interval '1 hour'), ('account:y', now())")
        .execute(&app.pool)
        .await
        .unwrap();

    let config = domain::Config::from_source(&base_settings(&app.database_url)).unwrap();
    let failed = scheduler::run_once(&app.pool, &scheduler::Settings::from_config(&config)).await;
    assert_eq!(failed, 0);

    let count = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM apalis.jobs").await, 3);
    assert_eq!(
        count("SELECT count(*) FROM apalis.jobs WHERE status = 'Done' AND done_at > now() - interval '5 minutes'").await,
        3
    );
    assert_eq!(
        count("SELECT count(*) FROM dead_jobs WHERE queue = 'herald.send'").await,
        1
    );
    assert_eq!(count("SELECT count(*) FROM webhook_endpoints WHERE NOT enabled AND disabled_reason LIKE 'every delivery attempt failed%'").await, 1);
    assert_eq!(
        count("SELECT count(*) FROM login_failures").await,
        1,
        "only the recent failure counts"
    );

    let dead = domain::dead_jobs::list(&app.pool, 10).await.unwrap();
    assert_eq!(dead[0].last_error, Some(serde_json::json!({"Err": "boom"})));
    assert_eq!(
        domain::dead_jobs::redrive(&app.pool, None).await.unwrap(),
        1
    );
    assert_eq!(count("SELECT count(*) FROM dead_jobs").await, 0);
    assert_eq!(
        count(
            "SELECT count(*) FROM apalis.jobs WHERE job_type = 'herald.send' AND status = 'Pending'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_queues_tuning_stays_after_every_migration_run_and_its_acknowledgement_reads_by_id() {
    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    for _ in 0..2 {
        domain::db::migrate(&app.pool).await.unwrap();
        let triggers: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'apalis.jobs'::regclass AND NOT tgisinternal",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(triggers, 0);
        let duplicates: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_indexes
             WHERE schemaname = 'apalis' AND indexname IN ('unique_job_id', 'lidx', 'idx_apalis_jobs_lock_by')",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(duplicates, 0);
    }
    // A worker that has run many jobs acknowledges a few: apalis's statement, planned generically
    // as a long-lived prepared statement is, finds them by id, not through every job of the worker.
    sqlx::query(
        "INSERT INTO apalis.workers (id, worker_type, storage_name, layers, last_seen)
         VALUES ('worker-1', 'herald.send', 'PostgresStorage', '', now())",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, lock_by, done_at)
         SELECT 'job-' || g, 'herald.send', '\\x7b7d', 'Done', 1, 5, now(), 'worker-1', now()
         FROM generate_series(1, 20000) g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::raw_sql(
        "SET plan_cache_mode = force_generic_plan;
         PREPARE ack(jsonb, text) AS WITH j AS (
             SELECT (value ->> 'task_id')::text AS task_id, (value ->> 'attempt')::integer AS attempt,
                    value -> 'result' AS result, value ->> 'status' AS status
             FROM jsonb_array_elements($1::jsonb) AS value),
         locked AS (
             SELECT jobs.id FROM apalis.jobs AS jobs INNER JOIN j ON j.task_id = jobs.id
             WHERE jobs.lock_by = $2 ORDER BY jobs.id FOR UPDATE)
         UPDATE apalis.jobs AS jobs SET status = j.status, attempts = j.attempt, last_result = j.result,
             done_at = NOW()
         FROM j INNER JOIN locked ON locked.id = j.task_id WHERE jobs.id = locked.id;
         PREPARE lock(text[], text) AS UPDATE apalis.jobs SET status = 'Running', lock_at = now(), lock_by = $2
         WHERE (status = 'Pending' OR status = 'Queued' OR (status = 'Failed' AND attempts < max_attempts))
           AND run_at < now() AND id = ANY($1)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    // Before the table's statistics are taken (as in the first minute of a new database), and after.
    for analyze in [false, true] {
        if analyze {
            sqlx::query("ANALYZE apalis.jobs")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        // The acknowledgement, and the claim of jobs fetched ahead, both by id.
        for statement in [
            "EXPLAIN EXECUTE ack('[]', 'worker-1')",
            "EXPLAIN EXECUTE lock('{}', 'worker-1')",
        ] {
            let plan = plan(&mut conn, statement).await;
            assert!(!plan.contains("lock_by on"), "{plan}");
            assert!(!plan.contains("Bitmap"), "{plan}");
            assert!(!plan.contains("Seq Scan"), "{plan}");
            assert!(plan.contains("jobs_pkey"), "{plan}");
        }
    }
    // The scheduler's duties on the queue read their own indexes, not the table.
    for (statement, index) in [
        (
            "EXPLAIN SELECT id FROM apalis.jobs WHERE status = 'Done' AND done_at < now() - interval '10 minutes' LIMIT 1000",
            "herald_jobs_done_at",
        ),
        (
            "EXPLAIN SELECT id FROM apalis.jobs
             WHERE (status = 'Failed' AND attempts >= max_attempts) OR status = 'Killed' LIMIT 1000",
            "herald_jobs_dead",
        ),
    ] {
        let plan = plan(&mut conn, statement).await;
        assert!(plan.contains(index), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }
}

/// The plan Postgres gives `statement` (an `EXPLAIN …`), as one text.
async fn plan(conn: &mut sqlx::PgConnection, statement: &'static str) -> String {
    let lines: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
        .fetch_all(conn)
        .await
        .unwrap();
    lines.join("\n")
}

#[tokio::test]
async fn a_push_wakes_its_queue_after_commit_in_process_or_else_in_apaliss_own_form() {
    use domain::{
        queue::{DeliverWebhook, Job},
        wakes::Wakes,
    };
    use futures::StreamExt;
    use sqlx::Connection;

    let pool = domain::db::connect(&fresh_database().await, 3)
        .await
        .unwrap();
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen("apalis::job::insert").await.unwrap();
    let wakes = Wakes::default();
    tokio::spawn(wakes.clone().announce(pool.clone()));
    // This process works the send queue, not the webhook queue.
    let mut local = wakes.stream(SendMessage::QUEUE);
    let mut conn = pool.acquire().await.unwrap();
    wakes
        .around(async {
            let mut tx = conn.begin().await.unwrap();
            for _ in 0..3 {
                let job = SendMessage {
                    message_id: uuid::Uuid::now_v7(),
                    attempt: 0,
                };
                queue::push(&mut tx, job, None).await.unwrap();
                let delivery = DeliverWebhook {
                    delivery_id: uuid::Uuid::now_v7(),
                };
                queue::push(&mut tx, delivery, None).await.unwrap();
            }
            tx.commit().await.unwrap();
            // Nothing is announced while the work that pushed is still running.
            let early = tokio::time::timeout(Duration::from_millis(200), listener.recv()).await;
            assert!(early.is_err(), "announced before the work was done");
        })
        .await;
    let woken = tokio::time::timeout(Duration::from_secs(1), local.next()).await;
    assert!(woken.is_ok(), "this process's workers are woken in-process");
    let note = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("other processes are woken for the queue this one does not work")
        .unwrap();
    let event: apalis_postgres::InsertEvent = serde_json::from_str(note.payload()).unwrap();
    assert_eq!(event.job_type, DeliverWebhook::QUEUE);
    // One announcement per woken queue, not one per job, and none for the queue worked here.
    let more = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await;
    assert!(more.is_err(), "announced more than the webhook queue once");
}

#[tokio::test]
async fn an_accept_writes_its_message_event_job_and_deliveries_together_and_answers_what_it_stored()
{
    // The API alone: no worker moves the messages on, so each reads back exactly as accepted.
    let app = spawn_app_with(herald::Roles::API, |s| {
        s.insert("WEBHOOK_ALLOW_PRIVATE_TARGETS".into(), "true".into());
    })
    .await;
    let (tenant, _) = app.sms_tenant("Acme").await;
    let key = app
        .api_key(
            &tenant,
            &[
                "send:sms",
                "read:sms",
                "send:email",
                "read:email",
                "send:whatsapp",
                "read:whatsapp",
            ],
        )
        .await;
    let (every, _) =
        crate::webhooks::endpoint(&app, &tenant, "http://127.0.0.1:9/all".into(), json!([])).await;
    let (emails, _) = crate::webhooks::endpoint(
        &app,
        &tenant,
        "http://127.0.0.1:9/emails".into(),
        json!(["email_queued"]),
    )
    .await;
    // Nanoseconds in `scheduledAt`: the answer keeps what the database keeps, microseconds.
    let at = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let sends = [
        (
            "sms",
            json!({"to": "+2348067000111", "body": "Your code is 1234", "senderId": "Herald", "externalId": "o-1", "scheduledAt": at}),
        ),
        (
            "emails",
            json!({"from": "Acme <hello@acme.test>", "to": ["a@example.com", "B <b@example.com>"], "subject": "Receipt", "text": "Thanks", "scheduledAt": at}),
        ),
        (
            "whatsapp",
            json!({"to": "+2348067000112", "type": "template", "scheduledAt": at, "template": {"name": "order_update", "language": "en_US",
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "7"}]}]}}),
        ),
    ];
    let mut answers = Vec::new();
    for (channel, body) in sends {
        let res = app
            .post(&format!("/v1/public/{channel}/send"), Some(&key), body)
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "{channel}");
        let answer: Value = res.json().await.unwrap();
        let id = answer["id"].as_str().unwrap().to_owned();
        let stored = app.message_on(channel, &key, &id).await;
        assert_eq!(answer, stored, "the 202 is the {channel} message as stored");
        answers.push(answer);
    }

    let pool = app.pool.clone();
    let scalar = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        scalar("SELECT count(*) FROM events WHERE type IN ('sms_queued', 'email_queued', 'whatsapp_queued')").await,
        3
    );
    // Each message has its send job, due when it was scheduled, to the microsecond.
    assert_eq!(
        scalar(
            "SELECT count(*) FROM apalis.jobs j JOIN messages m
                 ON m.id = (convert_from(j.job, 'UTF8')::jsonb ->> 'message_id')::uuid
             WHERE j.job_type = 'herald.send' AND j.status = 'Pending' AND j.run_at = m.scheduled_at
               AND (convert_from(j.job, 'UTF8')::jsonb ->> 'attempt')::int = 0"
        )
        .await,
        3
    );
    // One delivery per subscribed endpoint and event, each with its job, their bodies the answers.
    let deliveries: Vec<(uuid::Uuid, uuid::Uuid, String, i64)> = sqlx::query_as(
        "SELECT d.id, d.endpoint_id, d.payload,
                (SELECT count(*) FROM apalis.jobs j WHERE j.job_type = 'herald.webhook' AND j.status = 'Pending'
                    AND (convert_from(j.job, 'UTF8')::jsonb ->> 'delivery_id')::uuid = d.id)
         FROM webhook_deliveries d ORDER BY d.created_at, d.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(deliveries.len(), 4);
    let to = |endpoint: &str| {
        deliveries
            .iter()
            .filter(|d| d.1.to_string() == endpoint)
            .map(|d| serde_json::from_str::<Value>(&d.2).unwrap())
            .collect::<Vec<_>>()
    };
    let datas: Vec<Value> = to(&every).into_iter().map(|p| p["data"].clone()).collect();
    assert_eq!(datas, answers, "in order, the messages as answered");
    let for_emails = to(&emails);
    assert_eq!(for_emails.len(), 1);
    assert_eq!(for_emails[0]["type"], "email_queued");
    assert!(
        deliveries
            .iter()
            .all(|d| d.0.get_version_num() == 7 && d.3 == 1)
    );

    // A refused send writes nothing.
    let res = app
        .post(
            "/v1/public/sms/send",
            Some(&key),
            json!({"to": "+2348067000113", "body": "x", "senderId": "Nobody"}),
        )
        .await;
    assert_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "SENDER_ID_NOT_APPROVED",
    )
    .await;
    assert_eq!(scalar("SELECT count(*) FROM messages").await, 3);
    assert_eq!(
        scalar("SELECT count(*) FROM events WHERE message_id IS NOT NULL").await,
        3
    );
    assert_eq!(scalar("SELECT count(*) FROM apalis.jobs").await, 7);
    assert_eq!(scalar("SELECT count(*) FROM webhook_deliveries").await, 4);
}

#[tokio::test]
async fn the_commit_batcher_shares_commits_and_one_failing_unit_never_fails_its_neighbours() {
    use domain::commits::Batcher;

    let pool = domain::db::connect(&fresh_database().await, 6)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE batch_probe (id int PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    let batcher = Batcher::start(pool.clone());
    // Each unit inserts its row and says which transaction it ran in; unit 13 of the second round
    // fails after its insert.
    let round = |first: i32, failing: Option<i32>, panicking: Option<i32>| {
        let units = (first..first + 20).map(|id| {
            let batcher = batcher.clone();
            async move {
                batcher
                    .run(move |conn| {
                        Box::pin(async move {
                            let txid: i64 = sqlx::query_scalar(
                                "INSERT INTO batch_probe VALUES ($1) RETURNING txid_current()",
                            )
                            .bind(id)
                            .fetch_one(&mut *conn)
                            .await?;
                            if Some(id) == failing {
                                sqlx::query("SELECT 1 / 0").execute(&mut *conn).await?;
                            }
                            assert_ne!(Some(id), panicking, "a unit that panics");
                            Ok(txid)
                        })
                    })
                    .await
            }
        });
        futures::future::join_all(units)
    };
    let first = round(0, None, None).await;
    let txids: std::collections::HashSet<i64> = first.into_iter().map(|r| r.unwrap()).collect();
    assert!(
        txids.len() < 20,
        "twenty units made {} commits",
        txids.len()
    );

    // One unit fails in the database, one panics: each gets its error, their neighbours commit.
    let second = round(100, Some(113), Some(105)).await;
    for (i, result) in second.iter().enumerate() {
        match i {
            13 => {
                let e = result.as_ref().unwrap_err().to_string();
                assert!(e.contains("division by zero"), "{e}");
            }
            5 => {
                let e = result.as_ref().unwrap_err().to_string();
                assert!(e.contains("panicked"), "{e}");
            }
            _ => assert!(result.is_ok(), "unit {i}: {result:?}"),
        }
    }
    // The lanes outlive the panic.
    assert!(round(200, None, None).await.iter().all(Result::is_ok));
    let stored: Vec<i32> = sqlx::query_scalar("SELECT id FROM batch_probe ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let expected: Vec<i32> = (0..20)
        .chain((100..120).filter(|&id| id != 113 && id != 105))
        .chain(200..220)
        .collect();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn claims_outcomes_and_receipts_in_flight_are_written_as_sets_and_a_message_is_claimed_once()
{
    use domain::{
        commits::Batcher,
        messages::{self, Change, Channel, Status, Transition, receipts},
    };

    let app = spawn_app_with(herald::Roles::API, |_| {}).await;
    let (_, key) = app.sms_tenant("Acme").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = app.send_sms_id(&key, &format!("+23480100000{i:02}")).await;
        ids.push(uuid::Uuid::parse_str(&id).unwrap());
    }
    let batcher = Batcher::start(app.pool.clone());
    let lease = Duration::from_secs(60);
    let job = |message_id| SendMessage {
        message_id,
        attempt: 0,
    };
    // Every message's job twice at once (a duplicate delivery of the job), the last message with
    // no SMS provider configured, and a job of a message that does not exist among them.
    let claims = ids.iter().enumerate().flat_map(|(i, id)| {
        let configured: &[Channel] = if i == 11 { &[] } else { &[Channel::Sms] };
        [(*id, configured), (*id, configured)]
    });
    let missing = uuid::Uuid::now_v7();
    let claims = claims
        .chain([(missing, &[Channel::Sms][..])])
        .map(|(id, configured)| {
            let (batcher, job) = (batcher.clone(), job(id));
            async move {
                let claimed = messages::claim_for_send(&batcher, &job, lease, configured).await;
                (id, claimed)
            }
        });
    let mut claimed = std::collections::HashMap::<_, Vec<_>>::new();
    for (id, result) in futures::future::join_all(claims).await {
        if id == missing {
            assert!(
                result.unwrap().is_none(),
                "a job of no message claims nothing"
            );
            continue;
        }
        claimed.entry(id).or_default().push(result.unwrap());
    }
    for (i, id) in ids.iter().enumerate() {
        let won: Vec<_> = claimed[id].iter().flatten().collect();
        let expected = usize::from(i != 11);
        assert_eq!(
            won.len(),
            expected,
            "message {i} claimed {} times",
            won.len()
        );
    }
    let status = |id: uuid::Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (String, i32, Option<String>)>(
                "SELECT status, send_attempts, error_code FROM messages WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    for id in &ids[..11] {
        assert_eq!(status(*id).await, ("PROCESSING".into(), 1, None));
    }
    assert_eq!(
        status(ids[11]).await,
        ("FAILED".into(), 0, Some("CHANNEL_NOT_CONFIGURED".into()))
    );
    // One event a change, and changes written together share a statement (and its time).
    let written = |status: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT count(*), count(DISTINCT occurred_at) FROM events WHERE status = $1",
            )
            .bind(status)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (events, statements) = written("PROCESSING").await;
    assert_eq!(events, 11);
    assert!(
        statements < 11,
        "eleven claims took {statements} statements"
    );

    // Outcomes in flight: each message SENT once, its first poll pushed where one is due.
    let messages: Vec<_> = claimed
        .values()
        .flat_map(|results| results.iter().flatten().cloned())
        .collect();
    let outcomes = messages.iter().enumerate().map(|(i, m)| {
        let batcher = batcher.clone();
        let change = Change {
            provider: Some("sandbox".into()),
            provider_message_id: Some(format!("sbx_{i}")),
            ..Change::default()
        };
        let poll_at = (i % 2 == 0).then(|| chrono::Utc::now() + chrono::Duration::minutes(5));
        async move { messages::record_outcome(&batcher, m, Status::Sent, change, poll_at).await }
    });
    for result in futures::future::join_all(outcomes).await {
        assert!(matches!(result.unwrap(), Transition::Applied(_)));
    }
    let sent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE status = 'SENT' AND provider_message_id LIKE 'sbx_%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(sent, 11);
    let (events, statements) = written("SENT").await;
    assert_eq!(events, 11);
    assert!(
        statements < 11,
        "eleven outcomes took {statements} statements"
    );
    let polls: i64 =
        sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE job_type = 'herald.poll'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(polls, 6);

    // Receipts in flight: each message's DELIVERED receipt applied, and the one that arrived after
    // it for the same message found a repeat (applied one after the other, in arrival order).
    let mut receipts = Vec::new();
    for i in (0..messages.len()).chain([0]) {
        let new = receipts::NewReceipt {
            channel: Channel::Sms,
            provider: "sandbox".into(),
            provider_message_id: format!("sbx_{i}"),
            status: Some(Status::Delivered),
            error: None,
            raw: json!({"status": "DELIVRD"}),
            organization_id: None,
        };
        let mut conn = app.pool.acquire().await.unwrap();
        receipts.push(receipts::record(&mut conn, new, None).await.unwrap());
    }
    let applied = receipts.iter().map(|id| {
        let batcher = batcher.clone();
        async move { receipts::process(&batcher, *id, 0).await.unwrap() }
    });
    let mut outcomes = futures::future::join_all(applied).await;
    let mut last = outcomes.pop().unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| *o == receipts::ReceiptOutcome::Applied),
        "{outcomes:?}"
    );
    if matches!(last, receipts::ReceiptOutcome::RetryAt(_)) {
        // Its batch ran beside the earlier receipt's, which it waited for; its job runs again.
        last = receipts::process(&batcher, receipts[11], 1).await.unwrap();
    }
    assert_eq!(last, receipts::ReceiptOutcome::Duplicate);
    let (events, statements) = written("DELIVERED").await;
    assert_eq!(events, 11);
    assert!(
        statements < 11,
        "eleven receipts took {statements} statements"
    );
}
