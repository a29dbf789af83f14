-- The trace an application came in with (W3C traceparent of its
-- registration). The autopilot's staff steps, done later from a task of
-- their own, continue it, so one application's path from the portal to its
-- result is one trace (issue 13 point 2).
ALTER TABLE applications ADD COLUMN traceparent text;
