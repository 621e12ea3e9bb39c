//! The platform on a Redis Cluster the test starts itself (three masters,
//! a replica each, a 1 s node timeout): instances agree across the
//! cluster, one app's state spreads over every master, a code stays
//! single-use across a failover, service resumes after a master dies or
//! the whole cluster stalls. The rule suite runs on the cluster too
//! (`tests/store_rules.rs`, `cluster::…`).
#![cfg(feature = "redis-cluster")]

mod support;

use std::time::{Duration, Instant};

use superapp_openapi::openserver::{OpenServerConfig, SuperappUser};
use support::redis::{NODE_TIMEOUT, RedisCluster};
use support::*;

/// How long after a master's death (beyond the node timeout) service may
/// take to resume: the replica's election (`cluster-node-timeout` to mark
/// the master failed, then up to ~1 s of election delay and voting) and
/// the client's topology refresh. Documented in docs/openserver.md.
const FAILOVER_MARGIN: Duration = Duration::from_secs(6);

/// Bounded polling until the cluster has three live masters again.
fn wait_for_three_masters(cluster: &RedisCluster, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if cluster.masters().len() == 3 {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "no replica was promoted within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_cluster_agree_and_64_racers_get_one_success() {
    let a = Platform::redis_cluster(OpenServerConfig::default()).await;
    let b = a.another_instance().await;
    let code = login_code(&a.server, APP_A1, ADA).await;
    assert_eq!(exchange(&b, APP_A1, code.clone()).await.errcode, 0);
    assert_eq!(exchange(&a.server, APP_A1, code).await.errcode, 40163);

    let code = login_code(&b, APP_A1, BOB).await;
    assert_one_success(&race_across(&a.server, &b, &code).await);
}

#[tokio::test]
async fn one_apps_codes_and_sessions_are_on_every_master() {
    let p = Platform::redis_cluster(OpenServerConfig::default()).await;
    let prefix = p.cluster.as_ref().unwrap().1.clone();
    for i in 0..60 {
        let user = format!("u-many-{i}");
        p.server.add_user(SuperappUser::new(&user)).unwrap();
        session(&p.server, APP_A1, &user).await;
        login_code(&p.server, APP_A1, &user).await;
    }
    let by_master = shared_cluster().keys_by_master();
    assert_eq!(by_master.len(), 3);
    for (node, keys) in by_master {
        let mine = |kind: &str| {
            keys.iter()
                .filter(|k| k.starts_with(&prefix) && k.contains(kind))
                .count()
        };
        assert!(mine("}:code:") > 0, "no code of the app on master {node}");
        assert!(
            mine("}:subject:") > 0,
            "no session of the app on master {node}"
        );
    }
}

/// The deterministic failover: the replica of the code's master is
/// stopped, so the redeem reaches no replica (and answers -1); the master
/// dies; the replica, which never saw the redeem, is promoted. The code
/// is then redeemed once: never twice.
#[tokio::test]
async fn a_code_is_never_redeemed_twice_across_a_failover() {
    let cluster = RedisCluster::start();
    let p = Platform::on_cluster(OpenServerConfig::default(), cluster.urls()).await;
    let code = login_code(&p.server, APP_A1, ADA).await;
    // The code's key lies in the slot of `{tt}`, its first two hex digits.
    let tag = format!("{{{}}}", &code.secret()[..2]);
    let master = cluster.master_of(&tag);
    let replica = cluster.replica_of(master);

    // The replica stops, and its link is cut: the master sends it nothing
    // more (bytes already sent would wait in its socket, and be applied
    // when it resumes).
    cluster.nodes[replica].pause();
    cluster.nodes[master].command(&["CLIENT", "KILL", "TYPE", "replica"]);
    let started = Instant::now();
    let first = exchange(&p.server, APP_A1, code.clone()).await;
    assert_eq!(first.errcode, -1, "no replica acknowledged: {first:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let mut cluster = cluster;
    cluster.nodes[master].kill();
    cluster.nodes[replica].resume();
    wait_for_three_masters(&cluster, NODE_TIMEOUT * 10);

    // The promoted replica never saw the redeem: the code works once more,
    // and then never again.
    let mut successes = u32::from(first.errcode == 0);
    let deadline = Instant::now() + NODE_TIMEOUT + FAILOVER_MARGIN;
    loop {
        let again = exchange(&p.server, APP_A1, code.clone()).await;
        match again.errcode {
            0 => successes += 1,
            40163 => break,
            -1 if Instant::now() < deadline => continue,
            other => panic!("after the failover: {other} {again:?}"),
        }
    }
    assert_eq!(successes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_resume_by_themselves_after_a_master_is_killed() {
    let mut cluster = RedisCluster::start();
    let p = Platform::on_cluster(OpenServerConfig::default(), cluster.urls()).await;
    session(&p.server, APP_A1, ADA).await;
    let tag = {
        let code = login_code(&p.server, APP_A1, ADA).await;
        format!("{{{}}}", &code.secret()[..2])
    };
    let master = cluster.master_of(&tag);
    cluster.nodes[master].kill();
    let killed = Instant::now();
    let resumed = loop {
        // A fresh code each time: ADA's slot is the dead master's.
        let code = p
            .server
            .issue_login_code(&superapp_openapi::AppInfo::new(APP_A1), &uid(ADA))
            .await;
        if let Ok(code) = code {
            let s = exchange(&p.server, APP_A1, code.clone()).await;
            if s.errcode == 0 {
                // Once: the same code again is used.
                assert_eq!(exchange(&p.server, APP_A1, code).await.errcode, 40163);
                break killed.elapsed();
            }
        }
        assert!(
            killed.elapsed() < NODE_TIMEOUT + FAILOVER_MARGIN,
            "logins did not resume within {:?}",
            NODE_TIMEOUT + FAILOVER_MARGIN
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("logins resumed {resumed:?} after the master died");
    // Sessions acknowledged before the failover and replicated are kept.
    assert!(
        p.server
            .has_valid_session(&superapp_openapi::AppInfo::new(APP_A1), &uid(ADA))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_stalled_cluster_answers_minus_1_within_the_deadline_then_service_resumes() {
    let cluster = RedisCluster::start();
    let p = Platform::on_cluster(OpenServerConfig::default(), cluster.urls()).await;
    let code = login_code(&p.server, APP_A1, ADA).await;
    for node in &cluster.nodes {
        node.pause();
    }
    let started = Instant::now();
    let r = exchange(&p.server, APP_A1, code.clone()).await;
    let took = started.elapsed();
    for node in &cluster.nodes {
        node.resume();
    }
    assert_eq!(r.errcode, -1, "{r:?}");
    // The deadline: 1 s to connect + 1 s for an answer + 100 ms of WAIT.
    assert!(took < Duration::from_millis(2100 + 500), "{took:?}");
    cluster.wait_until_ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = exchange(&p.server, APP_A1, code.clone()).await;
        if again.errcode == 0 || again.errcode == 40163 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not resume: {again:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_builder_connects_to_a_cluster_by_its_nodes() {
    let server = populated(
        superapp_openapi::OpenServer::builder()
            .redis_cluster(shared_cluster().urls())
            .await
            .expect("the test's cluster answers"),
    );
    let code = login_code(&server, APP_A1, ADA).await;
    assert_eq!(exchange(&server, APP_A1, code.clone()).await.errcode, 0);
    assert_eq!(exchange(&server, APP_A1, code).await.errcode, 40163);

    let unreachable = superapp_openapi::OpenServer::builder()
        .redis_cluster(["redis://127.0.0.1:1"])
        .await;
    assert!(unreachable.is_err(), "no node answers on port 1");
}
