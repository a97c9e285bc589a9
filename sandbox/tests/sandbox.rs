//! The Learn Amp sandbox over real HTTP: each test binds 127.0.0.1:0, starts
//! a sandbox on it (ready at once, no sleep) and talks to it with reqwest.
//! Bodies are compared whole; `status.time` and `profileUrl` are computed
//! from the clock and the sandbox's URL. The behaviours that follow today's
//! API docs one by one are in `api_docs.rs`.

mod common;

use std::time::{Duration, Instant};

use ampsync_sandbox::{CustomFieldDef, Faults, SandboxOptions, SandboxStats, TeamSeed};
use common::{Reply, bad_request, merge, start, start_with_teams, today};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn tokens_are_issued_to_the_right_client_and_expire() {
    let env = start(SandboxOptions::default()).await;
    let reply = env
        .exchange(env.http.post(env.url("/oauth/token")).form(&[
            ("client_id", "sandbox"),
            ("client_secret", "sandbox-secret"),
            ("grant_type", "client_credentials"),
            ("scope", "users:read users:create"),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 43);
    let created_at = reply.body["created_at"].as_i64().expect("created_at");
    assert!((chrono::Utc::now().timestamp() - created_at).abs() < 60);
    assert_eq!(
        reply.body,
        json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 7200,
            "scope": "users:read users:create",
            "created_at": created_at,
        })
    );

    let wrong = env
        .exchange(env.http.post(env.url("/oauth/token")).form(&[
            ("client_id", "sandbox"),
            ("client_secret", "guess"),
            ("grant_type", "client_credentials"),
        ]))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.body,
        json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed due to unknown client, no client authentication \
                                  included, or unsupported authentication method."
        })
    );
    let grant = env
        .exchange(env.http.post(env.url("/oauth/token")).form(&[
            ("client_id", "sandbox"),
            ("client_secret", "sandbox-secret"),
            ("grant_type", "password"),
        ]))
        .await;
    assert_eq!(
        (grant.status, &grant.body["error"]),
        (StatusCode::BAD_REQUEST, &json!("unsupported_grant_type"))
    );

    let missing = env.exchange(env.http.get(env.url("/v1/users"))).await;
    assert_eq!(
        (missing.status, missing.body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "The access token is missing"})
        )
    );
    let unknown = env
        .exchange(env.http.get(env.url("/v1/users")).bearer_auth("forged"))
        .await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (
            StatusCode::UNAUTHORIZED,
            &json!({"error": "The access token is invalid"})
        )
    );
    assert!(
        unknown
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer "))
    );

    assert_eq!(
        env.exchange(env.http.get(env.url("/v1/users")).bearer_auth(&token))
            .await
            .status,
        StatusCode::OK
    );
    env.sandbox.expire_tokens();
    let expired = env
        .exchange(env.http.get(env.url("/v1/users")).bearer_auth(&token))
        .await;
    assert_eq!(
        (expired.status, expired.body),
        (StatusCode::UNAUTHORIZED, json!({"error": "The access token expired"}))
    );
    let fresh = env.new_token().await;
    assert_eq!(
        env.exchange(env.http.get(env.url("/v1/users")).bearer_auth(&fresh))
            .await
            .status,
        StatusCode::OK
    );

    // The admin route does the same for a sandbox run as a separate process.
    let admin = env.exchange(env.http.post(env.url("/_sandbox/expire-tokens"))).await;
    assert_eq!(admin.status, StatusCode::NO_CONTENT);
    assert_eq!(
        env.exchange(env.http.get(env.url("/v1/users")).bearer_auth(&fresh))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(env.sandbox.stats().tokens_issued, 3);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_token_outlives_its_ttl_by_not_a_moment() {
    let env = start(SandboxOptions {
        token_ttl: Duration::ZERO,
        ..SandboxOptions::default()
    })
    .await;
    let reply = env
        .exchange(env.http.post(env.url("/oauth/token")).form(&[
            ("client_id", "sandbox"),
            ("client_secret", "sandbox-secret"),
            ("grant_type", "client_credentials"),
        ]))
        .await;
    assert_eq!(reply.body["expires_in"], json!(0));
    let token = reply.body["access_token"].as_str().expect("token");
    let expired = env
        .exchange(env.http.get(env.url("/v1/users")).bearer_auth(token))
        .await;
    assert_eq!(
        (expired.status, expired.body),
        (StatusCode::UNAUTHORIZED, json!({"error": "The access token expired"}))
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_user_is_created_found_updated_deactivated_and_reactivated() {
    let env = start(SandboxOptions {
        teams: vec![TeamSeed::from("Sales"), TeamSeed::from("Ops")],
        custom_fields: Some(vec![
            CustomFieldDef::optional("Cost centre"),
            CustomFieldDef::optional("Grade"),
        ]),
        ..SandboxOptions::default()
    })
    .await;
    let base = env.sandbox.url();

    let team = env
        .post(
            "/v1/teams",
            &[("name", "Engineering"), ("integrationExternalId", "T-ENG")],
        )
        .await;
    assert_eq!(team.status, StatusCode::CREATED);
    assert_eq!(
        team.body,
        json!({
            "id": 3, "name": "Engineering", "integrationExternalId": "T-ENG", "teamUsersCount": 0,
            "apiTeamPath": "/v1/teams/3.json", "apiTeamUsersPath": "/v1/teams/3/users.json",
            "manager": null, "secondaryManagers": [],
            "users": [], "parentTeam": null, "subTeams": [], "tags": [],
        })
    );

    let boss = env
        .post(
            "/v1/users",
            &[
                ("email", "Boss@Example.com"),
                ("firstName", "Bea"),
                ("lastName", "Boss"),
                ("skipInvitation", "true"),
            ],
        )
        .await;
    assert_eq!(boss.status, StatusCode::CREATED);
    let boss_brief = json!({
        "id": 1, "firstName": "Bea", "lastName": "Boss", "jobTitle": null, "email": "boss@example.com",
        "timeZone": "London", "language": "en", "role": "viewer", "integrationExternalId": null,
        "profileUrl": format!("{base}/en/users/1"), "status": {"status": "Not invited", "time": null},
    });
    let mut boss_full = boss_brief.clone();
    let extra = json!({
        "occupationRole": null, "hireDate": null, "manager": null, "location": null, "department": null,
        "primaryTeam": null, "secondaryTeams": [], "customFields": [],
    });
    merge(&mut boss_full, &extra);
    assert_eq!(boss.body, boss_full);

    let created = env
        .post(
            "/v1/users",
            &[
                ("email", "ann.lee@example.com"),
                ("firstName", "Ann"),
                ("lastName", "Lee"),
                ("integrationExternalId", "E-1"),
                ("jobTitle", "Developer"),
                ("role", "curator"),
                ("language", "fr"),
                ("location", "London"),
                ("department", "R&D"),
                ("hireDate", "2021-02-28"),
                ("timeZone", "Paris"),
                ("managerEmail", "BOSS@example.COM"),
                ("primaryTeamIntegrationExternalId", "T-ENG"),
                ("secondaryTeamIds[]", "1"),
                ("secondaryTeamIds[]", "2"),
                ("customFields[][name]", "Cost centre"),
                ("customFields[][value]", "CC-9"),
                ("customFields[][name]", "Grade"),
                ("customFields[][value]", "7"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let team_of = |id: u64, name: &str, count: u64| {
        json!({
            "id": id, "name": name, "teamUsersCount": count, "apiTeamPath": format!("/v1/teams/{id}.json"),
            "apiTeamUsersPath": format!("/v1/teams/{id}/users.json"), "manager": null,
        })
    };
    let mut ann = json!({
        "id": 2, "firstName": "Ann", "lastName": "Lee", "jobTitle": "Developer", "email": "ann.lee@example.com",
        "timeZone": "London", "language": "fr", "role": "curator", "integrationExternalId": "E-1",
        "occupationRole": null, "hireDate": "2021-02-28", "profileUrl": format!("{base}/en/users/2"),
        "status": {"status": "Invite pending", "time": today("Sent")},
        "manager": boss_brief, "location": "London", "department": "R&D",
        "primaryTeam": team_of(3, "Engineering", 1),
        "secondaryTeams": [team_of(1, "Sales", 1), team_of(2, "Ops", 1)],
        "customFields": [{"name": "Cost centre", "value": "CC-9"}, {"name": "Grade", "value": "7"}],
    });
    assert_eq!(created.body, ann);
    assert_eq!(env.get("/v1/users/2").await.body, ann);
    assert_eq!(env.get("/v1/users/by_integration_external_id/E-1").await.body, ann);

    // An external id with a slash, a space and a digit-only one reach their users, URL-encoded.
    let odd = env.create("odd@example.com", "HR/7 x").await;
    assert_eq!(
        env.get("/v1/users/by_integration_external_id/HR%2F7%20x").await.body["id"],
        json!(odd)
    );
    let numeric = env.create("numeric@example.com", "1").await;
    assert_eq!(
        env.get("/v1/users/by_integration_external_id/1").await.body["id"],
        json!(numeric)
    );

    // Omitted fields are unchanged.
    let updated = env
        .put(
            "/v1/users/2",
            &[
                ("jobTitle", "Lead"),
                ("customFields[][name]", "Grade"),
                ("customFields[][value]", "8"),
            ],
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    merge(
        &mut ann,
        &json!({"jobTitle": "Lead", "customFields": [{"name": "Cost centre", "value": "CC-9"}, {"name": "Grade", "value": "8"}]}),
    );
    assert_eq!(updated.body, ann);

    // By external id: rename it, clear a field, replace the teams.
    let renamed = env
        .put(
            "/v1/users/by_integration_external_id/E-1",
            &[
                ("integrationExternalId", "E-1b"),
                ("location", ""),
                ("secondaryTeamIds[]", ""),
                ("primaryTeamId", "1"),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{renamed:?}");
    merge(
        &mut ann,
        &json!({"integrationExternalId": "E-1b", "location": null, "primaryTeam": team_of(1, "Sales", 1), "secondaryTeams": []}),
    );
    assert_eq!(renamed.body, ann);
    assert_eq!(
        env.get("/v1/users/by_integration_external_id/E-1").await.body,
        json!({"error": "Not found"})
    );

    // Deactivated: data kept, listed, out of its team's count.
    let deactivated = env.put("/v1/users/2/deactivate", &[]).await;
    assert_eq!(
        (deactivated.status, &deactivated.body),
        (StatusCode::NO_CONTENT, &Value::Null)
    );
    merge(
        &mut ann,
        &json!({"status": {"status": "Deactivated", "time": today("On")}, "primaryTeam": team_of(1, "Sales", 0)}),
    );
    assert_eq!(env.get("/v1/users/2").await.body, ann);
    let listed = env.get("/v1/users?expanded=true").await;
    assert_eq!(listed.body["users"][1], ann);

    let reactivated = env.put("/v1/users/2/reactivate", &[]).await;
    assert_eq!(reactivated.status, StatusCode::NO_CONTENT);
    merge(
        &mut ann,
        &json!({"status": {"status": "Invite pending", "time": today("Sent")}, "primaryTeam": team_of(1, "Sales", 1)}),
    );
    assert_eq!(env.get("/v1/users/2").await.body, ann);

    assert_eq!(
        env.put("/v1/users/2/deactivate", &[]).await.status,
        StatusCode::NO_CONTENT
    );
    let back = env
        .put("/v1/users/by_integration_external_id/E-1b", &[("reactivate", "true")])
        .await;
    assert_eq!((back.status, &back.body), (StatusCode::OK, &ann));

    for path in [
        "/v1/users/99",
        "/v1/users/abc",
        "/v1/users/by_integration_external_id/nobody",
    ] {
        let reply = env.get(path).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, json!({"error": "Not found"})),
            "{path}"
        );
    }
    for path in [
        "/v1/users/99",
        "/v1/users/99/deactivate",
        "/v1/users/99/reactivate",
        "/v1/users/by_integration_external_id/x",
    ] {
        let reply = env.put(path, &[]).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, json!({"error": "Not found"})),
            "{path}"
        );
    }

    let users = env.sandbox.users();
    assert_eq!(users.len(), 4);
    assert_eq!((&users[0], &users[1]), (&boss_full, &ann));
    let admin = env.exchange(env.http.get(env.url("/_sandbox/users"))).await;
    assert_eq!(admin.body, Value::Array(users));
    assert_eq!(
        env.sandbox.stats(),
        SandboxStats {
            requests: 26,
            tokens_issued: 1,
            creates: 4,
            updates: 3,
            deactivations: 2,
            reactivations: 2,
            teams_created: 1,
            ..SandboxStats::default()
        }
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn invalid_users_are_refused_with_the_documented_bodies() {
    let env = start_with_teams(&["Sales"]).await;
    env.create("taken@example.com", "E-1").await;
    let gone = env.create("gone@example.com", "E-2").await;
    assert_eq!(
        env.put(&format!("/v1/users/{gone}/deactivate"), &[]).await.status,
        StatusCode::NO_CONTENT
    );

    let ok = [("firstName", "F"), ("lastName", "L")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut form = ok.to_vec();
        form.push(("email", "new@example.com"));
        form.extend_from_slice(extra);
        form
    };
    let cases: Vec<(Vec<(&str, &str)>, Value)> = vec![
        (
            vec![],
            bad_request(
                "email is missing, firstName is missing, lastName is missing",
                json!({"email": ["is missing"], "firstName": ["is missing"], "lastName": ["is missing"]}),
            ),
        ),
        (
            vec![("email", " "), ("firstName", "F"), ("lastName", "L")],
            bad_request("email is empty", json!({"email": ["is empty"]})),
        ),
        (
            vec![("email", "TAKEN@Example.com"), ("firstName", "F"), ("lastName", "L")],
            bad_request(
                "Validation failed: Email has already been taken",
                json!({"email": ["has already been taken"]}),
            ),
        ),
        (
            with(&[("integrationExternalId", "E-1")]),
            bad_request(
                "Validation failed: Integration external id has already been taken",
                json!({"integrationExternalId": ["has already been taken"]}),
            ),
        ),
        (
            vec![
                ("email", "Taken@example.com"),
                ("firstName", "F"),
                ("lastName", "L"),
                ("integrationExternalId", "E-2"),
            ],
            bad_request(
                "Validation failed: Email has already been taken, Integration external id has already been taken",
                json!({"email": ["has already been taken"], "integrationExternalId": ["has already been taken"]}),
            ),
        ),
        (
            vec![("email", "not-an-email"), ("firstName", "F"), ("lastName", "L")],
            bad_request("Validation failed: Email is invalid", json!({"email": ["is invalid"]})),
        ),
        (
            with(&[("role", "owner")]),
            bad_request(
                "role does not have a valid value",
                json!({"role": ["does not have a valid value"]}),
            ),
        ),
        (
            with(&[("language", "en-GB")]),
            bad_request(
                "language does not have a valid value",
                json!({"language": ["does not have a valid value"]}),
            ),
        ),
        (
            with(&[("hireDate", "28/02/2021")]),
            bad_request("hireDate is invalid", json!({"hireDate": ["is invalid"]})),
        ),
        (
            with(&[("managerEmail", "nobody@example.com")]),
            json!({"error": "managerEmail must match an existing user email within your company"}),
        ),
        (
            with(&[("managerEmail", "GONE@example.com")]),
            json!({"error": "managerEmail must match an existing user email within your company"}),
        ),
        (
            with(&[("managerId", "1"), ("managerEmail", "taken@example.com")]),
            json!({"error": "managerId, managerEmail are mutually exclusive"}),
        ),
        (
            with(&[("primaryTeamId", "1"), ("primaryTeamIntegrationExternalId", "T")]),
            json!({"error": "primaryTeamId, primaryTeamIntegrationExternalId are mutually exclusive"}),
        ),
        (
            with(&[
                ("secondaryTeamIds[]", "1"),
                ("secondaryTeamIntegrationExternalIds[]", "T"),
            ]),
            json!({"error": "secondaryTeamIds, secondaryTeamIntegrationExternalIds are mutually exclusive"}),
        ),
        (
            with(&[("primaryTeamIntegrationExternalId", "EPOS-001")]),
            bad_request(
                "primaryTeamIntegrationExternalId must match existing teams integration external IDs",
                json!({"primaryTeamIntegrationExternalId": ["must match existing teams integration external IDs"]}),
            ),
        ),
        (
            with(&[("secondaryTeamIds[]", "1"), ("secondaryTeamIds[]", "42")]),
            bad_request(
                "secondaryTeamIds must match existing teams IDs",
                json!({"secondaryTeamIds": ["must match existing teams IDs"]}),
            ),
        ),
        (
            with(&[("skipInvitation", "maybe")]),
            bad_request("skipInvitation is invalid", json!({"skipInvitation": ["is invalid"]})),
        ),
    ];
    for (form, body) in &cases {
        let reply = env.post("/v1/users", form).await;
        assert_eq!((reply.status, &reply.body), (StatusCode::BAD_REQUEST, body), "{form:?}");
    }

    let rename = env
        .put(
            "/v1/users/by_integration_external_id/E-2",
            &[("integrationExternalId", "E-1")],
        )
        .await;
    assert_eq!(
        (rename.status, rename.body),
        (
            StatusCode::BAD_REQUEST,
            bad_request(
                "Validation failed: Integration external id has already been taken",
                json!({"integrationExternalId": ["has already been taken"]}),
            )
        )
    );
    let blank = env.put("/v1/users/1", &[("lastName", "")]).await;
    assert_eq!(
        blank.body,
        bad_request("lastName is empty", json!({"lastName": ["is empty"]}))
    );

    let team = env.post("/v1/teams", &[("integrationExternalId", "T")]).await;
    assert_eq!(
        (team.status, team.body),
        (
            StatusCode::BAD_REQUEST,
            bad_request("name is missing", json!({"name": ["is missing"]}))
        )
    );
    let text = env
        .exchange(
            env.request(Method::POST, "/v1/users")
                .header("content-type", "text/plain")
                .body("email=a@b.co"),
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = env
        .exchange(
            env.request(Method::POST, "/v1/users")
                .header("content-type", "multipart/form-data; boundary=x")
                .body("--x\r\nno headers"),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{broken:?}");

    // Nothing refused was stored.
    assert_eq!(env.sandbox.users().len(), 2);
    assert_eq!(env.sandbox.stats().creates, 2);
    assert_eq!(env.sandbox.teams().len(), 1);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn json_bodies_are_read_like_forms() {
    let env = start(SandboxOptions {
        teams: vec![TeamSeed::from("Sales"), TeamSeed::from("Ops")],
        custom_fields: Some(vec![CustomFieldDef::optional("Cost centre")]),
        ..SandboxOptions::default()
    })
    .await;
    let created = env
        .exchange(env.request(Method::POST, "/v1/users").json(&json!({
            "email": "j@example.com", "firstName": "J", "lastName": "Son", "integrationExternalId": "J-1",
            "secondaryTeamIds": [1, 2], "skipInvitation": true,
            "customFields": [{"name": "Cost centre", "value": "CC1"}],
        })))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["status"], json!({"status": "Not invited", "time": null}));
    assert_eq!(
        created.body["customFields"],
        json!([{"name": "Cost centre", "value": "CC1"}])
    );
    assert_eq!(created.body["secondaryTeams"].as_array().map(Vec::len), Some(2));
    let cleared = env
        .exchange(
            env.request(Method::PUT, "/v1/users/1")
                .json(&json!({"integrationExternalId": null, "secondaryTeamIds": []})),
        )
        .await;
    assert_eq!(
        (&cleared.body["integrationExternalId"], &cleared.body["secondaryTeams"]),
        (&Value::Null, &json!([]))
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn lists_are_paginated_and_filtered() {
    let env = start_with_teams(&["Sales"]).await;
    for i in 1..=7 {
        env.create(&format!("user{i}@example.com"), &format!("E-{i}")).await;
    }
    env.post(
        "/v1/users",
        &[
            ("email", "quiet@example.com"),
            ("firstName", "Q"),
            ("lastName", "Uiet"),
            ("skipInvitation", "1"),
        ],
    )
    .await;
    env.put("/v1/users/3/deactivate", &[]).await;

    let mut ids = Vec::new();
    for (page, expected) in [(1, 3), (2, 3), (3, 2), (4, 0)] {
        let reply = env.get(&format!("/v1/users?page={page}&perPage=3")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            (
                reply.header("Total"),
                reply.header("Per-Page"),
                reply.header("Total-Pages")
            ),
            (Some("8"), Some("3"), Some("3")),
            "page {page}"
        );
        let users = reply.body["users"].as_array().expect("users");
        assert_eq!(users.len(), expected, "page {page}");
        ids.extend(users.iter().map(|u| u["id"].as_u64().expect("id")));
    }
    assert_eq!(ids, (1..=8).collect::<Vec<_>>());

    let all = env.get("/v1/users").await;
    assert_eq!(
        (all.header("Per-Page"), all.header("Total-Pages")),
        (Some("25"), Some("1"))
    );
    assert_eq!(env.get("/v1/users?perPage=1000").await.header("Per-Page"), Some("100"));
    let bad = env.get("/v1/users?page=0").await;
    assert_eq!(
        (bad.status, bad.body),
        (
            StatusCode::BAD_REQUEST,
            bad_request("page is invalid", json!({"page": ["is invalid"]}))
        )
    );

    // Without `expanded`, the documented short form.
    let by_email = env.get("/v1/users?filters[email]=USER2@Example.com").await;
    assert_eq!(by_email.header("Total"), Some("1"));
    assert_eq!(
        by_email.body,
        json!({"users": [{
            "id": 2, "firstName": "F", "lastName": "L", "jobTitle": null, "email": "user2@example.com",
            "timeZone": "London", "language": "en", "role": "viewer", "integrationExternalId": "E-2",
            "hireDate": null, "profileUrl": format!("{}/en/users/2", env.sandbox.url()),
            "status": {"status": "Invite pending", "time": today("Sent")},
        }]})
    );
    let expanded = env
        .get("/v1/users?filters[integration_external_id]=E-2&expanded=true")
        .await;
    assert_eq!(expanded.body["users"][0], env.get("/v1/users/2").await.body);
    assert_eq!(
        env.get("/v1/users?filters[integration_external_id]=e-2").await.body,
        json!({"users": []})
    );

    let ids_of = |reply: &Reply| -> Vec<u64> {
        reply.body["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["id"].as_u64().expect("id"))
            .collect()
    };
    let statuses = env
        .get("/v1/users?filters[status][]=not_invited&filters[status][]=deactivated")
        .await;
    assert_eq!(ids_of(&statuses), vec![3, 8]);
    assert_eq!(
        ids_of(
            &env.get("/v1/users?filters%5Bstatus%5D%5B%5D=invite_pending&perPage=2&page=3")
                .await
        ),
        vec![6, 7]
    );
    let wrong = env.get("/v1/users?filters[status][]=active").await;
    assert_eq!(
        wrong.body,
        bad_request(
            "filters[status] does not have a valid value",
            json!({"filters[status]": ["does not have a valid value"]})
        )
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn teams_are_listed_and_found_by_name() {
    let env = start_with_teams(&["Sales", "Customer Success", "Ops"]).await;
    let reply = env.get("/v1/teams?filters[name]=customer%20SUCCESS").await;
    assert_eq!(
        (reply.header("Total"), reply.header("Total-Pages")),
        (Some("1"), Some("1"))
    );
    assert_eq!(
        reply.body,
        json!({"teams": [{
            "id": 2, "name": "Customer Success", "integrationExternalId": null, "teamUsersCount": 0,
            "apiTeamPath": "/v1/teams/2.json", "apiTeamUsersPath": "/v1/teams/2/users.json",
            "parentTeamId": null, "manager": null, "secondaryManagers": [],
        }]})
    );
    let none = env.get("/v1/teams?filters[name]=Customer").await;
    assert_eq!((none.header("Total"), &none.body), (Some("0"), &json!({"teams": []})));
    let paged = env.get("/v1/teams?perPage=2&page=2").await;
    assert_eq!(paged.header("Total-Pages"), Some("2"));
    assert_eq!(paged.body["teams"][0]["name"], json!("Ops"));
    assert_eq!(
        Value::Array(env.sandbox.teams()),
        env.exchange(env.http.get(env.url("/_sandbox/teams"))).await.body
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let env = start(SandboxOptions::default()).await;
    // One a second: the bucket holds one token, so the second request of a
    // quick pair finds none (a pair taking a second would be a broken machine).
    env.sandbox.set_faults(Faults {
        rate_limit_per_second: Some(1),
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let reply = env.get("/v1/users").await;
        statuses.push(reply.status.as_u16());
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(reply.header("Retry-After"), Some("1"));
            assert_eq!(reply.body, json!({"error": "You're requesting too many API calls."}));
        }
    }
    assert_eq!(statuses, vec![200, 429]);
    // Tokens and the admin routes are never limited.
    env.new_token().await;
    assert_eq!(
        env.exchange(env.http.get(env.url("/_sandbox/stats"))).await.status,
        StatusCode::OK
    );
    let stats = env.sandbox.stats();
    assert_eq!((stats.requests, stats.rate_limited), (2, 1));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_error_rate_of_one_answers_only_5xx_before_anything_else() {
    let env = start(SandboxOptions {
        faults: Faults {
            error_rate: 1.0,
            seed: 3,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..20 {
        let reply = if i % 2 == 0 {
            env.post(
                "/v1/users",
                &[("email", "a@example.com"), ("firstName", "A"), ("lastName", "B")],
            )
            .await
        } else {
            // No token at all: the fault still comes first.
            env.exchange(env.http.get(env.url("/v1/users"))).await
        };
        let message = match reply.status.as_u16() {
            500 => "We had a problem with our server. Try again later.",
            503 => "We're temporarily offline for maintenance. Please try again later.",
            other => panic!("status {other}"),
        };
        assert_eq!(reply.body, json!({"error": message}));
        seen.insert(reply.status.as_u16());
    }
    assert_eq!(seen, [500, 503].into());
    assert!(env.sandbox.users().is_empty());
    let stats = env.sandbox.stats();
    assert_eq!((stats.requests, stats.server_errors, stats.creates), (20, 20, 0));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn fault_choices_repeat_for_the_same_seed() {
    let env = start(SandboxOptions::default()).await;
    let faults = Faults {
        error_rate: 0.5,
        seed: 9,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        env.sandbox.set_faults(faults.clone());
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(env.get("/v1/users").await.status.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].iter().any(|s| *s >= 500),
        "{:?}",
        runs[0]
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_dropped_write_is_applied_but_the_client_gets_no_response() {
    let env = start(SandboxOptions::default()).await;
    env.sandbox.set_faults(Faults {
        drop_after_write_rate: 1.0,
        ..Faults::default()
    });

    let form = [
        ("email", "d@example.com"),
        ("firstName", "D"),
        ("lastName", "Rop"),
        ("integrationExternalId", "D-1"),
    ];
    let sent = env.request(Method::POST, "/v1/users").form(&form).send().await;
    let error = sent.expect_err("the create must not look successful");
    // hyper's IncompleteMessage: the connection closed before any response.
    assert!(
        error.is_request() && !error.is_status() && !error.is_timeout(),
        "{error:?}"
    );
    assert_eq!(env.sandbox.users().len(), 1);
    assert_eq!(env.sandbox.users()[0]["integrationExternalId"], json!("D-1"));

    // Reads still answer; the lookup a client makes before re-sending finds the user.
    let found = env.get("/v1/users/by_integration_external_id/D-1").await;
    assert_eq!(
        (found.status, &found.body["email"]),
        (StatusCode::OK, &json!("d@example.com"))
    );

    let update = env
        .request(Method::PUT, "/v1/users/1")
        .form(&[("jobTitle", "Ghost")])
        .send()
        .await;
    assert!(update.is_err());
    assert!(env.request(Method::PUT, "/v1/users/1/deactivate").send().await.is_err());
    assert_eq!(env.sandbox.users()[0]["jobTitle"], json!("Ghost"));
    assert_eq!(env.sandbox.users()[0]["status"]["status"], json!("Deactivated"));

    // A refused write is answered as usual: nothing was applied.
    let refused = env
        .post(
            "/v1/users",
            &[("email", "D@example.com"), ("firstName", "D"), ("lastName", "Up")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    env.sandbox.set_faults(Faults::default());
    assert_eq!(env.get("/v1/users/1").await.body["jobTitle"], json!("Ghost"));
    let stats = env.sandbox.stats();
    assert_eq!(
        stats,
        SandboxStats {
            requests: 6,
            tokens_issued: 1,
            creates: 1,
            updates: 1,
            deactivations: 1,
            dropped: 3,
            ..SandboxStats::default()
        }
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn latency_delays_every_v1_request() {
    let env = start(SandboxOptions::default()).await;
    env.sandbox.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(env.get("/v1/teams").await.status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_admin_routes_drive_a_separate_sandbox() {
    let env = start(SandboxOptions::default()).await;
    let set = env
        .exchange(
            env.http
                .put(env.url("/_sandbox/faults"))
                .json(&json!({"error_rate": 1.0, "seed": 5})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    let faults = env.exchange(env.http.get(env.url("/_sandbox/faults"))).await;
    assert_eq!(
        faults.body,
        json!({
            "rate_limit_per_second": null, "omit_retry_after": false, "error_rate": 1.0, "latency_ms": 0,
            "drop_after_write_rate": 0.0, "seed": 5,
        })
    );
    assert!(env.get("/v1/users").await.status.is_server_error());
    env.exchange(env.http.put(env.url("/_sandbox/faults")).json(&json!({})))
        .await;
    assert_eq!(env.get("/v1/users").await.status, StatusCode::OK);

    let stats = env.exchange(env.http.get(env.url("/_sandbox/stats"))).await;
    assert_eq!(
        stats.body,
        serde_json::to_value(env.sandbox.stats()).expect("stats as JSON")
    );
    assert_eq!(stats.body["server_errors"], json!(1));
    assert_eq!(
        env.exchange(env.http.get(env.url("/nowhere"))).await.body,
        json!({"error": "Not found"})
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let env = start(SandboxOptions::default()).await;
    let url = env.url("/v1/users");
    env.sandbox.shutdown().await;
    assert!(env.http.get(url).bearer_auth(&env.token).send().await.is_err());
}
