//! The sandbox follows today's Learn Amp API docs: one test per documented
//! behaviour (scopes, roles, languages, time zone, occupation roles, custom
//! fields, body encodings, lookups by external id, managers, deletion,
//! status filters, teams, the rate limit, the request log), over real HTTP,
//! bodies compared whole where practical.

mod common;

use std::time::{Duration, Instant};

use ampsync_sandbox::{CustomFieldDef, Faults, LoggedRequest, SandboxOptions, TeamSeed};
use common::{Env, bad_request, not_found, start, start_with_teams};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn invalid_scope() -> Value {
    json!({
        "error": "invalid_scope",
        "error_description": "The requested scope is invalid, unknown, or malformed.",
    })
}

fn insufficient_scope(scope: &str) -> Value {
    json!({
        "error": "insufficient_scope",
        "error_description": format!("This action requires the `{scope}` scope."),
    })
}

fn error(message: &str) -> Value {
    json!({ "error": message })
}

fn seed(name: &str, external_id: &str) -> TeamSeed {
    TeamSeed {
        name: name.to_owned(),
        integration_external_id: Some(external_id.to_owned()),
    }
}

/// Every users and teams scope the docs name.
const ALL_SCOPES: [&str; 10] = [
    "users:read",
    "users:create",
    "users:update",
    "users:deactivate",
    "users:reactivate",
    "users:delete",
    "teams:read",
    "teams:create",
    "teams:update",
    "teams:delete",
];

#[tokio::test]
async fn legacy_credentials_get_public_or_the_scopes_they_name_and_may_do_anything() {
    let env = start(SandboxOptions::default()).await;
    let public = env.token_request(None).await;
    assert_eq!(
        (public.status, &public.body["scope"]),
        (StatusCode::OK, &json!("public"))
    );
    let named = env.token_request(Some("users:read teams:read")).await;
    assert_eq!(named.body["scope"], json!("users:read teams:read"));
    let unknown = env.token_request(Some("users:read users:everything")).await;
    assert_eq!(
        (unknown.status, unknown.body),
        (StatusCode::BAD_REQUEST, invalid_scope())
    );

    // A legacy token, whatever it carries, reaches every endpoint.
    let mut env = env;
    env.token = named.body["access_token"].as_str().expect("token").to_owned();
    let id = env.create("a@example.com", "E-1").await;
    assert_eq!(
        env.put(&format!("/v1/users/{id}/deactivate"), &[]).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        env.delete(&format!("/v1/users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        env.post("/v1/teams", &[("name", "T")]).await.status,
        StatusCode::CREATED
    );
    assert_eq!(env.sandbox.stats().forbidden, 0);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn provisioned_credentials_must_name_their_scopes() {
    let env = start(SandboxOptions {
        scopes: Some(vec!["users:read".to_owned(), "users:create".to_owned()]),
        ..SandboxOptions::default()
    })
    .await;
    for scope in [None, Some(""), Some("public"), Some("users:read teams:read")] {
        let reply = env.token_request(scope).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::BAD_REQUEST, invalid_scope()),
            "{scope:?}"
        );
    }
    let reply = env.token_request(Some("users:create users:read")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.body["access_token"].as_str().expect("token");
    assert_eq!(
        reply.body,
        json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 7200,
            "scope": "users:create users:read", "created_at": reply.body["created_at"],
        })
    );
    assert_eq!(env.sandbox.stats().tokens_issued, 1);

    // A token has only what it asked for, not all its credentials may have.
    let read_only = env.token_for("users:read").await;
    let create = env
        .exchange(env.http.post(env.url("/v1/users")).bearer_auth(&read_only).form(&[
            ("email", "a@example.com"),
            ("firstName", "A"),
            ("lastName", "B"),
        ]))
        .await;
    assert_eq!(
        (create.status, create.body),
        (StatusCode::FORBIDDEN, insufficient_scope("users:create"))
    );
    assert!(
        create
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("insufficient_scope"))
    );
    assert!(env.sandbox.users().is_empty());
    env.sandbox.shutdown().await;
}

/// A request (method, path, form), the scope it needs, and its status when allowed.
type ScopeCase = (
    Method,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    u16,
);

