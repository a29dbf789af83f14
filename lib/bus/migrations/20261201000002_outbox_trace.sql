-- The W3C trace context (traceparent) of the span that put a message in the
-- outbox. The relay publishes later, from a task of its own: without this,
-- every message sent through the outbox began a new trace, and one
-- application's path (portal → gateway → workstation → gateway → portal)
-- was cut at each system (issue 13 point 2).
ALTER TABLE bus_outbox ADD COLUMN traceparent text;
