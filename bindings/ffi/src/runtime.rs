//! The one tokio runtime the library owns, and how an exported async call
//! runs with it.
//!
//! The host's executor (asyncio, a Kotlin coroutine, a Swift task) polls an
//! exported future through UniFFI; each poll enters this runtime's context,
//! so the dispatcher's timers, the remote platform's sockets and anything
//! spawned belong to this runtime and are driven by its threads, whatever
//! thread the host polls from. Polling on the host's thread (rather than
//! spawning a task and waiting for it) keeps the host's own calls — its
//! async methods and its sync hooks — on the thread it polls from: for a
//! Python host that is the event loop's thread, so a call into the host
//! needs no handover of the GIL (BENCHMARKS.md, "Native hosts").
//!
//! Dropping the exported future (the host cancelled its call) drops the
//! dispatch and the host call under it: UniFFI then tells the host to
//! cancel its side.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::{Handle, Runtime};

/// Worker threads: they drive the timers and sockets and run what the core
/// spawns; the dispatching itself runs where the host polls.
const WORKER_THREADS: usize = 2;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("superapp-openapi")
            .enable_all()
            .build()
            // Without a runtime the library can do nothing; a host whose
            // process cannot start two threads has bigger problems.
            .expect("superapp-openapi: cannot start the tokio runtime")
    })
}

/// `future`, polled with the library's runtime entered.
pub(crate) fn run<F>(future: F) -> impl Future<Output = F::Output> + Send
where
    F: Future + Send + 'static,
{
    InRuntime {
        future: Box::pin(future),
        handle: runtime().handle().clone(),
    }
}

/// A future that enters a runtime's context around each poll. Boxed, so
/// that it needs no pin projection (and no unsafe code).
struct InRuntime<F> {
    future: Pin<Box<F>>,
    handle: Handle,
}

impl<F: Future> Future for InRuntime<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _entered = this.handle.enter();
        this.future.as_mut().poll(cx)
    }
}