#[tokio::test]
async fn each_endpoint_requires_its_documented_scope() {
    let mut env = start(SandboxOptions {
        scopes: Some(ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect()),
        teams: vec![seed("Sales", "T-1"), TeamSeed::from("Ops"), seed("Old", "T-3")],
        ..SandboxOptions::default()
    })
    .await;
    env.token = env.token_for(&ALL_SCOPES.join(" ")).await;
    env.create("one@example.com", "E-1").await;
    env.create("two@example.com", "E-2").await;

    let new_user: &'static [(&str, &str)] = &[("email", "new@example.com"), ("firstName", "N"), ("lastName", "U")];
    let rows: Vec<ScopeCase> = vec![
        (Method::GET, "/v1/users", &[], "users:read", 200),
        (Method::GET, "/v1/users/1", &[], "users:read", 200),
        (
            Method::GET,
            "/v1/users/by_integration_external_id/E-1",
            &[],
            "users:read",
            200,
        ),
        (Method::POST, "/v1/users", new_user, "users:create", 201),
        (Method::PUT, "/v1/users/1", &[("jobTitle", "X")], "users:update", 200),
        (
            Method::PUT,
            "/v1/users/by_integration_external_id/E-1",
            &[("jobTitle", "Y")],
            "users:update",
            200,
        ),
        (Method::PUT, "/v1/users/1/deactivate", &[], "users:deactivate", 204),
        (
            Method::PUT,
            "/v1/users/1",
            &[("reactivate", "true")],
            "users:update",
            200,
        ),
        (Method::PUT, "/v1/users/1/deactivate", &[], "users:deactivate", 204),
        (Method::PUT, "/v1/users/1/reactivate", &[], "users:reactivate", 204),
        (Method::DELETE, "/v1/users/2", &[], "users:delete", 204),
        (Method::GET, "/v1/teams", &[], "teams:read", 200),
        (Method::GET, "/v1/teams/1", &[], "teams:read", 200),
        (Method::GET, "/v1/teams/by_external_id/T-1", &[], "teams:read", 200),
        (Method::POST, "/v1/teams", &[("name", "New")], "teams:create", 201),
        (Method::PUT, "/v1/teams/1", &[("name", "Sales 2")], "teams:update", 200),
        (
            Method::PUT,
            "/v1/teams/by_external_id/T-1",
            &[("name", "Sales 3")],
            "teams:update",
            200,
        ),
        (Method::DELETE, "/v1/teams/2", &[], "teams:delete", 204),
        (Method::DELETE, "/v1/teams/by_external_id/T-3", &[], "teams:delete", 204),
    ];
    for (method, path, form, scope, status) in &rows {
        let others: Vec<&str> = ALL_SCOPES.iter().copied().filter(|s| s != scope).collect();
        let without = env.token_for(&others.join(" ")).await;
        let send = |token: &str| {
            env.http
                .request(method.clone(), env.url(path))
                .bearer_auth(token)
                .form(form)
        };
        let refused = env.exchange(send(&without)).await;
        assert_eq!(
            (refused.status, &refused.body),
            (StatusCode::FORBIDDEN, &insufficient_scope(scope)),
            "{method} {path}"
        );
        let with = env.token_for(scope).await;
        let allowed = env.exchange(send(&with)).await;
        assert_eq!(allowed.status.as_u16(), *status, "{method} {path}: {allowed:?}");
    }
    let stats = env.sandbox.stats();
    assert_eq!(stats.forbidden, rows.len() as u64);
    // Refused writes did nothing: each write happened once, when allowed.
    assert_eq!((stats.creates, stats.deletes, stats.teams_created), (3, 1, 1));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn roles_are_the_documented_six_and_hr_needs_the_package() {
    for (hr_package, hr_status) in [(false, StatusCode::UNPROCESSABLE_ENTITY), (true, StatusCode::CREATED)] {
        let env = start(SandboxOptions {
            hr_package,
            ..SandboxOptions::default()
        })
        .await;
        for (i, role) in ["viewer", "curator", "reporter", "learning_designer", "admin"]
            .iter()
            .enumerate()
        {
            let id = env
                .create_with(&format!("u{i}@example.com"), &format!("E-{i}"), &[("role", role)])
                .await;
            assert_eq!(env.get(&format!("/v1/users/{id}")).await.body["role"], json!(role));
        }
        let hr = env
            .post(
                "/v1/users",
                &[
                    ("email", "hr@example.com"),
                    ("firstName", "H"),
                    ("lastName", "R"),
                    ("role", "hr"),
                ],
            )
            .await;
        assert_eq!(hr.status, hr_status, "{hr:?}");
        if !hr_package {
            assert_eq!(hr.body, error("hr role requires the HR-role package"));
            let update = env.put("/v1/users/1", &[("role", "hr")]).await;
            assert_eq!(
                (update.status, update.body),
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    error("hr role requires the HR-role package")
                )
            );
            assert_eq!(env.get("/v1/users/1").await.body["role"], json!("viewer"));
            assert_eq!(env.sandbox.stats().unprocessable, 2);
        }
        for role in ["owner", "super_admin", "learner", "Admin"] {
            let reply = env.put("/v1/users/1", &[("role", role)]).await;
            assert_eq!(
                (reply.status, reply.body),
                (
                    StatusCode::BAD_REQUEST,
                    bad_request(
                        "role does not have a valid value",
                        json!({"role": ["does not have a valid value"]})
                    )
                ),
                "{role}"
            );
        }
        let blank = env.put("/v1/users/1", &[("role", "")]).await;
        assert_eq!(
            (blank.status, blank.body),
            (
                StatusCode::BAD_REQUEST,
                bad_request("role is empty", json!({"role": ["is empty"]}))
            )
        );
        env.sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn languages_are_the_27_supported_codes() {
    let env = start(SandboxOptions::default()).await;
    let id = env.create("a@example.com", "E-1").await;
    let codes = [
        "en", "en-US", "de", "es", "es-CO", "fr", "fr-CA", "it", "nl", "pt-BR", "pl", "ru", "no", "sv", "da", "zh-CN",
        "zh-TW", "ja", "ar", "sk", "ca", "cy", "el", "hu", "pt-PT", "ro", "tr",
    ];
    for code in codes {
        let reply = env.put(&format!("/v1/users/{id}"), &[("language", code)]).await;
        assert_eq!((reply.status, &reply.body["language"]), (StatusCode::OK, &json!(code)));
    }
    for code in ["en-GB", "EN", "French", "pt"] {
        let reply = env.put(&format!("/v1/users/{id}"), &[("language", code)]).await;
        assert_eq!(
            (reply.status, reply.body),
            (
                StatusCode::BAD_REQUEST,
                bad_request(
                    "language does not have a valid value",
                    json!({"language": ["does not have a valid value"]})
                )
            ),
            "{code}"
        );
    }
    let blank = env.put(&format!("/v1/users/{id}"), &[("language", "")]).await;
    assert_eq!(
        blank.body,
        bad_request("language is empty", json!({"language": ["is empty"]}))
    );
    assert_eq!(env.get(&format!("/v1/users/{id}")).await.body["language"], json!("tr"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn time_zone_is_not_an_input() {
    let env = start(SandboxOptions::default()).await;
    let created = env
        .post(
            "/v1/users",
            &[
                ("email", "a@example.com"),
                ("firstName", "A"),
                ("lastName", "B"),
                ("timeZone", "Paris"),
            ],
        )
        .await;
    assert_eq!(
        (created.status, &created.body["timeZone"]),
        (StatusCode::CREATED, &json!("London"))
    );
    let updated = env
        .put("/v1/users/1", &[("timeZone", "Europe/Berlin"), ("jobTitle", "Dev")])
        .await;
    assert_eq!(
        (updated.status, &updated.body["timeZone"], &updated.body["jobTitle"]),
        (StatusCode::OK, &json!("London"), &json!("Dev"))
    );
    // Even a value no time zone has is ignored, not refused.
    assert_eq!(env.put("/v1/users/1", &[("timeZone", "")]).await.status, StatusCode::OK);
    let listed = env.get("/v1/users").await;
    assert_eq!(listed.body["users"][0]["timeZone"], json!("London"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn occupation_role_must_name_a_company_role() {
    let env = start(SandboxOptions {
        occupation_roles: vec!["Software Engineer".to_owned(), "Sales Rep".to_owned()],
        ..SandboxOptions::default()
    })
    .await;
    let id = env
        .create_with("a@example.com", "E-1", &[("occupationRole", "Sales Rep")])
        .await;
    let path = format!("/v1/users/{id}");
    assert_eq!(env.get(&path).await.body["occupationRole"], json!("Sales Rep"));
    let updated = env.put(&path, &[("occupationRole", "Software Engineer")]).await;
    assert_eq!(updated.body["occupationRole"], json!("Software Engineer"));
    for unknown in ["Astronaut", "software engineer"] {
        let reply = env
            .put(&path, &[("occupationRole", unknown), ("jobTitle", "Changed")])
            .await;
        assert_eq!(
            (reply.status, reply.body),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                error("occupationRole does not match an existing role in your company")
            )
        );
    }
    let user = env.get(&path).await.body;
    assert_eq!(
        (&user["occupationRole"], &user["jobTitle"]),
        (&json!("Software Engineer"), &Value::Null)
    );
    let cleared = env.put(&path, &[("occupationRole", "")]).await;
    assert_eq!(cleared.body["occupationRole"], Value::Null);
    let create = env
        .post(
            "/v1/users",
            &[
                ("email", "b@example.com"),
                ("firstName", "B"),
                ("lastName", "C"),
                ("occupationRole", "Pilot"),
            ],
        )
        .await;
    assert_eq!(create.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(env.sandbox.users().len(), 1);
    assert_eq!(env.sandbox.stats().unprocessable, 3);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn custom_fields_follow_the_documented_clearing_rules() {
    let env = start(SandboxOptions {
        custom_fields: Some(vec![
            CustomFieldDef::required("Cost centre"),
            CustomFieldDef::optional("Grade"),
            CustomFieldDef::optional("Site"),
        ]),
        ..SandboxOptions::default()
    })
    .await;
    let id = env
        .create_with(
            "a@example.com",
            "E-1",
            &[
                ("customFields[][name]", "Cost centre"),
                ("customFields[][value]", "CC-1"),
                ("customFields[][name]", "Grade"),
                ("customFields[][value]", "7"),
                ("customFields[][name]", "Site"),
                ("customFields[][value]", "Leeds"),
            ],
        )
        .await;
    let path = format!("/v1/users/{id}");
    let fields = |cc: &str, grade: Option<&str>, site: Option<&str>| {
        let mut list = vec![json!({"name": "Cost centre", "value": cc})];
        list.extend(grade.map(|g| json!({"name": "Grade", "value": g})));
        list.extend(site.map(|s| json!({"name": "Site", "value": s})));
        Value::Array(list)
    };
    assert_eq!(
        env.get(&path).await.body["customFields"],
        fields("CC-1", Some("7"), Some("Leeds"))
    );

    // Omitted fields are unchanged; "" clears an optional one.
    let cleared = env
        .put(
            &path,
            &[("customFields[][name]", "Grade"), ("customFields[][value]", "")],
        )
        .await;
    assert_eq!(cleared.body["customFields"], fields("CC-1", None, Some("Leeds")));
    // JSON null clears too.
    let json_null = env
        .exchange(
            env.request(Method::PUT, &path)
                .json(&json!({"customFields": [{"name": "Site", "value": null}]})),
        )
        .await;
    assert_eq!(json_null.body["customFields"], fields("CC-1", None, None));

    // A required field cannot be cleared: 400, value kept, nothing else applied.
    for value in [json!(""), json!(null)] {
        let refused = env
            .exchange(env.request(Method::PUT, &path).json(&json!({
                "jobTitle": "Changed", "customFields": [{"name": "Cost centre", "value": value}],
            })))
            .await;
        assert_eq!(
            (refused.status, refused.body),
            (
                StatusCode::BAD_REQUEST,
                bad_request(
                    "Validation failed: Value can't be blank",
                    json!({"value": ["can't be blank"]})
                )
            )
        );
    }
    // An unknown name is 404, whatever else is sent.
    let unknown = env
        .put(
            &path,
            &[
                ("jobTitle", "Changed"),
                ("customFields[][name]", "Shoe size"),
                ("customFields[][value]", "9"),
            ],
        )
        .await;
    assert_eq!((unknown.status, unknown.body), (StatusCode::NOT_FOUND, not_found()));
    let user = env.get(&path).await.body;
    assert_eq!(
        (&user["jobTitle"], &user["customFields"]),
        (&Value::Null, &fields("CC-1", None, None))
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn custom_fields_are_silently_ignored_when_disabled() {
    let env = start(SandboxOptions {
        custom_fields: None,
        ..SandboxOptions::default()
    })
    .await;
    let id = env
        .create_with(
            "a@example.com",
            "E-1",
            &[
                ("customFields[][name]", "Cost centre"),
                ("customFields[][value]", "CC-1"),
            ],
        )
        .await;
    let updated = env
        .put(
            &format!("/v1/users/{id}"),
            &[("jobTitle", "Dev"), ("customFields[][value]", "no name at all")],
        )
        .await;
    assert_eq!(
        (updated.status, &updated.body["jobTitle"], &updated.body["customFields"]),
        (StatusCode::OK, &json!("Dev"), &json!([]))
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn bodies_may_be_form_multipart_or_json() {
    let env = start_with_teams(&["Sales", "Ops"]).await;
    // The docs' curl --form: multipart/form-data, for the token too.
    let token_form = reqwest::multipart::Form::new()
        .text("client_id", "sandbox")
        .text("client_secret", "sandbox-secret")
        .text("grant_type", "client_credentials")
        .text("scope", "users:create");
    let token = env
        .exchange(env.http.post(env.url("/oauth/token")).multipart(token_form))
        .await;
    assert_eq!(
        (token.status, &token.body["scope"]),
        (StatusCode::OK, &json!("users:create"))
    );

    let multipart = reqwest::multipart::Form::new()
        .text("email", "m@example.com")
        .text("firstName", "Multi")
        .text("lastName", "Part")
        .text("secondaryTeamIds[]", "1")
        .text("secondaryTeamIds[]", "2")
        .text("skipInvitation", "true");
    let created = env
        .exchange(env.request(Method::POST, "/v1/users").multipart(multipart))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let json_created = env
        .exchange(env.request(Method::POST, "/v1/users").json(&json!({
            "email": "j@example.com", "firstName": "Jay", "lastName": "Son", "secondaryTeamIds": [1, 2],
            "skipInvitation": true,
        })))
        .await;
    let form_created = env
        .post(
            "/v1/users",
            &[
                ("email", "f@example.com"),
                ("firstName", "Form"),
                ("lastName", "Encoded"),
                ("secondaryTeamIds[]", "1"),
                ("secondaryTeamIds[]", "2"),
                ("skipInvitation", "true"),
            ],
        )
        .await;
    for reply in [&created, &json_created, &form_created] {
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.body["status"], json!({"status": "Not invited", "time": null}));
        let teams: Vec<&Value> = reply.body["secondaryTeams"]
            .as_array()
            .expect("teams")
            .iter()
            .map(|t| &t["name"])
            .collect();
        assert_eq!(teams, vec![&json!("Sales"), &json!("Ops")]);
    }
    let multipart_update = reqwest::multipart::Form::new().text("jobTitle", "Lead");
    let updated = env
        .exchange(env.request(Method::PUT, "/v1/users/1").multipart(multipart_update))
        .await;
    assert_eq!(
        (updated.status, &updated.body["jobTitle"]),
        (StatusCode::OK, &json!("Lead"))
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn users_are_found_and_updated_by_integration_external_id() {
    let env = start(SandboxOptions::default()).await;
    let id = env.create("a@example.com", "HR/1001").await;
    env.create("b@example.com", "E-2").await;
    let numeric = env.create("n@example.com", "42").await;

    let found = env.get("/v1/users/by_integration_external_id/HR%2F1001").await;
    assert_eq!(found.body, env.get(&format!("/v1/users/{id}")).await.body);
    assert_eq!(
        env.get("/v1/users/by_integration_external_id/42").await.body["id"],
        json!(numeric)
    );
    for path in [
        "/v1/users/by_integration_external_id/hr%2F1001",
        "/v1/users/by_integration_external_id/HR",
    ] {
        let reply = env.get(path).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, not_found()),
            "{path}"
        );
    }
    let missing = env
        .put("/v1/users/by_integration_external_id/nobody", &[("jobTitle", "X")])
        .await;
    assert_eq!((missing.status, missing.body), (StatusCode::NOT_FOUND, not_found()));

    // The same body as PUT /v1/users/{id}, including a rename…
    let renamed = env
        .put(
            "/v1/users/by_integration_external_id/HR%2F1001",
            &[("integrationExternalId", "HR-1001"), ("jobTitle", "Dev")],
        )
        .await;
    assert_eq!(
        (
            renamed.status,
            &renamed.body["integrationExternalId"],
            &renamed.body["jobTitle"]
        ),
        (StatusCode::OK, &json!("HR-1001"), &json!("Dev"))
    );
    // …a rename to a taken id…
    let taken = env
        .put(
            "/v1/users/by_integration_external_id/HR-1001",
            &[("integrationExternalId", "E-2")],
        )
        .await;
    assert_eq!(
        (taken.status, taken.body),
        (
            StatusCode::BAD_REQUEST,
            bad_request(
                "Validation failed: Integration external id has already been taken",
                json!({"integrationExternalId": ["has already been taken"]})
            )
        )
    );
    // …and clearing it.
    let cleared = env
        .put(
            "/v1/users/by_integration_external_id/HR-1001",
            &[("integrationExternalId", "")],
        )
        .await;
    assert_eq!(
        (cleared.status, &cleared.body["integrationExternalId"]),
        (StatusCode::OK, &Value::Null)
    );
    assert_eq!(
        env.get("/v1/users/by_integration_external_id/HR-1001").await.status,
        StatusCode::NOT_FOUND
    );
    // A cleared id is free again.
    env.create("c@example.com", "HR-1001").await;
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn teams_have_unique_external_ids_and_their_own_subroutes() {
    let env = start(SandboxOptions {
        teams: vec![seed("Sales", "T-SALES")],
        ..SandboxOptions::default()
    })
    .await;
    let created = env
        .post("/v1/teams", &[("name", "Ops"), ("integrationExternalId", "T/OPS")])
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let duplicate = env
        .post("/v1/teams", &[("name", "Other"), ("integrationExternalId", "T-SALES")])
        .await;
    assert_eq!(
        (duplicate.status, duplicate.body),
        (
            StatusCode::BAD_REQUEST,
            bad_request(
                "Integration external id has already been taken",
                json!({"integrationExternalId": ["has already been taken"]})
            )
        )
    );
    let member = env.create_with("a@example.com", "E-1", &[("primaryTeamId", "2")]).await;

    let shown = env.get("/v1/teams/by_external_id/T%2FOPS").await;
    assert_eq!(
        shown.body,
        json!({
            "id": 2, "name": "Ops", "integrationExternalId": "T/OPS", "teamUsersCount": 1,
            "apiTeamPath": "/v1/teams/2.json", "apiTeamUsersPath": "/v1/teams/2/users.json",
            "manager": null, "secondaryManagers": [],
            "users": [{
                "id": member, "firstName": "F", "lastName": "L", "jobTitle": null, "email": "a@example.com",
                "timeZone": "London", "language": "en", "role": "viewer",
                "profileUrl": format!("{}/en/users/{member}", env.sandbox.url()),
                "status": {"status": "Invite pending", "time": common::today("Sent")},
                "removeFromTeamUrl": format!("/v1/teams/2/users/{member}.json"),
            }],
            "subTeams": [], "parentTeam": null, "tags": [],
        })
    );
    assert_eq!(env.get("/v1/teams/2").await.body, shown.body);

    let updated = env
        .put(
            "/v1/teams/by_external_id/T%2FOPS",
            &[("name", "Operations"), ("integrationExternalId", "T-OPS")],
        )
        .await;
    assert_eq!(
        updated.body,
        json!({
            "id": 2, "name": "Operations", "integrationExternalId": "T-OPS", "teamUsersCount": 1,
            "apiTeamPath": "/v1/teams/2.json", "apiTeamUsersPath": "/v1/teams/2/users.json",
            "manager": null, "secondaryManagers": [],
        })
    );
    let extended = env.put("/v1/teams/2", &[("response", "Extended")]).await;
    assert_eq!(extended.body["users"][0]["id"], json!(member));
    let taken = env.put("/v1/teams/2", &[("integrationExternalId", "T-SALES")]).await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    let blank = env.put("/v1/teams/2", &[("name", " ")]).await;
    assert_eq!(blank.body, bad_request("name is empty", json!({"name": ["is empty"]})));
    let cleared = env.put("/v1/teams/2", &[("integrationExternalId", "")]).await;
    assert_eq!(cleared.body["integrationExternalId"], Value::Null);

    // Deleting a team keeps its users, without it.
    assert_eq!(
        env.put("/v1/teams/2", &[("integrationExternalId", "T-OPS")])
            .await
            .status,
        StatusCode::OK
    );
    let deleted = env.delete("/v1/teams/by_external_id/T-OPS").await;
    assert_eq!((deleted.status, deleted.body), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(
        env.get(&format!("/v1/users/{member}")).await.body["primaryTeam"],
        Value::Null
    );
    for path in ["/v1/teams/2", "/v1/teams/by_external_id/T-OPS", "/v1/teams/x"] {
        let reply = env.get(path).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, not_found()),
            "{path}"
        );
    }
    assert_eq!(env.delete("/v1/teams/2").await.status, StatusCode::NOT_FOUND);
    assert_eq!(env.delete("/v1/teams/1").await.status, StatusCode::NO_CONTENT);
    assert!(env.sandbox.teams().is_empty());
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn users_name_their_teams_by_integration_external_id() {
    let env = start(SandboxOptions {
        teams: vec![
            seed("Sales", "EPOS-001"),
            seed("Ops", "EPOS-002"),
            TeamSeed::from("R&D"),
        ],
        ..SandboxOptions::default()
    })
    .await;
    let id = env
        .create_with(
            "a@example.com",
            "E-1",
            &[
                ("primaryTeamIntegrationExternalId", "EPOS-001"),
                ("secondaryTeamIntegrationExternalIds[]", "EPOS-002"),
            ],
        )
        .await;
    let user = env.get(&format!("/v1/users/{id}")).await.body;
    assert_eq!(
        (&user["primaryTeam"]["name"], &user["secondaryTeams"][0]["name"]),
        (&json!("Sales"), &json!("Ops"))
    );
    let cases: Vec<(Vec<(&str, &str)>, Value)> = vec![
        (
            vec![("primaryTeamId", "1"), ("primaryTeamIntegrationExternalId", "EPOS-001")],
            error("primaryTeamId, primaryTeamIntegrationExternalId are mutually exclusive"),
        ),
        (
            vec![
                ("secondaryTeamIds[]", "1"),
                ("secondaryTeamIntegrationExternalIds[]", "EPOS-002"),
            ],
            error("secondaryTeamIds, secondaryTeamIntegrationExternalIds are mutually exclusive"),
        ),
        (
            vec![("primaryTeamIntegrationExternalId", "EPOS-404")],
            bad_request(
                "primaryTeamIntegrationExternalId must match existing teams integration external IDs",
                json!({"primaryTeamIntegrationExternalId": ["must match existing teams integration external IDs"]}),
            ),
        ),
        (
            vec![
                ("secondaryTeamIntegrationExternalIds[]", "EPOS-001"),
                ("secondaryTeamIntegrationExternalIds[]", "x"),
            ],
            bad_request(
                "secondaryTeamIntegrationExternalIds must match existing teams integration external IDs",
                json!({"secondaryTeamIntegrationExternalIds": ["must match existing teams integration external IDs"]}),
            ),
        ),
    ];
    for (form, body) in cases {
        let reply = env.put(&format!("/v1/users/{id}"), &form).await;
        assert_eq!(
            (reply.status, &reply.body),
            (StatusCode::BAD_REQUEST, &body),
            "{form:?}"
        );
    }
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn manager_email_matches_active_users_ignoring_case() {
    let env = start(SandboxOptions::default()).await;
    let boss = env.create("Boss@Example.com", "E-1").await;
    let gone = env.create("gone@example.com", "E-2").await;
    env.put(&format!("/v1/users/{gone}/deactivate"), &[]).await;
    let id = env
        .create_with("a@example.com", "E-3", &[("managerEmail", "BOSS@example.COM")])
        .await;
    let path = format!("/v1/users/{id}");
    assert_eq!(env.get(&path).await.body["manager"]["id"], json!(boss));

    let unknown = error("managerEmail must match an existing user email within your company");
    for email in ["nobody@example.com", "GONE@example.com"] {
        let reply = env.put(&path, &[("managerEmail", email)]).await;
        assert_eq!(
            (reply.status, &reply.body),
            (StatusCode::BAD_REQUEST, &unknown),
            "{email}"
        );
    }
    let both = env
        .put(
            &path,
            &[("managerId", &boss.to_string()), ("managerEmail", "boss@example.com")],
        )
        .await;
    assert_eq!(
        (both.status, both.body),
        (
            StatusCode::BAD_REQUEST,
            error("managerId, managerEmail are mutually exclusive")
        )
    );
    let cleared = env.put(&path, &[("managerEmail", "")]).await;
    assert_eq!(cleared.body["manager"], Value::Null);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn integration_external_id_is_unique_and_cleared_by_an_empty_value() {
    let env = start(SandboxOptions::default()).await;
    env.create("a@example.com", "EPOS-1").await;
    let other = env.create("b@example.com", "EPOS-2").await;
    let taken = bad_request(
        "Validation failed: Integration external id has already been taken",
        json!({"integrationExternalId": ["has already been taken"]}),
    );
    let create = env
        .post(
            "/v1/users",
            &[
                ("email", "c@example.com"),
                ("firstName", "C"),
                ("lastName", "D"),
                ("integrationExternalId", "EPOS-1"),
            ],
        )
        .await;
    assert_eq!((create.status, &create.body), (StatusCode::BAD_REQUEST, &taken));
    let update = env
        .put(&format!("/v1/users/{other}"), &[("integrationExternalId", "EPOS-1")])
        .await;
    assert_eq!((update.status, &update.body), (StatusCode::BAD_REQUEST, &taken));
    // Unique by exact value: another case is another id.
    assert_eq!(
        env.put(&format!("/v1/users/{other}"), &[("integrationExternalId", "epos-1")])
            .await
            .status,
        StatusCode::OK
    );
    let cleared = env
        .exchange(
            env.request(Method::PUT, &format!("/v1/users/{other}"))
                .json(&json!({"integrationExternalId": null})),
        )
        .await;
    assert_eq!(cleared.body["integrationExternalId"], Value::Null);
    assert_eq!(
        env.get("/v1/users?filters[integration_external_id]=epos-1").await.body,
        json!({"users": []})
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn users_are_reactivated_and_deleted() {
    let env = start(SandboxOptions::default()).await;
    let a = env.create("a@example.com", "E-1").await;
    let b = env
        .create_with("b@example.com", "E-2", &[("managerEmail", "a@example.com")])
        .await;
    let c = env.create("c@example.com", "E-3").await;

    assert_eq!(
        env.put(&format!("/v1/users/{a}/deactivate"), &[]).await.status,
        StatusCode::NO_CONTENT
    );
    let reactivated = env.put(&format!("/v1/users/{a}/reactivate"), &[]).await;
    assert_eq!(
        (reactivated.status, reactivated.body),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(
        env.get(&format!("/v1/users/{a}")).await.body["status"]["status"],
        json!("Invite pending")
    );

    let deleted = env.delete(&format!("/v1/users/{a}")).await;
    assert_eq!((deleted.status, deleted.body), (StatusCode::NO_CONTENT, Value::Null));
    for path in [
        format!("/v1/users/{a}"),
        "/v1/users/by_integration_external_id/E-1".to_owned(),
    ] {
        let reply = env.get(&path).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, not_found()),
            "{path}"
        );
    }
    assert_eq!(env.get(&format!("/v1/users/{b}")).await.body["manager"], Value::Null);
    assert_eq!(
        env.delete(&format!("/v1/users/{a}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Its email and external id are free again; ids are never reused.
    let again = env.create("a@example.com", "E-1").await;
    assert!(again > c);

    // By hand, as an administrator: not an API delete.
    assert!(env.sandbox.delete_user(b));
    assert!(!env.sandbox.delete_user(b));
    let admin = env.admin(Method::DELETE, &format!("/_sandbox/users/{c}")).await;
    assert_eq!(admin.status, StatusCode::NO_CONTENT);
    assert_eq!(
        env.admin(Method::DELETE, &format!("/_sandbox/users/{c}")).await.status,
        StatusCode::NOT_FOUND
    );
    let ids: Vec<Value> = env.sandbox.users().iter().map(|u| u["id"].clone()).collect();
    assert_eq!(ids, vec![json!(again)]);
    let stats = env.sandbox.stats();
    assert_eq!((stats.deletes, stats.reactivations, stats.deactivations), (1, 1, 1));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn status_filters_take_every_documented_form() {
    for hide in [false, true] {
        let env = start(SandboxOptions {
            hide_deactivated_by_default: hide,
            ..SandboxOptions::default()
        })
        .await;
        let pending = env.create("p@example.com", "E-1").await;
        let quiet = env
            .create_with("q@example.com", "E-2", &[("skipInvitation", "true")])
            .await;
        let gone = env.create("g@example.com", "E-3").await;
        env.put(&format!("/v1/users/{gone}/deactivate"), &[]).await;

        let all = env.get("/v1/users").await;
        let expected = if hide {
            vec![pending, quiet]
        } else {
            vec![pending, quiet, gone]
        };
        assert_eq!(
            (all.ids("users"), all.header("Total")),
            (expected.clone(), Some(if hide { "2" } else { "3" }))
        );
        for query in [
            "filters[status][]=not_invited&filters[status][]=deactivated",
            "filters[status]=not_invited,deactivated",
            "filters[status][]=not_invited,deactivated",
            "filters%5Bstatus%5D%5B%5D=deactivated&filters%5Bstatus%5D%5B%5D=not_invited",
        ] {
            let reply = env.get(&format!("/v1/users?{query}")).await;
            assert_eq!(reply.ids("users"), vec![quiet, gone], "{query} (hide: {hide})");
        }
        let every = env
            .get("/v1/users?filters[status]=not_invited,invite_scheduled,invite_pending,confirmed,deactivated")
            .await;
        assert_eq!(every.ids("users"), vec![pending, quiet, gone]);
        assert_eq!(
            env.get("/v1/users?filters[status][]=confirmed").await.body,
            json!({"users": []})
        );
        // The lookup by external id finds a deactivated user either way.
        assert_eq!(
            env.get("/v1/users?filters[integration_external_id]=E-3&filters[status][]=deactivated")
                .await
                .ids("users"),
            vec![gone]
        );
        assert_eq!(
            env.get("/v1/users/by_integration_external_id/E-3").await.body["id"],
            json!(gone)
        );
        let exact = env.get("/v1/users?filters[integration_external_id]=E-2").await;
        assert_eq!(exact.ids("users"), vec![quiet]);
        assert_eq!(
            env.get("/v1/users?filters[integration_external_id]=E")
                .await
                .ids("users"),
            Vec::<u64>::new()
        );
        let bad = env.get("/v1/users?filters[status]=active,deactivated").await;
        assert_eq!(
            (bad.status, bad.body),
            (
                StatusCode::BAD_REQUEST,
                bad_request(
                    "filters[status] does not have a valid value",
                    json!({"filters[status]": ["does not have a valid value"]})
                )
            )
        );
        env.sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn teams_are_filtered_by_name_ignoring_case_and_paginated() {
    let mut teams: Vec<TeamSeed> = (1..=30)
        .map(|i| TeamSeed::from(format!("Team {i:02}").as_str()))
        .collect();
    teams.push(TeamSeed::from("Sales"));
    teams.push(seed("SALES", "T-2"));
    let env = start(SandboxOptions {
        teams,
        ..SandboxOptions::default()
    })
    .await;
    let sales = env.get("/v1/teams?filters[name]=sales").await;
    assert_eq!(
        (sales.ids("teams"), sales.header("Total"), sales.header("Total-Pages")),
        (vec![31, 32], Some("2"), Some("1"))
    );
    assert_eq!(
        env.get("/v1/teams?filters[name]=Sale").await.ids("teams"),
        Vec::<u64>::new()
    );

    // Default 25 a page: a client must read the second page too.
    let first = env.get("/v1/teams").await;
    assert_eq!(
        (
            first.ids("teams").len(),
            first.header("Total"),
            first.header("Per-Page"),
            first.header("Total-Pages")
        ),
        (25, Some("32"), Some("25"), Some("2"))
    );
    let second = env.get("/v1/teams?page=2").await;
    assert_eq!(second.ids("teams"), (26..=32).collect::<Vec<u64>>());
    let small = env.get("/v1/teams?filters[name]=SALES&perPage=1&page=2").await;
    assert_eq!((small.ids("teams"), small.header("Total-Pages")), (vec![32], Some("2")));
    assert_eq!(env.get("/v1/teams?perPage=500").await.header("Per-Page"), Some("100"));
    // A team created with a taken name is a second team of that name.
    assert_eq!(
        env.post("/v1/teams", &[("name", "sales")]).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        env.get("/v1/teams?filters[name]=Sales").await.ids("teams"),
        vec![31, 32, 33]
    );
    env.sandbox.shutdown().await;
}

/// Sends `GET /v1/users` every 20 ms until it is admitted, for at most 5 s;
/// returns how many 429s came first.
async fn until_admitted(env: &Env) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut refused = 0;
    loop {
        let reply = env.get("/v1/users").await;
        if reply.status == StatusCode::OK {
            return refused;
        }
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "the bucket never refilled");
        refused += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_rate_limit_is_a_token_bucket_and_retry_after_can_be_omitted() {
    let env = start(SandboxOptions {
        faults: Faults {
            rate_limit_per_second: Some(5),
            omit_retry_after: true,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    // A full bucket: a burst of up to five is admitted at once.
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(env.get("/v1/users").await.status.as_u16());
    }
    if started.elapsed() < Duration::from_millis(200) {
        assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429]);
    }
    let refused = env.get("/v1/users").await;
    if refused.status == StatusCode::TOO_MANY_REQUESTS {
        assert_eq!(refused.header("Retry-After"), None);
        assert_eq!(refused.body, error("You're requesting too many API calls."));
    }
    // Refilled continuously: a fifth of a second brings one token back.
    until_admitted(&env).await;
    let stats = env.sandbox.stats();
    assert!(stats.rate_limited >= 1, "{stats:?}");

    env.sandbox.set_faults(Faults {
        rate_limit_per_second: Some(1),
        ..Faults::default()
    });
    assert_eq!(env.get("/v1/users").await.status, StatusCode::OK);
    let limited = env.get("/v1/users").await;
    if limited.status == StatusCode::TOO_MANY_REQUESTS {
        assert_eq!(limited.header("Retry-After"), Some("1"));
    }
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn requests_are_logged_with_the_client_secret_redacted() {
    let env = start(SandboxOptions::default()).await;
    env.create_with("a@example.com", "HR/1", &[("secondaryTeamIds[]", "")])
        .await;
    env.get("/v1/users/by_integration_external_id/HR%2F1?expanded=true")
        .await;
    env.exchange(
        env.request(Method::PUT, "/v1/users/1")
            .json(&json!({"customFields": [{"name": "X", "value": null}]})),
    )
    .await;
    env.exchange(env.http.get(env.url("/v1/users"))).await;
    env.admin(Method::GET, "/_sandbox/stats").await;

    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let logged = |method: &str, path: &str, query: &[(&str, &str)], form: &[(&str, &str)], status: u16| LoggedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: pairs(query),
        form: pairs(form),
        status,
    };
    let expected = vec![
        logged(
            "POST",
            "/oauth/token",
            &[],
            &[
                ("client_id", "sandbox"),
                ("client_secret", "<redacted>"),
                ("grant_type", "client_credentials"),
            ],
            200,
        ),
        logged(
            "POST",
            "/v1/users",
            &[],
            &[
                ("email", "a@example.com"),
                ("firstName", "F"),
                ("lastName", "L"),
                ("integrationExternalId", "HR/1"),
                ("secondaryTeamIds[]", ""),
            ],
            201,
        ),
        logged(
            "GET",
            "/v1/users/by_integration_external_id/HR%2F1",
            &[("expanded", "true")],
            &[],
            200,
        ),
        logged(
            "PUT",
            "/v1/users/1",
            &[],
            &[("customFields[][name]", "X"), ("customFields[][value]", "")],
            404,
        ),
        logged("GET", "/v1/users", &[], &[], 401),
    ];
    assert_eq!(env.sandbox.requests(), expected);
    let over_http = env.admin(Method::GET, "/_sandbox/requests").await;
    assert_eq!(over_http.body, serde_json::to_value(&expected).expect("log as JSON"));
    assert!(!over_http.body.to_string().contains("sandbox-secret"));
    env.sandbox.shutdown().await;
}
