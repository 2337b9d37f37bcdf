//! Reads coalesced into batches: concurrent callers each hand in a question (a group to
//! check, a project whose version to read), and one task asks the database every question
//! waiting at that moment in one statement (a few such statements may be under way at
//! once), then gives every caller the same answer to read its own part from. Under load one
//! round trip serves many requests instead of one each; alone, a caller waits for nothing
//! but its own statement.
//!
//! Batches never include a question asked after their statement was sent: a caller's
//! answer is read after the caller arrived, so it reflects every write committed before
//! (by any replica). That is what makes the checked caches (`cache.rs`) safe to serve from
//! across replicas, at a fraction of a round trip per request.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::error::StoreError;

/// Most questions asked in one statement.
const MAX_BATCH: usize = 256;

/// Most statements under way at once: a batch does not wait for the previous one to answer
/// (under load, the round trip and not the database's work is what a caller waits for),
/// yet the pool is not flooded with one statement per request.
const IN_FLIGHT: usize = 4;

type Reply<A> = oneshot::Sender<Result<Arc<A>, StoreError>>;

/// The queue in front of one reading task; questions `Q`, one answer `A` per batch.
pub struct Coalesced<Q, A> {
    queue: mpsc::UnboundedSender<(Q, Reply<A>)>,
}

impl<Q: Send + 'static, A: Send + Sync + 'static> Coalesced<Q, A> {
    /// Starts the reading task on the current Tokio runtime: `read` answers a batch of
    /// questions (never empty). The task ends when this is dropped.
    pub fn spawn<F, Fut>(read: F) -> Self
    where
        F: Fn(Vec<Q>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<A, StoreError>> + Send + 'static,
    {
        let (queue, mut asked) = mpsc::unbounded_channel::<(Q, Reply<A>)>();
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    return;
                };
                let Some(first) = asked.recv().await else {
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match asked.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (questions, replies): (Vec<Q>, Vec<Reply<A>>) = batch.into_iter().unzip();
                let answer = read(questions);
                tokio::spawn(async move {
                    let answer = answer.await.map(Arc::new);
                    drop(permit);
                    for reply in replies {
                        // A caller that gave up (its request was dropped) needs no answer.
                        let _ = reply.send(answer.clone());
                    }
                });
            }
        });
        Self { queue }
    }

    /// The answer of the next batch, which includes `question`.
    pub async fn ask(&self, question: Q) -> Result<Arc<A>, StoreError> {
        let gone = || StoreError::Internal("the coalescing reader has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.queue.send((question, reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Questions asked while a statement runs wait for the next one, and share it.
    #[tokio::test]
    async fn waiting_questions_share_one_read() {
        let reads = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::watch::channel(false);
        let counted = reads.clone();
        let c = Arc::new(Coalesced::spawn(move |qs: Vec<u32>| {
            let counted = counted.clone();
            let mut gate = gate.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = gate.wait_for(|open| *open).await;
                Ok(qs)
            }
        }));
        let first = tokio::spawn({
            let c = c.clone();
            async move { c.ask(0).await }
        });
        while reads.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let later: Vec<_> = (1..=5)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move { c.ask(i).await })
            })
            .collect();
        tokio::task::yield_now().await;
        release.send(true).unwrap();
        assert_eq!(*first.await.unwrap().unwrap(), vec![0]);
        for task in later {
            assert_eq!(*task.await.unwrap().unwrap(), vec![1, 2, 3, 4, 5]);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
