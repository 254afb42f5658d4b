//! Running one task per tenant, a bounded number at a time.

use std::future::Future;
use std::sync::Arc;

use changedesk_core::config::TenantConfig;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Runs `f` for every tenant, at most `limit` (at least 1) at a time, each on
/// its own tokio task, and returns `(tenant name, result)` in the order of
/// `tenants`.
///
/// Failures should be values (`T = Result<…>`): one tenant failing never
/// stops the others. A task that panics is a bug; its panic is raised again
/// once every other tenant has finished. Dropping the returned future aborts
/// the tasks still running.
///
/// ```no_run
/// # async fn demo(client: changedesk_graph::GraphClient, tenants: Vec<changedesk_core::config::TenantConfig>) {
/// use changedesk_graph::{for_each_tenant_concurrently, Resource};
/// let results = for_each_tenant_concurrently(&tenants, 8, |tenant| {
///     let client = client.clone();
///     async move { client.fetch(&tenant, Resource::Messages, None).await }
/// })
/// .await;
/// for (name, result) in results {
///     println!("{name}: {}", result.map(|f| f.items.len().to_string()).unwrap_or_else(|e| e.to_string()));
/// }
/// # }
/// ```
pub async fn for_each_tenant_concurrently<T, F, Fut>(
    tenants: &[TenantConfig],
    limit: usize,
    f: F,
) -> Vec<(String, T)>
where
    F: Fn(TenantConfig) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut set = JoinSet::new();
    for (i, tenant) in tenants.iter().enumerate() {
        let fut = f(tenant.clone());
        let permits = permits.clone();
        set.spawn(async move {
            // the semaphore is never closed
            let _permit = permits.acquire_owned().await.ok();
            (i, fut.await)
        });
    }
    let mut results: Vec<Option<T>> = tenants.iter().map(|_| None).collect();
    let mut panic = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, value)) => {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(value);
                }
            }
            Err(e) if e.is_panic() => {
                if panic.is_none() {
                    panic = Some(e.into_panic());
                }
            }
            // cancelled: only when the runtime shuts down
            Err(_) => {}
        }
    }
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
    tenants
        .iter()
        .zip(results)
        .filter_map(|(t, r)| r.map(|r| (t.name.clone(), r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use changedesk_core::config::{Cloud, Credential};

    use super::*;

    fn tenant(name: &str) -> TenantConfig {
        TenantConfig {
            name: name.into(),
            tenant_id: format!("{name}.onmicrosoft.com"),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            credential: Credential::Secret("x".into()),
            cloud: Cloud::Global,
            login_url: None,
            graph_url: None,
            secret_expires: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bounded_ordered_and_independent() {
        let tenants: Vec<TenantConfig> = (0..7).map(|i| tenant(&format!("t{i}"))).collect();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let results = for_each_tenant_concurrently(&tenants, 3, |t| {
            let running = running.clone();
            let peak = peak.clone();
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // later tenants finish first
                let n: u64 = t.name[1..].parse().expect("number");
                tokio::time::sleep(Duration::from_secs(10 - n)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                if n == 2 {
                    Err(format!("{} failed", t.name))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["t0", "t1", "t2", "t3", "t4", "t5", "t6"]);
        assert_eq!(results[2].1, Err("t2 failed".to_string()));
        assert_eq!(results[6].1, Ok(6));
        assert!(
            for_each_tenant_concurrently(&[], 0, |_| async { 1 })
                .await
                .is_empty()
        );
    }
}
