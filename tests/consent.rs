//! The consent rules on the in-memory store: state × answer, the one
//! prompt shared by concurrent checks, a prompting check that goes away,
//! the bounds, scope names and the scope table.

#[path = "support/consent_rules.rs"]
mod rules;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rules::scope;
use superapp_openapi::consent::{
    ConsentError, ConsentGate, ConsentState, ConsentStore, MemoryConsentStore, PromptAnswer,
    ScopeInfo, ScopeName, ScopeNameError, ScopeTable,
};
use tokio::sync::{Notify, oneshot};

#[tokio::test]
async fn each_state_and_answer_gives_the_documented_outcome_and_stored_state() {
    rules::rules_hold(Arc::new(MemoryConsentStore::new())).await;
}

#[tokio::test]
async fn the_memory_store_keeps_the_store_contract() {
    rules::store_contract_holds(Arc::new(MemoryConsentStore::new())).await;
}

#[tokio::test]
async fn one_mini_program_holds_at_most_64_scopes_per_user() {
    rules::per_app_cap_holds(Arc::new(MemoryConsentStore::new())).await;
}

#[tokio::test]
async fn the_memory_store_refuses_entries_past_its_total_and_evicts_nothing() {
    let store = MemoryConsentStore::with_max_entries(2);
    let camera = scope("scope.camera");
    store
        .set("u1", "wx", &camera, ConsentState::Granted)
        .await
        .unwrap();
    store
        .set("u2", "wx", &camera, ConsentState::Denied)
        .await
        .unwrap();
    let refused = store
        .set("u3", "wx", &camera, ConsentState::Granted)
        .await
        .unwrap_err();
    assert_eq!(refused, ConsentError::StoreFull { limit: 2 });
    assert_eq!(refused.to_string(), "the consent store is full (2 entries)");
    // Updating a held entry, and a removal making room, still work.
    store
        .set("u1", "wx", &camera, ConsentState::Denied)
        .await
        .unwrap();
    assert_eq!(store.len(), 2);
    assert_eq!(store.clear("u2", "wx").await.unwrap(), 1);
    store
        .set("u3", "wx", &camera, ConsentState::Granted)
        .await
        .unwrap();
    assert_eq!(
        store.get("u1", "wx", &camera).await.unwrap(),
        ConsentState::Denied
    );
    assert!(store.list("u2", "wx").await.unwrap().is_empty());
}

/// 64 checks of one unanswered scope at once: the prompt shows once (it
/// waits on a Notify until every check is parked), and all 64 get its answer.
async fn sixty_four_checks_share_one_prompt(answer: PromptAnswer) -> Vec<Result<(), ConsentError>> {
    let gate = ConsentGate::new(MemoryConsentStore::new());
    let prompts = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Notify::new());
    let location = scope("scope.userLocation");
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (gate, prompts, release, location) = (
            gate.clone(),
            Arc::clone(&prompts),
            Arc::clone(&release),
            location.clone(),
        );
        calls.spawn(async move {
            gate.check("user-42", "wx-shop", &location, |_| async move {
                prompts.fetch_add(1, Ordering::SeqCst);
                release.notified().await;
                answer
            })
            .await
        });
    }
    // Paused time advances only when every task is idle: by then the 64
    // checks are all parked, one in the prompt and 63 waiting on it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(prompts.load(Ordering::SeqCst), 1);
    assert_eq!(gate.pending_prompts(), 1);
    release.notify_one();
    let results = calls.join_all().await;
    assert_eq!(prompts.load(Ordering::SeqCst), 1, "exactly one prompt");
    assert_eq!(
        gate.pending_prompts(),
        0,
        "the entry goes when the prompt settles"
    );
    results
}

