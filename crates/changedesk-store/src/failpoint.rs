//! Crash points for tests: `CHANGEDESK_FAILPOINT=NAME` (or `NAME=N`, the
//! N-th time it is reached) makes the process abort there, with no cleanup,
//! as a power cut or `kill -9` would. Unset, a failpoint costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Armed {
    name: String,
    at: usize,
    hits: AtomicUsize,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("CHANGEDESK_FAILPOINT").ok()?;
            let (name, at) = match spec.split_once('=') {
                Some((n, c)) => (n.trim().to_string(), c.trim().parse().unwrap_or(1)),
                None => (spec.trim().to_string(), 1),
            };
            (!name.is_empty()).then(|| Armed {
                name,
                at: at.max(1),
                hits: AtomicUsize::new(0),
            })
        })
        .as_ref()
}

/// Aborts the process if the failpoint `name` is armed and due.
pub fn hit(name: &str) {
    if let Some(a) = armed()
        && a.name == name
    {
        let n = a.hits.fetch_add(1, Ordering::SeqCst) + 1;
        if n == a.at {
            eprintln!("failpoint {name} reached (hit {n}): aborting");
            std::process::abort();
        }
    }
}

/// Panics, as a bug in handling one item would, when `CHANGEDESK_POISON`
/// is `STAGE:ID` for this stage (`parse`, `import`, `rules`) and item: the
/// tests of per-post isolation. Unset, it costs one atomic load.
pub fn poison(stage: &str, id: &str) {
    static SPEC: OnceLock<Option<String>> = OnceLock::new();
    if let Some(spec) = SPEC
        .get_or_init(|| std::env::var("CHANGEDESK_POISON").ok())
        .as_deref()
        && spec.split_once(':') == Some((stage, id))
    {
        panic!("poisoned on purpose at {stage} of {id} (CHANGEDESK_POISON)");
    }
}

/// Runs `f`, turning a panic into an error that names what it was doing:
/// one post a bug cannot handle must not stop the rest of a listing.
pub fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|payload| panic_text(&*payload))
}

/// The message of a panic's payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Tenants whose part of a group load fails on purpose after its messages
/// are written (tests of the group commit's per-tenant rollback).
#[cfg(feature = "testing")]
static FAILING_TENANTS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Makes `tenant`'s next loads fail after their messages are written.
#[cfg(feature = "testing")]
pub fn fail_tenant_loads(tenant: &str) {
    FAILING_TENANTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(tenant.to_string());
}

/// Whether `tenant`'s load is to fail (see [`fail_tenant_loads`]).
pub(crate) fn tenant_load_fails(tenant: &str) -> bool {
    #[cfg(feature = "testing")]
    {
        FAILING_TENANTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|t| t == tenant)
    }
    #[cfg(not(feature = "testing"))]
    {
        let _ = tenant;
        false
    }
}
