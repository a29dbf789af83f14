//! gRPC serving shared by every service: the size limit on request messages
//! (`grpc.max_message_bytes`, answered with `payload_too_large`), a span per
//! request that continues the caller's trace, and graceful shutdown. Health
//! and reflection are added by the runner ([`crate::service::Runner`]).
//!
//! The size limit reads each request message's gRPC frame header (a flag
//! byte and a 4-byte big-endian length) as the bytes arrive, so a message
//! over the limit is refused from its first five bytes, before tonic buffers
//! or decodes it, and with the project's error shape: RESOURCE_EXHAUSTED
//! `payload_too_large`, ErrorInfo naming the setting. Tonic's own decoding
//! limit must be at least as large (each service sets its API's to the same
//! number, see [`crate::service::Runner::max_message_bytes`]); otherwise
//! tonic would answer first with its OUT_OF_RANGE and no code.

use http_body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codegen::{Bytes, Service, http};
use tonic::transport::server::TcpIncoming;

/// The setting the limit comes from, as errors name it.
pub const MAX_MESSAGE_SETTING: &str = "grpc.max_message_bytes";

/// Wraps a service (the server's routes) so that every request message is
/// at most `max` bytes long.
#[derive(Clone)]
pub struct MessageLimit<S> {
    inner: S,
    max: usize,
    domain: Arc<str>,
}

impl<S> MessageLimit<S> {
    /// `domain` is the ErrorInfo domain of the refusal ("portal.egov-mesh").
    pub fn new(inner: S, max: usize, domain: impl Into<Arc<str>>) -> Self {
        MessageLimit {
            inner,
            max,
            domain: domain.into(),
        }
    }
}

impl<S> Service<http::Request<Body>> for MessageLimit<S>
where
    S: Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let (max, domain) = (self.max, self.domain.clone());
        self.inner.call(request.map(|body| {
            Body::new(LimitedBody {
                inner: body,
                frames: FrameLengths::new(max),
                domain,
            })
        }))
    }
}

/// A request body passed through unchanged, but for an error (a
/// `payload_too_large` status, which tonic answers with) in place of the
/// bytes that announce a message over the limit.
struct LimitedBody {
    inner: Body,
    frames: FrameLengths,
    domain: Arc<str>,
}

impl HttpBody for LimitedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = &mut *self;
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref()
            && let Err(size) = this.frames.scan(data)
        {
            let max = this.frames.max;
            return Poll::Ready(Some(Err(crate::refusal::payload_too_large(
                &this.domain,
                MAX_MESSAGE_SETTING,
                max,
                size,
                &format!("the request message has {size} bytes; {MAX_MESSAGE_SETTING} is {max}"),
            ))));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Follows the gRPC framing of a request stream (length-prefixed messages:
/// one flag byte, a 4-byte big-endian length, the message) across chunks.
#[derive(Debug)]
struct FrameLengths {
    max: usize,
    header: [u8; 5],
    /// Header bytes gathered so far (0..5).
    have: usize,
    /// Message bytes still to pass before the next header.
    skip: usize,
}

impl FrameLengths {
    fn new(max: usize) -> Self {
        FrameLengths {
            max,
            header: [0; 5],
            have: 0,
            skip: 0,
        }
    }

    /// Reads one chunk; `Err(length)` for a message announced over the limit.
    fn scan(&mut self, mut data: &[u8]) -> Result<(), usize> {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let n = (5 - self.have).min(data.len());
            self.header[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == 5 {
                self.have = 0;
                let length = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]) as usize;
                if length > self.max {
                    return Err(length);
                }
                self.skip = length;
            }
        }
        Ok(())
    }
}

/// Serves `service` (the routes, wrapped in [`MessageLimit`]) on `listener`
/// with `server`'s settings until `shutdown` is cancelled; in-flight calls
/// finish first. With `tls`, only connections that pass
/// [`crate::tls::ServerTls::accept`] are served (`name` in its log lines);
/// without, plaintext.
pub async fn serve<S>(
    server: tonic::transport::Server,
    service: MessageLimit<S>,
    listener: TcpListener,
    tls: Option<Arc<crate::tls::ServerTls>>,
    name: &'static str,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    match tls {
        None => {
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            server
                .serve_with_incoming_shutdown(service, incoming, shutdown.cancelled_owned())
                .await
        }
        Some(tls) => {
            let incoming = crate::tls::incoming(listener, tls, name);
            server
                .serve_with_incoming_shutdown(service, incoming, shutdown.cancelled_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FrameLengths;

    fn frame(length: u32) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7, length as usize));
        bytes
    }

    #[test]
    fn messages_up_to_the_limit_pass_in_any_chunking() {
        let stream: Vec<u8> = [frame(10), frame(0), frame(16), frame(3)].concat();
        for chunk in 1..stream.len() {
            let mut frames = FrameLengths::new(16);
            for piece in stream.chunks(chunk) {
                assert_eq!(frames.scan(piece), Ok(()), "chunks of {chunk}");
            }
        }
    }

    #[test]
    fn a_message_over_the_limit_is_found_from_its_header_in_any_chunking() {
        let stream: Vec<u8> = [frame(4), frame(17)].concat();
        for chunk in 1..stream.len() {
            let mut frames = FrameLengths::new(16);
            let found = stream
                .chunks(chunk)
                .map(|piece| frames.scan(piece))
                .find(Result::is_err);
            assert_eq!(found, Some(Err(17)), "chunks of {chunk}");
        }
        // Only the five header bytes are needed.
        let mut frames = FrameLengths::new(16);
        assert_eq!(frames.scan(&[0, 0, 0, 1, 0]), Err(256));
    }
}
