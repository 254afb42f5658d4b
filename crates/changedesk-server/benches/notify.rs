//! Notification throughput and latency (issue 17): signed webhooks from a
//! sync's events to receivers that verify every signature.
//!
//! Run with
//! `cargo bench -p changedesk-server --bench notify -- [--tenants 200]
//! [--posts 2500] [--new 2000] [--updates 2000] [--subscriptions 100]
//! [--filters none|services] [--workers 1] [--period-ms 100]
//! [--database sqlite|postgres://postgres@127.0.0.1:5432/postgres]`.
//!
//! The shape:
//! 1. The simulator (in process) serves `--tenants` tenants, each seeing
//!    about `--coverage` (0.9) of `--posts` posts. A baseline sync and the
//!    rules load them (a first load notifies nobody); the baseline is then
//!    accepted (history closed, as `tasks baseline accept` does) and every
//!    item left is triaged, so a later change of a post tells its owner.
//! 2. `--subscriptions` webhook channels, each to its own receiver (its own
//!    port, so its own connections, as distinct endpoints would have), with
//!    its own secret. Filters: `none` (every channel hears every event) or
//!    `services` (one channel in five hears everything, the others one
//!    workload's services each). The receivers run in this process, in
//!    Rust: each request is verified with changedesk-sim's own Standard
//!    Webhooks implementation (`webhooks::verify`, no code shared with the
//!    sender), its body parsed as JSON, and its `webhook-id` recorded with
//!    the time it arrived.
//! 3. The outbox runs as `serve` runs it: `Outbox::run` (`--workers` of
//!    them, every `--period-ms`), with `serve`'s sender timeout (15 s).
//! 4. The simulator publishes exactly `--new` new posts and edits exactly
//!    `--updates` of the baseline's posts (`changedesk_sim::publish`); one
//!    sync and the rules then record the events while the outbox sends.
//!
//! The bench allocates with mimalloc, as the changedesk binary does.
//!
//! Measured per delivery: from its event's commit to its arrival at the
//! receiver. The commit time is observed by polling `events` every 2 ms on
//! a connection of the bench's own: an event is dated at the start of the
//! last poll that did not see it, which is before its commit, so latencies
//! are overestimated by at most one poll (a few milliseconds), never
//! underestimated. Deliveries per second: deliveries over the delivery
//! phase, from the first event's commit to the last arrival.
//!
//! Checked: every delivery the channels' filters call for arrived, with a
//! valid signature, exactly once (distinct `webhook-id`s; duplicates and
//! refusals counted), and none failed in the log. Nothing asserts on time.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use changedesk_core::Timestamp;
use changedesk_core::config::{Cloud, Credential, SyncSettings, TenantConfig};
use changedesk_core::notify::{ChannelFilter, Event};
use changedesk_core::triage::{Action, Actor, Owner, OwnershipEntry, Scope, State as ItemState};
use changedesk_graph::{ClientOptions, GraphClient};
use changedesk_notify::{WebhookSecret, WebhookSender};
use changedesk_secrets::Keyring;
use changedesk_server::outbox::{Outbox, secret_context, url_context};
use changedesk_server::sync::{Quiet, SyncRequest, sync_tenants};
use changedesk_server::triage::{Triage, accept_baseline, apply_rules};
use changedesk_sim::{CorpusSpec, SimConfig};
use changedesk_store::{ItemFilter, ItemSave, Location, NewChannel, OpenMode, Store, TriageSeed};
use secrecy::{ExposeSecret as _, SecretString};