#[tokio::test(start_paused = true)]
async fn sixty_four_concurrent_checks_show_one_prompt_and_all_get_allow() {
    let results = sixty_four_checks_share_one_prompt(PromptAnswer::Allow).await;
    assert_eq!(results.len(), 64);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

#[tokio::test(start_paused = true)]
async fn sixty_four_concurrent_checks_show_one_prompt_and_all_get_deny_or_cancel() {
    for (answer, expected) in [
        (
            PromptAnswer::Deny,
            ConsentError::Denied {
                scope: "scope.userLocation".into(),
            },
        ),
        (
            PromptAnswer::Cancel,
            ConsentError::Cancelled {
                scope: "scope.userLocation".into(),
            },
        ),
    ] {
        let results = sixty_four_checks_share_one_prompt(answer).await;
        assert_eq!(results.len(), 64);
        assert!(
            results.iter().all(|r| r.as_ref() == Err(&expected)),
            "{answer:?}: {results:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_prompting_check_does_not_leave_its_waiters_hanging() {
    let gate = ConsentGate::new(MemoryConsentStore::new());
    let camera = scope("scope.camera");
    let (prompting_tx, prompting_rx) = oneshot::channel();
    let leader = tokio::spawn({
        let (gate, camera) = (gate.clone(), camera.clone());
        async move {
            gate.check("u", "wx", &camera, |_| async move {
                prompting_tx.send(()).unwrap();
                std::future::pending::<PromptAnswer>().await
            })
            .await
        }
    });
    prompting_rx.await.unwrap();
    let waiter = tokio::spawn({
        let (gate, camera) = (gate.clone(), camera.clone());
        async move {
            gate.check("u", "wx", &camera, |_| async {
                panic!("the waiter must not prompt")
            })
            .await
        }
    });
    // Paused time: this returns once the waiter is parked on the prompt.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(gate.pending_prompts(), 1);
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    assert_eq!(
        waiter.await.unwrap(),
        Err(ConsentError::PromptAbandoned {
            scope: "scope.camera".into()
        })
    );
    assert_eq!(gate.pending_prompts(), 0);
    // Nothing was stored: the next check prompts again.
    assert_eq!(
        gate.store().get("u", "wx", &camera).await.unwrap(),
        ConsentState::NotAsked
    );
    gate.check("u", "wx", &camera, |_| async { PromptAnswer::Allow })
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_panicking_prompt_fails_its_waiters_instead_of_hanging_them() {
    let gate = ConsentGate::new(MemoryConsentStore::new());
    let record = scope("scope.record");
    let release = Arc::new(Notify::new());
    let leader = tokio::spawn({
        let (gate, record, release) = (gate.clone(), record.clone(), Arc::clone(&release));
        async move {
            gate.check("u", "wx", &record, |_| async move {
                release.notified().await;
                panic!("the host's prompt panicked")
            })
            .await
        }
    });
    while gate.pending_prompts() != 1 {
        tokio::task::yield_now().await;
    }
    let waiter = tokio::spawn({
        let (gate, record) = (gate.clone(), record.clone());
        async move {
            gate.check("u", "wx", &record, |_| async { PromptAnswer::Allow })
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    release.notify_one();
    assert!(leader.await.unwrap_err().is_panic());
    assert_eq!(
        waiter.await.unwrap(),
        Err(ConsentError::PromptAbandoned {
            scope: "scope.record".into()
        })
    );
    assert_eq!(gate.pending_prompts(), 0);
    // Nothing stored: the next check prompts again.
    gate.check("u", "wx", &record, |_| async { PromptAnswer::Allow })
        .await
        .unwrap();
}

#[tokio::test]
async fn prompts_past_the_pending_bound_fail_with_too_many_prompts() {
    let gate = ConsentGate::new(MemoryConsentStore::new()).with_max_pending_prompts(1);
    let (camera, record) = (scope("scope.camera"), scope("scope.record"));
    let leader = tokio::spawn({
        let (gate, camera) = (gate.clone(), camera.clone());
        async move {
            gate.check("u", "wx", &camera, |_| std::future::pending())
                .await
        }
    });
    while gate.pending_prompts() != 1 {
        tokio::task::yield_now().await;
    }
    let refused = gate
        .check("u", "wx", &record, |_| async { PromptAnswer::Allow })
        .await;
    assert_eq!(refused, Err(ConsentError::TooManyPrompts { limit: 1 }));
    // A granted scope needs no prompt, so the bound does not stop it.
    gate.set("u", "wx", &record, ConsentState::Granted)
        .await
        .unwrap();
    gate.check("u", "wx", &record, |_| async { PromptAnswer::Deny })
        .await
        .unwrap();
    leader.abort();
}

#[tokio::test]
async fn the_host_lists_sets_and_clears_a_mini_programs_consent() {
    let gate = ConsentGate::new(MemoryConsentStore::new());
    let (camera, info) = (scope("scope.camera"), scope("scope.userInfo"));
    gate.check("u", "wx", &camera, |_| async { PromptAnswer::Deny })
        .await
        .unwrap_err();
    gate.set("u", "wx", &info, ConsentState::Granted)
        .await
        .unwrap();
    assert_eq!(
        gate.list("u", "wx").await.unwrap(),
        vec![
            (camera.clone(), ConsentState::Denied),
            (info.clone(), ConsentState::Granted)
        ]
    );
    // The settings view turns the refusal into a grant: no prompt after.
    gate.set("u", "wx", &camera, ConsentState::Granted)
        .await
        .unwrap();
    gate.check("u", "wx", &camera, |_| async { panic!("granted") })
        .await
        .unwrap();
    // The user deleted the mini program: everything is asked again.
    assert_eq!(gate.clear("u", "wx").await.unwrap(), 2);
    assert!(gate.list("u", "wx").await.unwrap().is_empty());
    let shown = AtomicUsize::new(0);
    gate.check("u", "wx", &camera, |_| {
        shown.fetch_add(1, Ordering::SeqCst);
        async { PromptAnswer::Allow }
    })
    .await
    .unwrap();
    assert_eq!(shown.load(Ordering::SeqCst), 1);
}

#[test]
fn scope_names_are_validated_with_a_clear_error() {
    for good in [
        "scope.userInfo",
        "scope.user_location-2",
        "a",
        &"s".repeat(ScopeName::MAX_LEN),
    ] {
        assert_eq!(good.parse::<ScopeName>().unwrap().as_str(), good);
    }
    let cases: [(&str, ScopeNameError, &str); 5] = [
        ("", ScopeNameError::Empty, "a scope name must not be empty"),
        (
            &"s".repeat(ScopeName::MAX_LEN + 1),
            ScopeNameError::TooLong { len: 65, max: 64 },
            "a scope name is at most 64 bytes, found 65",
        ),
        (
            ".scope",
            ScopeNameError::BadStart { found: '.' },
            "a scope name must start with an ASCII letter (as in scope.userInfo), found '.'",
        ),
        (
            "scope user",
            ScopeNameError::BadChar { found: ' ', at: 5 },
            "a scope name may hold only ASCII letters, digits, '.', '_' and '-', found ' ' at byte 5",
        ),
        (
            "scope.位置",
            ScopeNameError::BadChar {
                found: '位', at: 6
            },
            "found '位' at byte 6",
        ),
    ];
    for (name, error, message) in cases {
        let refused = name.parse::<ScopeName>().unwrap_err();
        assert_eq!(refused, error, "{name:?}");
        assert!(refused.to_string().contains(message), "{refused}");
    }
    let wrapped = ConsentError::from(ScopeNameError::Empty);
    assert_eq!(
        wrapped.to_string(),
        "invalid scope name: a scope name must not be empty"
    );
}

#[test]
fn the_scope_table_describes_builtins_and_takes_the_hosts_own() {
    let table = ScopeTable::builtin()
        .with(
            scope("scope.camera"),
            ScopeInfo::new("Kamera", "Fotos aufnehmen."),
        )
        .with(
            scope("scope.loyaltyCard"),
            ScopeInfo::new("Loyalty card", "Use your card number."),
        );
    for name in [
        "scope.userInfo",
        "scope.userLocation",
        "scope.userFuzzyLocation",
        "scope.writePhotosAlbum",
        "scope.record",
        "scope.bluetooth",
        "scope.address",
        "scope.invoiceTitle",
        "scope.invoice",
        "scope.werun",
        "scope.userLocationBackground",
    ] {
        assert!(table.get(&scope(name)).is_some(), "{name} is built in");
    }
    assert_eq!(table.describe(&scope("scope.camera")).title, "Kamera");
    assert_eq!(
        table.describe(&scope("scope.loyaltyCard")).description,
        "Use your card number."
    );
    // A scope nobody described still gets a prompt, titled by its name.
    assert_eq!(
        table.describe(&scope("scope.unknown")).title,
        "scope.unknown"
    );
}

#[tokio::test]
async fn the_prompt_is_given_the_hosts_description_of_its_own_scope() {
    let gate = ConsentGate::new(MemoryConsentStore::new()).with_scopes(ScopeTable::builtin().with(
        scope("scope.loyaltyCard"),
        ScopeInfo::new("Loyalty card", "Use your card."),
    ));
    gate.check("u", "wx", &scope("scope.loyaltyCard"), |prompt| {
        assert_eq!(
            prompt.info,
            ScopeInfo::new("Loyalty card", "Use your card.")
        );
        assert_eq!((prompt.user.as_str(), prompt.app.as_str()), ("u", "wx"));
        async { PromptAnswer::Allow }
    })
    .await
    .unwrap();
}

#[test]
fn auth_setting_values_follow_getsettings_convention() {
    assert_eq!(ConsentState::Granted.as_auth_setting(), Some(true));
    assert_eq!(ConsentState::Denied.as_auth_setting(), Some(false));
    assert_eq!(ConsentState::NotAsked.as_auth_setting(), None);
    let _: Arc<dyn ConsentStore> = Arc::new(MemoryConsentStore::default());
}

/// `check_now` answers at once what needs no prompt from a store that
/// answers at once (the in-memory one), and leaves the rest to `check`
/// (a store that waits: `tests/consent_sqlite.rs`).
#[tokio::test]
async fn check_now_answers_what_needs_no_prompt_and_leaves_the_rest_to_check() {
    let memory = Arc::new(MemoryConsentStore::new());
    let gate = ConsentGate::from_arc(memory.clone());
    let (camera, location, mic) = (
        scope("scope.camera"),
        scope("scope.userLocation"),
        scope("scope.record"),
    );
    memory
        .set("u", "wx", &camera, ConsentState::Granted)
        .await
        .unwrap();
    memory
        .set("u", "wx", &location, ConsentState::Denied)
        .await
        .unwrap();
    assert_eq!(
        memory.get_now("u", "wx", &camera),
        Some(Ok(ConsentState::Granted))
    );
    assert_eq!(gate.check_now("u", "wx", &camera), Some(Ok(())));
    assert!(matches!(
        gate.check_now("u", "wx", &location),
        Some(Err(ConsentError::Denied { .. }))
    ));
    assert_eq!(
        gate.check_now("u", "wx", &mic),
        None,
        "not asked: check prompts"
    );
    assert!(matches!(
        gate.check_now("u", "", &camera),
        Some(Err(ConsentError::InvalidId { .. }))
    ));
}
