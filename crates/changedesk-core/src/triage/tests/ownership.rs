//! Ownership resolution order and validation against owners and groups.

use super::*;

fn entry(workload: &str, owner: &str, scope: &str) -> OwnershipEntry {
    OwnershipEntry {
        workload: workload.into(),
        owner: owner.into(),
        scope: scope.parse().unwrap(),
    }
}

fn group(name: &str, include: &[&str], exclude: &[&str]) -> TenantGroup {
    TenantGroup {
        name: name.into(),
        description: format!("{name} tenants"),
        include: strings(include),
        exclude: strings(exclude),
    }
}

fn owner(name: &str) -> Owner {
    Owner::new(name, name, &format!("{name}@msp.example")).unwrap()
}

fn map() -> OwnershipMap {
    OwnershipMap {
        entries: vec![
            entry("Microsoft Teams", "tina", "all"),
            entry("microsoft teams", "gina", "group:eu"),
            entry("Microsoft Teams", "pam", "group:premium"),
            entry("MICROSOFT TEAMS", "cora", "tenant:contoso"),
            entry("Exchange Online", "ed", "all"),
            entry("SharePoint Online", "gus", "group:premium"),
            entry("*", "fallback", "all"),
            entry("*", "eu-fallback", "group:eu"),
        ],
    }
}

