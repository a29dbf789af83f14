//! Answers to requests made through the gRPC Call: the caller waits on this
//! gateway instance until its answer comes back to the instance's own reply
//! queue.

use egov_proto::envelope::Envelope;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Answers to requests made through the gRPC Call, which come back to this
/// instance's own reply queue.
pub struct Bridge {
    queue: String,
    waiting: Mutex<HashMap<String, oneshot::Sender<BridgeAnswer>>>,
}

pub type BridgeAnswer = Result<Envelope, (String, String)>;

impl Bridge {
    pub fn new(queue: String) -> Bridge {
        Bridge {
            queue,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    pub fn queue(&self) -> &str {
        &self.queue
    }

    pub fn wait_for(&self, request_id: &str) -> oneshot::Receiver<BridgeAnswer> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(request_id.to_owned(), tx);
        rx
    }

    pub fn forget(&self, request_id: &str) {
        self.lock().remove(request_id);
    }

    /// Hands the answer to the waiting gRPC caller; false if none waits.
    pub fn answer(&self, request_id: &str, answer: BridgeAnswer) -> bool {
        match self.lock().remove(request_id) {
            Some(waiting) => waiting.send(answer).is_ok(),
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<BridgeAnswer>>> {
        self.waiting.lock().expect("bridge lock")
    }
}