/// The allocator of the changedesk binary (see its `main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The workloads of the `services` filters (Microsoft's spelling).
const WORKLOADS: &[&[&str]] = &[
    &["Microsoft Teams"],
    &["Exchange Online"],
    &["SharePoint Online", "Microsoft OneDrive"],
    &[
        "Microsoft Entra",
        "Microsoft Defender XDR",
        "Microsoft Purview",
    ],
    &[
        "Windows",
        "Microsoft Intune",
        "Windows 365",
        "Windows Autopatch",
    ],
    &[
        "Microsoft Copilot (Microsoft 365)",
        "Microsoft 365 Copilot Chat",
    ],
    &[
        "Power Platform",
        "Power Apps",
        "Microsoft Power Automate",
        "Power BI",
        "Microsoft Dataverse",
    ],
    &["Microsoft 365 apps", "Microsoft 365 for the web"],
    &["Microsoft Viva"],
    &["Dynamics 365 Apps", "Finance and Operations Apps"],
];

#[derive(Debug, Clone)]
struct Args {
    tenants: usize,
    posts: usize,
    new: usize,
    updates: usize,
    subscriptions: usize,
    filters: String,
    workers: usize,
    period_ms: u64,
    coverage: f64,
    database: String,
    seed: u64,
    timeout_s: u64,
    keep: bool,
}

