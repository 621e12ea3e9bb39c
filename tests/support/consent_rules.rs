//! The consent rules and the store contract, written once and run on every
//! store (`tests/consent.rs` on memory, `tests/consent_sqlite.rs` on SQLite).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use superapp_openapi::consent::{
    ConsentError, ConsentGate, ConsentState, ConsentStore, MAX_SCOPES_PER_APP, PromptAnswer,
    ScopeName,
};

pub fn scope(name: &str) -> ScopeName {
    name.parse().unwrap()
}

/// What a check ends with, without the error's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
    Cancelled,
}

fn outcome(result: Result<(), ConsentError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(ConsentError::Denied { .. }) => Outcome::Denied,
        Err(ConsentError::Cancelled { .. }) => Outcome::Cancelled,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// stored state × the prompt's answer → outcome, state after, prompts shown.
pub const RULES: [(ConsentState, PromptAnswer, Outcome, ConsentState, usize); 9] = {
    use ConsentState::{Denied, Granted, NotAsked};
    use PromptAnswer::{Allow, Cancel, Deny};
    [
        (NotAsked, Allow, Outcome::Ok, Granted, 1),
        (NotAsked, Deny, Outcome::Denied, Denied, 1),
        (NotAsked, Cancel, Outcome::Cancelled, NotAsked, 1),
        (Granted, Allow, Outcome::Ok, Granted, 0),
        (Granted, Deny, Outcome::Ok, Granted, 0),
        (Granted, Cancel, Outcome::Ok, Granted, 0),
        (Denied, Allow, Outcome::Denied, Denied, 0),
        (Denied, Deny, Outcome::Denied, Denied, 0),
        (Denied, Cancel, Outcome::Denied, Denied, 0),
    ]
};

/// Every row of [`RULES`], each on its own user, then a second check that
/// must not prompt after an Allow or a Deny.
pub async fn rules_hold(store: Arc<dyn ConsentStore>) {
    let gate = ConsentGate::from_arc(store);
    let location = scope("scope.userLocation");
    for (row, (before, answer, expected, after, prompts)) in RULES.into_iter().enumerate() {
        let user = format!("rules-user-{row}");
        gate.set(&user, "wx-rules", &location, before)
            .await
            .unwrap();
        let shown = AtomicUsize::new(0);
        let result = gate
            .check(&user, "wx-rules", &location, |prompt| {
                shown.fetch_add(1, Ordering::SeqCst);
                assert_eq!(prompt.app, "wx-rules");
                assert_eq!(prompt.scope, location);
                assert_eq!(prompt.info.title, "Precise location");
                async move { answer }
            })
            .await;
        let case = format!("row {row}: {before:?} × {answer:?}");
        assert_eq!(outcome(result), expected, "{case}");
        assert_eq!(shown.load(Ordering::SeqCst), prompts, "{case}: prompts");
        assert_eq!(
            gate.store()
                .get(&user, "wx-rules", &location)
                .await
                .unwrap(),
            after,
            "{case}: stored"
        );
        if after != ConsentState::NotAsked {
            let again = gate
                .check(&user, "wx-rules", &location, |_| async {
                    panic!("{case}: prompted twice")
                })
                .await;
            assert_eq!(outcome(again), expected, "{case}: second check");
        }
    }
}

/// get / set / list / clear as the trait documents them.
pub async fn store_contract_holds(store: Arc<dyn ConsentStore>) {
    let (camera, record, info) = (
        scope("scope.camera"),
        scope("scope.record"),
        scope("scope.userInfo"),
    );
    assert_eq!(
        store.get("u", "wx-a", &camera).await.unwrap(),
        ConsentState::NotAsked
    );
    assert!(store.list("u", "wx-a").await.unwrap().is_empty());

    store
        .set("u", "wx-a", &record, ConsentState::Denied)
        .await
        .unwrap();
    store
        .set("u", "wx-a", &camera, ConsentState::Granted)
        .await
        .unwrap();
    store
        .set("u", "wx-a", &info, ConsentState::Granted)
        .await
        .unwrap();
    store
        .set("u", "wx-a", &info, ConsentState::NotAsked)
        .await
        .unwrap();
    store
        .set("u", "wx-b", &camera, ConsentState::Denied)
        .await
        .unwrap();
    store
        .set("other", "wx-a", &camera, ConsentState::Denied)
        .await
        .unwrap();

    // Only the scopes asked for, sorted; NotAsked removed the entry.
    assert_eq!(
        store.list("u", "wx-a").await.unwrap(),
        vec![
            (camera.clone(), ConsentState::Granted),
            (record.clone(), ConsentState::Denied)
        ]
    );
    // Overwrite in place.
    store
        .set("u", "wx-a", &record, ConsentState::Granted)
        .await
        .unwrap();
    assert_eq!(
        store.get("u", "wx-a", &record).await.unwrap(),
        ConsentState::Granted
    );

    // Clear touches one (user, app) only.
    assert_eq!(store.clear("u", "wx-a").await.unwrap(), 2);
    assert_eq!(store.clear("u", "wx-a").await.unwrap(), 0);
    assert!(store.list("u", "wx-a").await.unwrap().is_empty());
    assert_eq!(
        store.get("u", "wx-b", &camera).await.unwrap(),
        ConsentState::Denied
    );
    assert_eq!(
        store.get("other", "wx-a", &camera).await.unwrap(),
        ConsentState::Denied
    );

    // The anonymous user is the empty id; an empty app id is refused.
    store
        .set("", "wx-a", &camera, ConsentState::Granted)
        .await
        .unwrap();
    assert_eq!(
        store.get("", "wx-a", &camera).await.unwrap(),
        ConsentState::Granted
    );
    let refused = store.get("u", "", &camera).await.unwrap_err();
    assert!(
        matches!(refused, ConsentError::InvalidId { what: "app id", .. }),
        "{refused}"
    );
    let long = "x".repeat(superapp_openapi::consent::MAX_ID_LEN + 1);
    let refused = store
        .set(&long, "wx-a", &camera, ConsentState::Granted)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ConsentError::InvalidId {
                what: "user id",
                ..
            }
        ),
        "{refused}"
    );
}

/// One (user, app) holds at most MAX_SCOPES_PER_APP scopes; updates of a
/// held scope and other apps still work past it.
pub async fn per_app_cap_holds(store: Arc<dyn ConsentStore>) {
    for n in 0..MAX_SCOPES_PER_APP {
        store
            .set(
                "cap",
                "wx-cap",
                &scope(&format!("scope.host{n}")),
                ConsentState::Granted,
            )
            .await
            .unwrap();
    }
    let refused = store
        .set(
            "cap",
            "wx-cap",
            &scope("scope.oneTooMany"),
            ConsentState::Granted,
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        ConsentError::TooManyScopes {
            app: "wx-cap".into(),
            limit: MAX_SCOPES_PER_APP
        }
    );
    assert!(refused.to_string().contains("64"), "{refused}");
    store
        .set("cap", "wx-cap", &scope("scope.host0"), ConsentState::Denied)
        .await
        .unwrap();
    store
        .set(
            "cap",
            "wx-other",
            &scope("scope.oneTooMany"),
            ConsentState::Granted,
        )
        .await
        .unwrap();
    assert_eq!(
        store.list("cap", "wx-cap").await.unwrap().len(),
        MAX_SCOPES_PER_APP
    );
}
