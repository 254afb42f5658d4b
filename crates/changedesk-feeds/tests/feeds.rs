//! The roadmap read from the simulator as from the real feed: every item,
//! a browser-like `User-Agent`, errors for answers other than 200 and 304;
//! conditional requests against a server that sends validators.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use changedesk_feeds::{FeedClient, FeedError, Fetched, USER_AGENT, Validators};
use changedesk_sim::{ROADMAP_PATH, SimConfig};

fn client() -> FeedClient {
    FeedClient::new(Duration::from_secs(10)).unwrap()
}

#[tokio::test]
async fn the_roadmap_is_read_from_the_simulator_whole() {
    let sim = changedesk_sim::start(SimConfig::default()).await.unwrap();
    let url = format!("{}{}", sim.base_url().trim_end_matches('/'), ROADMAP_PATH);
    let served = sim.roadmap_items();
    assert!(
        served.len() > 10,
        "the corpus has a roadmap: {}",
        served.len()
    );
    let (feed, validators) = client()
        .roadmap(&url, &Validators::default())
        .await
        .unwrap()
        .unwrap();
    assert!(feed.skipped.is_empty(), "{:?}", feed.skipped);
    assert_eq!(feed.items.len(), served.len());
    let ids: Vec<u64> = served.iter().map(|v| v["id"].as_u64().unwrap()).collect();
    assert_eq!(feed.items.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
    assert_eq!(
        validators,
        Validators::default(),
        "the feed sends no validators"
    );
    let log = sim.roadmap_requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].user_agent.as_deref(), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("Mozilla/5.0"), "browser-like");
    // a fault: an error, not an empty roadmap
    sim.roadmap_fault(503, 1);
    match client().roadmap(&url, &Validators::default()).await {
        Err(FeedError::Status { status: 503, .. }) => {}
        other => panic!("{other:?}"),
    }
    // items put in place of the corpus's, one of them unreadable
    sim.set_roadmap_items(Some(vec![
        serde_json::json!({"id": 7, "title": "Seven", "status": "Launched"}),
        serde_json::json!({"title": "no id"}),
    ]));
    let (feed, _) = client()
        .roadmap(&url, &Validators::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(feed.items.len(), 1);
    assert_eq!(feed.skipped.len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_urls_and_bodies_are_errors() {
    let c = client();
    for url in ["not a url", "ftp://example.com/x", "file:///etc/passwd"] {
        assert!(
            matches!(
                c.fetch(url, &Validators::default()).await,
                Err(FeedError::Config(_))
            ),
            "{url}"
        );
    }
    // nothing listens: a transport error naming the URL
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = c
        .fetch(
            &format!("http://127.0.0.1:{port}/feed"),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, FeedError::Transport { .. }) && e.to_string().contains("127.0.0.1"),
        "{e}"
    );
    // a body that is not UTF-8, and one that is not a roadmap
    let (url, _) = serve(vec![answer(200, &[], b"\xff\xfe")]);
    assert!(matches!(
        c.fetch(&url, &Validators::default()).await,
        Err(FeedError::NotText { .. })
    ));
    let (url, _) = serve(vec![answer(200, &[], b"{\"a\": 1}")]);
    assert!(matches!(
        c.roadmap(&url, &Validators::default()).await,
        Err(FeedError::Roadmap { .. })
    ));
}

#[tokio::test]
async fn validators_are_sent_back_and_304_is_not_modified() {
    let (url, seen) = serve(vec![
        answer(
            200,
            &[
                ("ETag", "\"v1\""),
                ("Last-Modified", "Sat, 21 Feb 2026 00:30:02 GMT"),
            ],
            b"[]",
        ),
        answer(304, &[], b""),
    ]);
    let c = client();
    let Fetched::Fresh { body, validators } = c.fetch(&url, &Validators::default()).await.unwrap()
    else {
        panic!("a body first")
    };
    assert_eq!(body, "[]");
    assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        c.fetch(&url, &validators).await.unwrap(),
        Fetched::NotModified
    );
    let requests = seen.join().unwrap();
    assert!(
        !requests[0].to_lowercase().contains("if-none-match"),
        "{}",
        requests[0]
    );
    let second = requests[1].to_lowercase();
    assert!(second.contains("if-none-match: \"v1\""), "{second}");
    assert!(
        second.contains("if-modified-since: sat, 21 feb 2026 00:30:02 gmt"),
        "{second}"
    );
}

fn answer(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A one-connection-per-answer HTTP server giving `answers` in turn; its
/// thread returns the request heads it read.
fn serve(answers: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/feed", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut heads = Vec::new();
        for a in answers {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            heads.push(String::from_utf8_lossy(&head).into_owned());
            s.write_all(&a).unwrap();
        }
        heads
    });
    (url, handle)
}
