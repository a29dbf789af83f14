-- A handler's refusal (Outcome::Reject) is the receiver's verdict on the
-- message: the receipt says REJECTED with this code, not PROCESSED, so a
-- sender without an inbox (a gRPC partner) learns it from GetStatus.
ALTER TABLE bus_processed_messages
    ADD COLUMN rejection_code text,
    ADD COLUMN rejection_detail text;
