-- Completion webhooks' outbox: when a job enters success, error, canceled or paused, one event per
-- subscribed endpoint of its tenant is written in the same transaction as the change. A trigger,
-- so that no transition of the lifecycle (packages/core/src/job/lifecycle.ts) can forget it.
CREATE FUNCTION switchyard_job_webhook_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  event_type text := CASE NEW.status
    WHEN 'success' THEN 'job.succeeded'
    WHEN 'error' THEN 'job.failed'
    WHEN 'canceled' THEN 'job.canceled'
    WHEN 'paused' THEN 'job.paused'
  END;
BEGIN
  INSERT INTO webhook_events (endpoint_id, tenant_id, type, job_id, payload)
  SELECT e.id, NEW.tenant_id, event_type, NEW.id, jsonb_build_object(
    'id', NEW.id,
    'target_id', NEW.target_id,
    'api_name', NEW.api_name,
    'status', NEW.status,
    'result', NEW.result,
    'error', NEW.error,
    'attempt', NEW.attempt,
    'created_at', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"'),
    'completed_at', to_char(NEW.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"'))
  FROM webhook_endpoints e
  WHERE e.tenant_id = NEW.tenant_id AND event_type = ANY (e.events);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER jobs_webhook_events AFTER UPDATE OF status ON jobs
FOR EACH ROW
WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('success', 'error', 'canceled', 'paused'))
EXECUTE FUNCTION switchyard_job_webhook_events();
