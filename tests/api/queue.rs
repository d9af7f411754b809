use std::time::Duration;

use domain::queue::{self, SendMessage};

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
    assert_eq!(count("SELECT count(*) FROM apalis.jobs").await, 0);
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
async fn the_queues_per_row_notify_trigger_stays_gone_after_every_migration_run() {
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
    }
}

#[tokio::test]
async fn a_push_wakes_its_queue_after_commit_in_process_and_in_apaliss_own_form() {
    use domain::{queue::Job, wakes::Wakes};
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
    let mut local = wakes.stream(SendMessage::QUEUE);
    let mut conn = pool.acquire().await.unwrap();
    wakes
        .around(async {
            let mut tx = conn.begin().await.unwrap();
            let job = SendMessage {
                message_id: uuid::Uuid::now_v7(),
                attempt: 0,
            };
            queue::push(&mut tx, job, None).await.unwrap();
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
        .expect("other processes are woken")
        .unwrap();
    let event: apalis_postgres::InsertEvent = serde_json::from_str(note.payload()).unwrap();
    assert_eq!(event.job_type, SendMessage::QUEUE);
    // One announcement per woken queue, not one per job.
    let more = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await;
    assert!(more.is_err(), "one wake-up was announced twice");
}
