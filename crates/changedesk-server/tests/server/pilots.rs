//! The preview and pilot programme (issue 21 item 5), on SQLite and
//! PostgreSQL: a pilot group per workload, kept by a change manager
//! (audited); a pilot task opens, once, when a post's targeted release
//! starts, for the groups whose workloads the post concerns; the group's
//! finding is recorded on the item and counts for the maturity level.

use axum::http::StatusCode;
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_store::Store;
use serde_json::{Value, json};

use super::ui::{NOW, fixture, opts, sign_in};

fn at(s: &str) -> changedesk_core::Timestamp {
    changedesk_core::Timestamp::parse(s).unwrap()
}

fn post(id: &str, services: &[&str], when: &str) -> changedesk_core::Message {
    changedesk_core::Message::from_graph(
        &json!({"id": id, "title": format!("{id}: a change"), "category": "planForChange",
            "severity": "normal", "startDateTime": "2026-03-01T00:00:00Z",
            "lastModifiedDateTime": "2026-03-01T00:00:00Z", "services": services,
            "body": {"contentType": "html", "content": format!(
                "<p>[When this will happen:]</p><p>Targeted Release: We will begin rolling out {when} and expect to complete by late May 2026.</p>\
                 <p>General Availability (Worldwide): We will begin rolling out early June 2026.</p>")}}),
        0,
    )
    .unwrap()
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn a_pilot_task_opens_when_the_targeted_release_starts(store: Store) {
    let f = fixture(store, 0).await;
    // alpha sees three posts: Teams from early March (started by NOW,
    // 10 March), Teams from early May (not yet), Exchange from early March
    f.store
        .import_messages(
            "alpha",
            &[
                post("MC7001", &["Microsoft Teams"], "early March 2026"),
                post("MC7002", &["Microsoft Teams"], "early May 2026"),
                post("MC7003", &["Exchange Online"], "early March 2026"),
            ],
            &opts("2026-03-09T00:00:00Z"),
        )
        .await
        .unwrap();
    let triage = Triage::load(&f.store, Default::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    let reader = sign_in(&f, "reader").await;
    let scoped = sign_in(&f, "scoped").await;
    // only unrestricted change managers and admins keep the groups
    let group = json!({"description": "Early adopters", "workloads": [" microsoft teams ", "Microsoft Teams"],
        "members": ["Ana@Contoso.com", "bo@contoso.com"]});
    for b in [&reader, &scoped] {
        let r = b
            .send_json(&f, "PUT", "/api/v1/pilot-groups/teams-early", &group)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    let bad = json!({"workloads": [], "members": []});
    let r = admin
        .send_json(&f, "PUT", "/api/v1/pilot-groups/teams-early", &bad)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = admin
        .send_json(&f, "PUT", "/api/v1/pilot-groups/teams-early", &group)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let groups = json_of(&reader.get(&f, "/api/v1/pilot-groups").await.body);
    assert_eq!(
        groups[0]["workloads"],
        json!(["microsoft teams"]),
        "{groups}"
    );
    assert_eq!(
        groups[0]["members"],
        json!(["ana@contoso.com", "bo@contoso.com"])
    );

    // the rules' run opens the task due, once
    let s = apply_rules(&f.store, &triage, at(NOW), false)
        .await
        .unwrap();
    assert_eq!(s.pilot_tasks_opened, 1, "{s:?}");
    let s = apply_rules(&f.store, &triage, at(NOW), false)
        .await
        .unwrap();
    assert_eq!(s.pilot_tasks_opened, 0, "{s:?}");
    let tasks = json_of(&admin.get(&f, "/api/v1/pilots?state=open").await.body);
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    assert_eq!(
        (tasks[0]["post_id"].as_str(), tasks[0]["group"].as_str()),
        (Some("MC7001"), Some("teams-early"))
    );
    assert_eq!(tasks[0]["pilot_start"], "2026-03-01");
    // in May the second one opens
    let s = apply_rules(&f.store, &triage, at("2026-05-02T00:00:00Z"), false)
        .await
        .unwrap();
    assert_eq!(s.pilot_tasks_opened, 1, "{s:?}");

    // the finding: a known group's, recorded on the item
    let r = admin
        .send_json(&f, "POST", "/api/v1/items/MC7001/actions",
            &json!({"action": "record_pilot_finding", "pilot_group": "nobody", "recommendation": "delay"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = reader
        .send_json(&f, "POST", "/api/v1/items/MC7001/actions",
            &json!({"action": "record_pilot_finding", "pilot_group": "teams-early", "recommendation": "delay"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = admin
        .send_json(&f, "POST", "/api/v1/items/MC7001/actions",
            &json!({"action": "record_pilot_finding", "pilot_group": "teams-early", "recommendation": "delay",
                "text": "Recaps miss the breakout rooms."}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let tasks = json_of(&admin.get(&f, "/api/v1/pilots?post=MC7001").await.body);
    assert_eq!(tasks[0]["state"], "done", "{tasks}");
    assert_eq!(tasks[0]["recommendation"], "delay");
    assert_eq!(tasks[0]["finding"], "Recaps miss the breakout rooms.");
    assert_eq!(tasks[0]["found_by"], "admin");
    let open = json_of(&admin.get(&f, "/api/v1/pilots?state=open").await.body);
    assert_eq!(
        open.as_array().unwrap().len(),
        1,
        "MC7002's is still open: {open}"
    );
    // a user limited to zulu sees none of alpha's tasks
    reader_of_zulu(&f, "zed").await;
    let zed = sign_in(&f, "zed").await;
    let theirs = json_of(&zed.get(&f, "/api/v1/pilots").await.body);
    assert_eq!(theirs, json!([]), "{theirs}");

    // it counts for the maturity level
    let m = json_of(&admin.get(&f, "/api/v1/reports/maturity").await.body);
    let c = m["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "preview_engagement")
        .unwrap()
        .clone();
    assert_eq!(c["status"], "met", "{c}");
    assert!(
        c["evidence"].as_str().unwrap().contains("1 pilot finding"),
        "{c}"
    );
    // the pages: the post's finding in its log and its pilot section; the
    // pilots page with the group and both tasks
    let page = admin.get(&f, "/posts/MC7001").await;
    assert!(
        page.body.contains("Pilot finding of teams-early: Delay"),
        "{}",
        page.body
    );
    let page = admin.get(&f, "/posts/MC7002").await;
    assert!(
        page.body
            .contains("name=\"action\" value=\"record_pilot_finding\""),
        "an open task's form"
    );
    let page = reader.get(&f, "/pilots").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("teams-early") && page.body.contains("MC7002"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("/pilots/save"),
        "a reader keeps no group"
    );
    // removing the group keeps its tasks and findings; audited
    let r = admin
        .post(&f, "/pilots/remove", &[("name", "teams-early")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        json_of(&admin.get(&f, "/api/v1/pilots").await.body)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let audit: Vec<String> = f
        .store
        .audit_log(100)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(
        audit.contains(&"pilot_group.save".to_string())
            && audit.contains(&"pilot_group.remove".to_string())
    );
}

/// A reader limited to zulu.
async fn reader_of_zulu(f: &super::ui::Fixture, name: &str) {
    super::ui::user(
        &f.store,
        name,
        changedesk_core::access::Role::Reader,
        changedesk_core::access::Scope {
            tenants: vec!["zulu".into()],
            groups: vec![],
        },
    )
    .await;
}

both!(a_pilot_task_opens_when_the_targeted_release_starts);

/// A pilot group that names a channel is told of each task opened for it,
/// once, through that channel alone; an e-mail reaches its recipients.
async fn a_pilot_group_is_told_of_its_tasks_through_its_channel(store: Store) {
    use changedesk_server::outbox::{ChannelRequest, MailSetup, Mailer, Outbox, new_channel};
    let f = fixture(store, 0).await;
    f.store
        .import_messages(
            "alpha",
            &[post("MC7101", &["Microsoft Teams"], "early March 2026")],
            &opts("2026-03-09T00:00:00Z"),
        )
        .await
        .unwrap();
    let ring = std::sync::Arc::new(
        changedesk_secrets::Keyring::from_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", &[])
            .unwrap(),
    );
    for req in [
        // the group's: hears of pilot tasks alone
        ChannelRequest {
            name: "pilot-mail".into(),
            kind: Some("email".into()),
            recipients: vec!["ana@contoso.com".into()],
            events: vec!["pilot.opened".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
        // one limited to zulu, which does not see the post
        ChannelRequest {
            name: "zulu-mail".into(),
            kind: Some("email".into()),
            recipients: vec!["zed@zulu.example".into()],
            events: vec!["pilot.opened".into()],
            tenants: vec!["zulu".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
        // another that hears every event a channel may hear by default
        ChannelRequest {
            name: "everything".into(),
            kind: Some("email".into()),
            recipients: vec!["all@contoso.com".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
    ] {
        let (c, _) = new_channel(
            &ring,
            &req,
            &["alpha".into(), "zulu".into()],
            &[],
            "admin",
            at("2026-03-01T00:00:00Z"),
        )
        .unwrap();
        f.store.create_channel(&c).await.unwrap();
    }
    let admin = sign_in(&f, "admin").await;
    let group = |channel: &str| json!({"workloads": ["Microsoft Teams"], "members": ["ana@contoso.com"], "channel": channel});
    let r = admin
        .send_json(&f, "PUT", "/api/v1/pilot-groups/early", &group("nowhere"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("there is no channel"), "{}", r.body);
    let r = admin
        .send_json(
            &f,
            "PUT",
            "/api/v1/pilot-groups/early",
            &group(" Pilot-Mail "),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // a second group told through the channel limited to zulu
    let r = admin
        .send_json(
            &f,
            "PUT",
            "/api/v1/pilot-groups/zulu-early",
            &group("zulu-mail"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let groups = json_of(&admin.get(&f, "/api/v1/pilot-groups").await.body);
    assert_eq!(groups[0]["channel"], "pilot-mail", "{groups}");
    let page = admin.get(&f, "/pilots").await;
    assert!(
        page.body.contains("<td>pilot-mail</td>")
            && page.body.contains("<option>everything</option>"),
        "{}",
        page.body
    );

    let triage = Triage::load(&f.store, Default::default()).await.unwrap();
    let mail = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(
        f.store.clone(),
        Some(ring),
        changedesk_notify::WebhookSender::new(std::time::Duration::from_secs(2)).unwrap(),
    );
    outbox.public_url = Some("https://changedesk.example".into());
    outbox.mail = Some(MailSetup {
        from: "changedesk <changedesk@example.com>".into(),
        reply_to: None,
        mailer: Mailer::Directory(mail.path().to_path_buf()),
    });
    for _ in 0..2 {
        apply_rules(&f.store, &triage, at(NOW), false)
            .await
            .unwrap();
        outbox.run_once(at(NOW)).await.unwrap();
    }
    let log = |channel: &str| changedesk_store::DeliveryFilter {
        channel: Some(channel.into()),
        ..Default::default()
    };
    let told = f.store.deliveries(&log("pilot-mail")).await.unwrap();
    assert_eq!(told.len(), 1, "once: {told:?}");
    assert_eq!(
        (
            told[0].kind.as_str(),
            told[0].post_id.as_deref(),
            told[0].state.as_str()
        ),
        ("pilot.opened", Some("MC7101"), "delivered")
    );
    // zulu's channel is never told of alpha's post
    let zulu = f.store.deliveries(&log("zulu-mail")).await.unwrap();
    assert!(zulu.is_empty(), "{zulu:?}");
    let elsewhere = f.store.deliveries(&log("everything")).await.unwrap();
    assert!(
        elsewhere.iter().all(|d| d.kind != "pilot.opened"),
        "{elsewhere:?}"
    );
    // the e-mail, as its recipient gets it
    let mails: Vec<String> = std::fs::read_dir(mail.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains("ana@contoso.com"))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].contains("Pilot: try this change in preview")
            && mails[0].contains("Pilot group early")
            && mails[0].contains("MC7101"),
        "{}",
        mails[0]
    );
}
both!(a_pilot_group_is_told_of_its_tasks_through_its_channel);