/// `(services, tenant, groups)` → `(owner, workload, via)`
type Case = (
    Vec<String>,
    Option<&'static str>,
    Vec<&'static str>,
    Option<(&'static str, &'static str, &'static str)>,
);

#[test]
fn resolution_order() {
    let m = map();
    let teams = strings(&["Microsoft Teams"]);
    // (services, tenant, groups) → (owner, workload, via)
    let cases: Vec<Case> = vec![
        // tenant beats groups and the default
        (
            teams.clone(),
            Some("contoso"),
            vec!["eu", "premium"],
            Some(("cora", "Microsoft Teams", "tenant:contoso")),
        ),
        (
            teams.clone(),
            Some("CONTOSO"),
            vec![],
            Some(("cora", "Microsoft Teams", "tenant:contoso")),
        ),
        // the first group in the list wins
        (
            teams.clone(),
            Some("fabrikam"),
            vec!["eu", "premium"],
            Some(("gina", "Microsoft Teams", "group:eu")),
        ),
        (
            teams.clone(),
            Some("fabrikam"),
            vec!["premium", "eu"],
            Some(("pam", "Microsoft Teams", "group:premium")),
        ),
        // groups without an entry are skipped
        (
            teams.clone(),
            Some("fabrikam"),
            vec!["us", "premium"],
            Some(("pam", "Microsoft Teams", "group:premium")),
        ),
        // the default
        (
            teams.clone(),
            Some("fabrikam"),
            vec!["us"],
            Some(("tina", "Microsoft Teams", "all")),
        ),
        // no tenant: only the default counts
        (
            teams.clone(),
            None,
            vec!["eu"],
            Some(("tina", "Microsoft Teams", "all")),
        ),
        // the first service with an owner wins, in the post's order
        (
            strings(&["Microsoft Clipchamp", "Exchange Online", "Microsoft Teams"]),
            Some("contoso"),
            vec![],
            Some(("ed", "Exchange Online", "all")),
        ),
        // a service owned only in a group the tenant is not in: next service
        (
            strings(&["SharePoint Online", "Microsoft Teams"]),
            Some("fabrikam"),
            vec!["eu"],
            Some(("gina", "Microsoft Teams", "group:eu")),
        ),
        (
            strings(&["SharePoint Online", "Microsoft Teams"]),
            Some("fabrikam"),
            vec!["premium"],
            Some(("gus", "SharePoint Online", "group:premium")),
        ),
        // services match ignoring case and surrounding spaces
        (
            strings(&["  exchange online "]),
            None,
            vec![],
            Some(("ed", "exchange online", "all")),
        ),
        // the catch-all, with its own scopes
        (
            strings(&["Microsoft Viva"]),
            Some("fabrikam"),
            vec!["eu"],
            Some(("eu-fallback", "*", "group:eu")),
        ),
        (
            strings(&["Microsoft Viva"]),
            Some("fabrikam"),
            vec![],
            Some(("fallback", "*", "all")),
        ),
        (vec![], None, vec![], Some(("fallback", "*", "all"))),
        // a tenant's catch-all does not beat a workload's default
        (
            strings(&["Exchange Online"]),
            Some("fabrikam"),
            vec!["eu"],
            Some(("ed", "Exchange Online", "all")),
        ),
    ];
    for (services, tenant, groups, want) in cases {
        let got = m.owner_for(&services, tenant, &groups);
        let got = got
            .as_ref()
            .map(|r| (r.owner.as_str(), r.workload.as_str(), r.via.to_string()));
        let want = want.map(|(o, w, v)| (o, w, v.to_string()));
        assert_eq!(got, want, "{services:?} {tenant:?} {groups:?}");
    }
}

#[test]
fn no_owner_without_a_catch_all() {
    let m = OwnershipMap {
        entries: vec![entry("Exchange Online", "ed", "group:eu")],
    };
    assert_eq!(
        m.owner_for(&strings(&["Microsoft Teams"]), Some("x"), &["eu"]),
        None
    );
    assert_eq!(
        m.owner_for(&strings(&["Exchange Online"]), None, &["eu"]),
        None
    );
    assert!(
        m.owner_for(&strings(&["Exchange Online"]), Some("x"), &["eu"])
            .is_some()
    );
    assert_eq!(OwnershipMap::default().owner_for(&[], None, &[]), None);
}

#[test]
fn owner_for_tenant_uses_group_membership_and_exclusions() {
    let groups = vec![
        group("premium", &["*-premium"], &[]),
        group("eu", &["eu-*"], &["eu-lab*"]),
    ];
    let m = map();
    let teams = strings(&["Microsoft Teams"]);
    let r = m
        .owner_for_tenant(&teams, "eu-contoso-premium", &groups)
        .unwrap();
    assert_eq!(
        (r.owner.as_str(), r.via.to_string()),
        ("pam", "group:premium".to_string())
    );
    let r = m.owner_for_tenant(&teams, "eu-contoso", &groups).unwrap();
    assert_eq!(r.owner, "gina");
    // excluded from eu: the default
    let r = m.owner_for_tenant(&teams, "eu-lab-1", &groups).unwrap();
    assert_eq!(r.owner, "tina");
}

#[test]
fn the_map_validates_against_owners_and_groups() {
    let owners: Vec<Owner> = [
        "tina",
        "gina",
        "pam",
        "cora",
        "ed",
        "gus",
        "fallback",
        "eu-fallback",
    ]
    .iter()
    .map(|n| owner(n))
    .collect();
    let groups = vec![group("eu", &["eu-*"], &[]), group("premium", &["*-p"], &[])];
    assert!(map().validate(&owners, &groups).is_ok());

    let bad = OwnershipMap {
        entries: vec![
            entry("Microsoft Teams", "tina", "all"),
            entry(" ", "tina", "all"),
            entry("Microsoft *", "tina", "all"),
            entry("Exchange Online", "nobody", "group:apac"),
            entry("Exchange Online", "ed", "tenant:Contoso.EU"),
            entry("microsoft teams", "ed", "all"),
        ],
    };
    let e = bad.validate(&owners[..5], &groups).unwrap_err();
    let lines: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        lines,
        vec![
            "ownership[1]: workload is empty (use a service name such as `Microsoft Teams`, or `*` for every workload)",
            "ownership[2]: workload `Microsoft *` is a pattern; use the exact service name, or `*` alone for every workload",
            "ownership[3]: unknown owner `nobody` (known: tina, gina, pam, cora, ed)",
            "ownership[3]: unknown tenant group `apac` (known: eu, premium)",
            "ownership[4]: tenant name `Contoso.EU` may hold only letters a-z, digits, `_` and `-`",
            "ownership[5]: `microsoft teams` in scope all is already owned by ownership[0]; the first entry wins, remove one",
        ]
    );
    let e = bad.validate(&[], &[]).unwrap_err().to_string();
    assert!(
        e.contains("unknown owner `tina` (none is configured)"),
        "{e}"
    );
}

#[test]
fn the_first_of_duplicate_entries_wins() {
    let m = OwnershipMap {
        entries: vec![
            entry("Microsoft Teams", "first", "all"),
            entry("Microsoft Teams", "second", "all"),
        ],
    };
    let r = m
        .owner_for(&strings(&["Microsoft Teams"]), None, &[])
        .unwrap();
    assert_eq!(r.owner, "first");
}
