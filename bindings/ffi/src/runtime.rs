//! The one tokio runtime the library owns, and how an exported async call
//! runs on it.
//!
//! The foreign side (asyncio, a Kotlin coroutine, a Swift task) polls the
//! exported future; that future only waits for a task spawned here, so the
//! dispatcher's timers, the built-ins and the HTTP client all run on this
//! runtime whatever thread the host calls from. Dropping the exported
//! future (the host cancelled its call) aborts the task, which drops the
//! host call under it: UniFFI then tells the host to cancel its side.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// Worker threads: enough for a phone; the work is mostly waiting on the
/// host and the platform.
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

/// Runs `future` as a task on the library's runtime and waits for it;
/// dropping the returned future aborts the task.
pub(crate) fn run<F>(future: F) -> impl Future<Output = F::Output> + Send
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    AbortOnDrop(runtime().spawn(future))
}

/// A task handle that aborts its task when dropped before it finished.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(output)) => Poll::Ready(output),
            // The task panicked (the core catches a handler's panic, so
            // this is a bug): carry the panic to the exported function,
            // whose UniFFI wrapper turns it into a foreign exception.
            Poll::Ready(Err(err)) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Cancelled: only `Drop` below aborts, and then nobody polls.
            Poll::Ready(Err(_)) => Poll::Pending,
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