fn args() -> Args {
    let mut a = Args {
        tenants: 200,
        posts: 2500,
        new: 2000,
        updates: 2000,
        subscriptions: 100,
        filters: "none".into(),
        workers: 1,
        period_ms: 100,
        coverage: 0.9,
        database: "sqlite".into(),
        seed: 1,
        timeout_s: 3600,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match flag.as_str() {
            // `cargo bench` passes it to every bench binary
            "--bench" => {}
            "--tenants" => a.tenants = value("--tenants").parse().expect("--tenants"),
            "--posts" => a.posts = value("--posts").parse().expect("--posts"),
            "--new" => a.new = value("--new").parse().expect("--new"),
            "--updates" => a.updates = value("--updates").parse().expect("--updates"),
            "--subscriptions" => {
                a.subscriptions = value("--subscriptions").parse().expect("--subscriptions")
            }
            "--filters" => a.filters = value("--filters"),
            "--workers" => a.workers = value("--workers").parse().expect("--workers"),
            "--period-ms" => a.period_ms = value("--period-ms").parse().expect("--period-ms"),
            "--coverage" => a.coverage = value("--coverage").parse().expect("--coverage"),
            "--database" => a.database = value("--database"),
            "--seed" => a.seed = value("--seed").parse().expect("--seed"),
            "--timeout-s" => a.timeout_s = value("--timeout-s").parse().expect("--timeout-s"),
            "--keep" => a.keep = true,
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        a.filters == "none" || a.filters == "services",
        "--filters is none or services"
    );
    a
}

fn main() {
    let args = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(run(args));
}

// ---------------------------------------------------------------- receivers

struct Arrival {
    id: String,
    subscription: usize,
    at: Instant,
}

struct Receivers {
    secrets: Vec<String>,
    /// channel id → subscription index (set once the channels exist)
    channel_of: Mutex<HashMap<i64, usize>>,
    arrivals: Mutex<Vec<Arrival>>,
    seen: Mutex<HashSet<String>>,
    duplicates: AtomicUsize,
    refused: AtomicUsize,
    misrouted: AtomicUsize,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// `msg_e<event>_c<channel>` → (event, channel).
fn parse_message_id(id: &str) -> Option<(i64, i64)> {
    let (e, c) = id.strip_prefix("msg_e")?.split_once("_c")?;
    Some((e.parse().ok()?, c.parse().ok()?))
}

async fn hook(
    State((rx, n)): State<(Arc<Receivers>, usize)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let id = header(&headers, "webhook-id");
    let verified = changedesk_sim::webhooks::verify(
        &rx.secrets[n],
        (
            id,
            header(&headers, "webhook-timestamp"),
            header(&headers, "webhook-signature"),
        ),
        &body,
        unix_now(),
        300,
    );
    if verified.is_err() {
        rx.refused.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    // a receiver reads what it is sent
    let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&body);
    if !parsed.is_ok_and(|v| v["type"].is_string()) {
        rx.refused.fetch_add(1, Ordering::Relaxed);
        return StatusCode::BAD_REQUEST;
    }
    let at = Instant::now();
    let routed = parse_message_id(id)
        .and_then(|(_, c)| rx.channel_of.lock().unwrap().get(&c).copied())
        == Some(n);
    if !routed {
        rx.misrouted.fetch_add(1, Ordering::Relaxed);
    }
    if !rx.seen.lock().unwrap().insert(id.to_string()) {
        rx.duplicates.fetch_add(1, Ordering::Relaxed);
        return StatusCode::OK;
    }
    rx.arrivals.lock().unwrap().push(Arrival {
        id: id.to_string(),
        subscription: n,
        at,
    });
    StatusCode::NO_CONTENT
}

/// One listener per subscription; their addresses.
async fn start_receivers(rx: &Arc<Receivers>) -> Vec<SocketAddr> {
    let mut addrs = Vec::new();
    for n in 0..rx.secrets.len() {
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state((Arc::clone(rx), n));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a port");
        addrs.push(listener.local_addr().expect("its address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    addrs
}

// ------------------------------------------------------ the bench's own view

/// A connection of the bench's own to the archive, to see events commit.
enum Peek {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Peek {
    async fn open(location: &Location) -> Peek {
        match location {
            Location::Sqlite(path) => Peek::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        sqlx::sqlite::SqliteConnectOptions::new()
                            .filename(path)
                            .read_only(true),
                    )
                    .await
                    .expect("a reading connection"),
            ),
            Location::Postgres(url) => Peek::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .expect("a reading connection"),
            ),
        }
    }

    async fn events_after(&self, id: i64) -> Vec<(i64, String)> {
        const Q: &str = "SELECT id, payload FROM events WHERE id > $1 ORDER BY id";
        match self {
            Peek::Sqlite(p) => sqlx::query_as(Q).bind(id).fetch_all(p).await,
            Peek::Postgres(p) => sqlx::query_as(Q).bind(id).fetch_all(p).await,
        }
        .expect("events")
    }

    async fn scalar(&self, q: &'static str) -> i64 {
        match self {
            Peek::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await,
            Peek::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await,
        }
        .expect(q)
    }

    async fn states(&self) -> Vec<(String, i64)> {
        const Q: &str = "SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state";
        match self {
            Peek::Sqlite(p) => sqlx::query_as(Q).fetch_all(p).await,
            Peek::Postgres(p) => sqlx::query_as(Q).fetch_all(p).await,
        }
        .expect("states")
    }
}

struct Seen {
    id: i64,
    /// the start of the last poll that did not see it: before its commit
    before: Instant,
    event: Event,
}

/// Polls `events` every 2 ms until `stop`; what it saw.
async fn watch_events(peek: Arc<Peek>, stop: tokio::sync::watch::Receiver<bool>) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut last = 0;
    let mut previous = Instant::now();
    loop {
        let started = Instant::now();
        for (id, payload) in peek.events_after(last).await {
            last = id;
            let event: Event = serde_json::from_str(&payload).expect("an event");
            seen.push(Seen {
                id,
                before: previous,
                event,
            });
        }
        previous = started;
        if *stop.borrow() {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

// ------------------------------------------------------------------ CPU time

/// CPU seconds of a process (`/proc/PID/stat`, 100 ticks a second).
fn cpu_of(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds of the PostgreSQL backends serving database `db`, by pid.
fn postgres_cpu(db: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let pid = e.file_name().to_string_lossy().to_string();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd);
        if cmd.starts_with("postgres: ")
            && cmd.contains(&format!(" {db} "))
            && let Some(cpu) = cpu_of(&pid)
        {
            out.insert(pid, cpu);
        }
    }
    out
}

// ---------------------------------------------------------------- the bench

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn now() -> Timestamp {
    Timestamp::now_utc()
}

async fn open_database(args: &Args) -> (Location, Option<(String, String)>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a directory");
    if args.database == "sqlite" {
        return (Location::Sqlite(dir.path().join("notify.db")), None, dir);
    }
    if let Some(path) = args.database.strip_prefix("sqlite:") {
        return (Location::Sqlite(path.into()), None, dir);
    }
    assert!(
        args.database.starts_with("postgres://") || args.database.starts_with("postgresql://"),
        "--database is sqlite, sqlite:PATH or a postgres:// URL"
    );
    // a fresh database next to the one named
    let name = format!(
        "changedesk_notify_bench_{}_{}",
        unix_now(),
        std::process::id()
    );
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&args.database)
        .await
        .expect("PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("CREATE DATABASE");
    admin.close().await;
    let mut url = url::Url::parse(&args.database).expect("a URL");
    url.set_path(&format!("/{name}"));
    (
        Location::Postgres(url.to_string()),
        Some((args.database.clone(), name)),
        dir,
    )
}

async fn drop_database(admin_url: &str, name: &str) {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .expect("PostgreSQL");
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
    admin.close().await;
}

async fn seed_triage(store: &Store) {
    let owner = |n: &str, d: &str| Owner::new(n, d, &format!("{n}@contoso.example")).unwrap();
    let own = |w: &str, o: &str| OwnershipEntry {
        workload: w.into(),
        owner: o.into(),
        scope: Scope::All,
    };
    store
        .seed(
            &TriageSeed {
                owners: vec![
                    owner("collaboration", "Collaboration"),
                    owner("messaging", "Messaging"),
                    owner("content", "Content services"),
                    owner("security", "Security"),
                    owner("endpoint", "Endpoint"),
                    owner("platform", "Platform"),
                ],
                ownership: vec![
                    own("Microsoft Teams", "collaboration"),
                    own("Exchange Online", "messaging"),
                    own("SharePoint Online", "content"),
                    own("Microsoft OneDrive", "content"),
                    own("Microsoft Entra", "security"),
                    own("Microsoft Defender XDR", "security"),
                    own("Microsoft Purview", "security"),
                    own("Windows", "endpoint"),
                    own("Microsoft Intune", "endpoint"),
                    own("*", "platform"),
                ],
                ..Default::default()
            },
            &now(),
        )
        .await
        .expect("triage seed");
}

fn filter_for(args: &Args, n: usize) -> ChannelFilter {
    if args.filters == "none" || n.is_multiple_of(5) {
        return ChannelFilter::default();
    }
    let w = WORKLOADS[(n - n / 5 - 1) % WORKLOADS.len()];
    ChannelFilter {
        services: w.iter().map(|s| (*s).to_string()).collect(),
        ..Default::default()
    }
}

async fn run(args: Args) {
    let started = Instant::now();
    let (location, pg, _dir) = open_database(&args).await;
    let store = Store::open(&location, OpenMode::ReadWrite)
        .await
        .expect("the archive");
    seed_triage(&store).await;

    // the simulator, its corpus "now" a few minutes ago
    let t0 = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        - time::Duration::minutes(5);
    let sim = changedesk_sim::start(SimConfig {
        tenants: args.tenants,
        spec: CorpusSpec {
            posts: args.posts,
            issues: args.posts / 50 + 5,
            tenants: args.tenants,
            seed: args.seed,
            coverage: args.coverage,
            base_time: t0,
        },
        seed: args.seed,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator");
    let base = url::Url::parse(sim.base_url()).unwrap();
    let tenants: Vec<TenantConfig> = sim
        .tenants()
        .into_iter()
        .map(|t| TenantConfig {
            name: t.name,
            tenant_id: t.tenant_id,
            client_id: t.client_id,
            credential: Credential::Secret(SecretString::from(t.client_secret)),
            cloud: Cloud::Global,
            login_url: Some(base.clone()),
            graph_url: Some(base.clone()),
            secret_expires: None,
        })
        .collect();
    let settings = SyncSettings::default();
    let graph = GraphClient::new(ClientOptions {
        page_size: settings.page_size,
        max_retry_time: settings.max_retry_time,
        per_minute: settings.requests_per_minute,
        per_hour: settings.requests_per_hour,
        ..ClientOptions::default()
    })
    .expect("a Graph client");
    let sync = |at: Timestamp| SyncRequest {
        full: false,
        now: at,
        settings: settings.clone(),
        dry_run: false,
    };

    // 1. the baseline
    let b = Instant::now();
    let outcomes = sync_tenants(&store, &graph, &tenants, &sync(now()), Arc::new(Quiet)).await;
    assert!(outcomes.iter().all(|o| o.ok()), "the baseline sync failed");
    let triage = Triage::load(&store, Default::default())
        .await
        .expect("triage");
    let first = apply_rules(&store, &triage, now(), false)
        .await
        .expect("rules");
    let actor = Actor::person("bench").unwrap();
    let accepted = accept_baseline(&store, &actor, now())
        .await
        .expect("baseline accepted");
    let open = store
        .work_items(&ItemFilter {
            states: vec![ItemState::New],
            limit: Some(1_000_000),
            ..Default::default()
        })
        .await
        .expect("items");
    let at = now();
    let mut triaged = 0;
    for chunk in open.chunks(200) {
        let changed: Vec<_> = chunk
            .iter()
            .map(|r| {
                let mut item = r.stored.item.clone();
                let entries = item.apply(Action::Triage, &actor, at).expect("triage");
                (r, item, entries)
            })
            .collect();
        let saves: Vec<ItemSave> = changed
            .iter()
            .map(|(r, item, entries)| ItemSave {
                item,
                expected_version: Some(r.stored.version),
                evaluated_revision: None,
                entries,
                notify: &[],
                events: &[],
                at,
            })
            .collect();
        for r in store.save_work_items(&saves, &[]).await.expect("saved") {
            r.expect("saved");
            triaged += 1;
        }
    }
    let counts = store.counts().await.expect("counts");
    println!(
        "baseline: {} tenants, {} posts, {} tenant links; {} items ({} closed as history, {} triaged) in {:.1} s",
        args.tenants,
        counts.posts,
        counts.post_links,
        first.created,
        accepted.closed.len(),
        triaged,
        b.elapsed().as_secs_f64()
    );

    // 2. channels and receivers
    let ring = Keyring::from_text(KEY, &[]).unwrap();
    let secrets: Vec<String> = (0..args.subscriptions)
        .map(|_| {
            WebhookSecret::generate()
                .unwrap()
                .1
                .expose_secret()
                .to_string()
        })
        .collect();
    let rx = Arc::new(Receivers {
        secrets: secrets.clone(),
        channel_of: Mutex::new(HashMap::new()),
        arrivals: Mutex::new(Vec::new()),
        seen: Mutex::new(HashSet::new()),
        duplicates: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
        misrouted: AtomicUsize::new(0),
    });
    let addrs = start_receivers(&rx).await;
    let mut filters: HashMap<i64, ChannelFilter> = HashMap::new();
    for (n, addr) in addrs.iter().enumerate() {
        let name = format!("hook-{n:03}");
        let url = format!("http://{addr}/hook");
        let filter = filter_for(&args, n);
        let id = store
            .create_channel(&NewChannel {
                name: name.clone(),
                kind: "webhook".into(),
                url_sealed: ring.seal(&url, &url_context(&name)).unwrap(),
                secret_sealed: Some(ring.seal(&secrets[n], &secret_context(&name)).unwrap()),
                filter: filter.clone(),
                settings: Default::default(),
                allow_private: true,
                created_by: "bench".into(),
                at: now(),
            })
            .await
            .expect("a channel");
        rx.channel_of.lock().unwrap().insert(id, n);
        filters.insert(id, filter);
    }

    // 3. the outbox, as `serve` runs it
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut outbox = Outbox::new(
        store.clone(),
        Some(Arc::new(ring)),
        WebhookSender::new(Duration::from_secs(15)).unwrap(),
    );
    outbox.public_url = Some("https://changedesk.contoso.example".into());
    let clock: Arc<dyn Fn() -> Timestamp + Send + Sync> = Arc::new(now);
    let workers: Vec<_> = (0..args.workers.max(1))
        .map(|_| {
            tokio::spawn(outbox.clone().run(
                Duration::from_millis(args.period_ms),
                Arc::clone(&clock),
                stopped.clone(),
            ))
        })
        .collect();
    let peek = Arc::new(Peek::open(&location).await);
    let (stop_watch, watch_stopped) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(watch_events(Arc::clone(&peek), watch_stopped));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        peek.scalar("SELECT COUNT(*) FROM events").await,
        0,
        "the baseline told somebody"
    );

    // 4. the news, one sync and the rules, while the outbox sends
    let news = changedesk_sim::publish(
        &sim.corpus(),
        time::OffsetDateTime::now_utc(),
        args.new,
        args.updates,
        args.seed + 1,
    );
    sim.replace_corpus(news);
    let cpu_before = cpu_of("self").unwrap_or(0.0);
    let pg_before = pg
        .as_ref()
        .map(|(_, db)| postgres_cpu(db))
        .unwrap_or_default();
    let phase = Instant::now();
    let outcomes = sync_tenants(&store, &graph, &tenants, &sync(now()), Arc::new(Quiet)).await;
    assert!(outcomes.iter().all(|o| o.ok()), "the sync failed");
    let synced = phase.elapsed();
    let rules = apply_rules(&store, &triage, now(), false)
        .await
        .expect("rules");
    let ruled = phase.elapsed();

    // what the filters call for
    let events_now = peek.events_after(0).await;
    let mut expected: HashSet<String> = HashSet::new();
    for (id, payload) in &events_now {
        let e: Event = serde_json::from_str(payload).unwrap();
        for (c, f) in &filters {
            if f.matches(&e) {
                expected.insert(changedesk_core::notify::message_id(*id, *c));
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    loop {
        let got = rx.seen.lock().unwrap().len();
        if got >= expected.len() && {
            let seen = rx.seen.lock().unwrap();
            expected.iter().all(|id| seen.contains(id))
        } {
            break;
        }
        if Instant::now() > deadline {
            println!("TIMEOUT: {got} of {} arrived", expected.len());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered_in = phase.elapsed();
    let cpu_after = cpu_of("self").unwrap_or(0.0);
    let pg_after = pg
        .as_ref()
        .map(|(_, db)| postgres_cpu(db))
        .unwrap_or_default();
    // the outcomes recorded
    let settle = Instant::now() + Duration::from_secs(60);
    while peek
        .scalar("SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')")
        .await
        > 0
        && Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    for w in workers {
        let _ = w.await;
    }
    let _ = stop_watch.send(true);
    let seen = watcher.await.expect("the watcher");

    // figures
    let before: HashMap<i64, Instant> = seen.iter().map(|s| (s.id, s.before)).collect();
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &seen {
        *kinds.entry(s.event.kind.as_str()).or_default() += 1;
    }
    let arrivals = std::mem::take(&mut *rx.arrivals.lock().unwrap());
    let first_event = seen.iter().map(|s| s.before).min();
    let last_event = seen.iter().map(|s| s.before).max();
    let first_arrival = arrivals.iter().map(|a| a.at).min();
    let last_arrival = arrivals.iter().map(|a| a.at).max();
    let mut latencies: Vec<f64> = arrivals
        .iter()
        .filter_map(|a| {
            let (e, _) = parse_message_id(&a.id)?;
            Some(
                a.at.saturating_duration_since(*before.get(&e)?)
                    .as_secs_f64()
                    * 1000.0,
            )
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let missing = {
        let seen = rx.seen.lock().unwrap();
        expected.iter().filter(|id| !seen.contains(*id)).count()
    };
    let unexpected = arrivals
        .iter()
        .filter(|a| !expected.contains(&a.id))
        .count();
    let per_subscription = {
        let mut n = vec![0usize; args.subscriptions];
        for a in &arrivals {
            n[a.subscription] += 1;
        }
        (
            n.iter().min().copied().unwrap_or(0),
            n.iter().max().copied().unwrap_or(0),
        )
    };
    let states = peek.states().await;
    let resends = peek
        .scalar("SELECT CAST(COALESCE(SUM(resends), 0) AS BIGINT) FROM deliveries")
        .await;
    let retried = peek
        .scalar("SELECT COUNT(*) FROM deliveries WHERE attempts > 1")
        .await;
    let span = match (first_event, last_arrival) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => f64::NAN,
    };
    let arrival_span = match (first_arrival, last_arrival) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => f64::NAN,
    };
    let events_span = match (first_event, last_event) {
        (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
        _ => f64::NAN,
    };
    let pg_cpu: f64 = pg_after
        .iter()
        .map(|(pid, after)| after - pg_before.get(pid).copied().unwrap_or(0.0))
        .sum();
    let db = match &location {
        Location::Sqlite(_) => "sqlite",
        Location::Postgres(_) => "postgres",
    };

    println!(
        "news: {} new posts and {} updates published; sync {:.2} s, rules {:.2} s ({} evaluated, {} items created, {} reopened, {} flagged)",
        args.new,
        args.updates,
        synced.as_secs_f64(),
        (ruled - synced).as_secs_f64(),
        rules.evaluated,
        rules.created,
        rules.reopened,
        rules.flagged
    );
    println!(
        "events: {} ({}), committed over {:.2} s",
        seen.len(),
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        events_span
    );
    println!(
        "deliveries: {} expected ({} subscriptions, filters {}), {} arrived verified ({} to {} per subscription), \
         {} missing, {} unexpected, {} duplicates, {} refused, {} misrouted; log: {}; {} resends, {} with more than one attempt",
        expected.len(),
        args.subscriptions,
        args.filters,
        arrivals.len(),
        per_subscription.0,
        per_subscription.1,
        missing,
        unexpected,
        rx.duplicates.load(Ordering::Relaxed),
        rx.refused.load(Ordering::Relaxed),
        rx.misrouted.load(Ordering::Relaxed),
        states
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", "),
        resends,
        retried
    );
    println!(
        "latency event commit → arrival: p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    println!(
        "throughput: {:.0} deliveries/s over the delivery phase ({} in {:.2} s, first event commit → last arrival); \
         {:.0}/s first → last arrival",
        arrivals.len() as f64 / span,
        arrivals.len(),
        span,
        arrivals.len() as f64 / arrival_span
    );
    println!(
        "CPU during the phase ({:.2} s to the last arrival): this process (simulator, sync, rules, outbox, receivers) {:.1} s{}",
        delivered_in.as_secs_f64(),
        cpu_after - cpu_before,
        if pg.is_some() {
            format!(", PostgreSQL backends {pg_cpu:.1} s")
        } else {
            String::new()
        }
    );
    let ok = missing == 0
        && unexpected == 0
        && rx.duplicates.load(Ordering::Relaxed) == 0
        && rx.refused.load(Ordering::Relaxed) == 0
        && rx.misrouted.load(Ordering::Relaxed) == 0
        && states.iter().all(|(s, _)| s == "delivered");
    println!(
        "| {db} | {} | {} + {} | {} ({}) | {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0}/s | {} |",
        args.tenants,
        args.new,
        args.updates,
        args.subscriptions,
        args.filters,
        seen.len(),
        arrivals.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
        arrivals.len() as f64 / span,
        if ok { "all once" } else { "CHECK FAILED" }
    );
    println!("total run {:.1} s", started.elapsed().as_secs_f64());

    sim.shutdown().await;
    store.close().await;
    if let Some((admin, name)) = &pg {
        if args.keep {
            println!("kept database {name}");
        } else {
            drop_database(admin, name).await;
        }
    }
    assert!(
        ok,
        "some deliveries were missing, repeated, refused or not delivered"
    );
}
