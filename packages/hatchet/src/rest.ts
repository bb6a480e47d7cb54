// Hatchet's REST API with fetch: enough to trigger, cancel and inspect runs from an API function
// without loading the gRPC SDK (which would multiply the bundle and its cold start).
import {
  currentTrace,
  type JobRunInput,
  type Orchestrator,
  type RunState,
  type WebhookRunInput,
} from "@switchyard/core";
import type { HatchetSettings } from "./settings.ts";
import { namespacedWorkflow, WEBHOOK_WORKFLOW } from "./workflow.ts";

export class HatchetRestError extends Error {
  override name = "HatchetRestError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** An HTTP operator as the engine answers it (never with its secret). */
export interface HttpOperator {
  metadata: { id: string };
  name: string;
  triggerEndpoint: string;
  healthcheckEndpoint: string;
  requestTimeoutSeconds: number;
}

export interface HttpOperatorSpec {
  name: string;
  triggerEndpoint: string;
  healthcheckEndpoint: string;
  signingSecret: string;
  requestTimeoutSeconds: number;
}

interface TokenClaims {
  sub: string;
  server_url?: string;
}

function claims(token: string): TokenClaims {
  const part = token.split(".")[1];
  if (!part) throw new Error("HATCHET_CLIENT_TOKEN is not a JWT");
  const parsed = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Partial<TokenClaims>;
  if (typeof parsed.sub !== "string") throw new Error("HATCHET_CLIENT_TOKEN has no tenant (sub claim)");
  return { sub: parsed.sub, server_url: parsed.server_url };
}

export class HatchetRest implements Orchestrator {
  readonly tenantId: string;
  readonly apiUrl: string;
  private readonly workflowName: string;

  constructor(private readonly settings: HatchetSettings) {
    const c = claims(settings.token);
    this.tenantId = c.sub;
    const url = settings.apiUrl ?? c.server_url;
    if (!url) throw new Error("no Hatchet API URL: set HATCHET_CLIENT_API_URL");
    this.apiUrl = url.replace(/\/$/, "");
    this.workflowName = namespacedWorkflow(settings.namespace);
  }

  submit(input: JobRunInput): Promise<string> {
    // The ids switchyard's log lines carry, so the dashboard's run and the lines find each other.
    const { request_id } = currentTrace();
    const metadata = {
      job_id: input.jobId,
      target_id: input.targetId,
      tenant_id: input.tenantId,
      ...(request_id ? { request_id } : {}),
    };
    return this.trigger(this.workflowName, input, metadata);
  }

  submitWebhook(input: WebhookRunInput): Promise<string> {
    const metadata = { webhook_event_id: input.eventId, tenant_id: input.tenantId };
    return this.trigger(namespacedWorkflow(this.settings.namespace, WEBHOOK_WORKFLOW), input, metadata);
  }

  /** Starts a run of a workflow; returns its run id. */
  private async trigger(workflowName: string, input: object, additionalMetadata: Record<string, string>) {
    const res = await this.request<{ run?: { metadata?: { id?: string } } }>(
      "POST",
      `/api/v1/stable/tenants/${this.tenantId}/workflow-runs/trigger`,
      // return_only_id skips the read-back the engine would otherwise wait for before answering.
      { workflowName, input, additionalMetadata, return_only_id: true },
    );
    const id = res.run?.metadata?.id;
    if (!id) throw new HatchetRestError("trigger answered without a run id", 502);
    return id;
  }

  async cancel(runId: string): Promise<void> {
    await this.request("POST", `/api/v1/stable/tenants/${this.tenantId}/tasks/cancel`, { externalIds: [runId] });
  }

  async runState(runId: string): Promise<RunState> {
    try {
      return await this.request<RunState>("GET", `/api/v1/stable/workflow-runs/${runId}/status`);
    } catch (err) {
      if (err instanceof HatchetRestError && (err.status === 404 || err.status === 400)) return "NOT_FOUND";
      throw err;
    }
  }

  /**
   * The worker the engine assigned the run's task to (a job's run is one task, whose id is the
   * run's), from the task's events; none if it was never assigned. The engine's event list keeps
   * the first event of each kind per attempt, so this is the attempt's first assignment.
   */
  async runWorker(runId: string): Promise<string | undefined> {
    const res = await this.request<{ rows?: Array<{ eventType: string; retryCount?: number; workerId?: string }> }>(
      "GET",
      `/api/v1/stable/tasks/${runId}/task-events?limit=100`,
    );
    const assigned = (res.rows ?? []).filter((e) => e.eventType === "ASSIGNED" && e.workerId);
    return assigned.sort((a, b) => (a.retryCount ?? 0) - (b.retryCount ?? 0)).at(-1)?.workerId;
  }

  /** Whether the run's assigned worker has stopped heartbeating (the engine's own status, INACTIVE). */
  async heldByDeadWorker(runId: string): Promise<boolean> {
    const workerId = await this.runWorker(runId);
    if (!workerId) return false;
    const worker = await this.request<{ status?: string }>("GET", `/api/v1/workers/${workerId}`);
    return worker.status === "INACTIVE";
  }

  async queueMetrics(): Promise<Record<string, number>> {
    const res = await this.request<{ queues?: Record<string, number> }>(
      "GET",
      `/api/v1/tenants/${this.tenantId}/step-run-queue-metrics`,
    );
    return res.queues ?? {};
  }

  async workers(): Promise<Array<{ name: string; status?: string; lastHeartbeatAt?: string }>> {
    const res = await this.request<{ rows?: Array<{ name: string; status?: string; lastHeartbeatAt?: string }> }>(
      "GET",
      `/api/v1/tenants/${this.tenantId}/worker`,
    );
    return res.rows ?? [];
  }

  /** The tenant's HTTP operators (the engine's own callers of webhook workers). */
  async listOperators(): Promise<HttpOperator[]> {
    const out: HttpOperator[] = [];
    for (let offset = 0; ; offset += 50) {
      const page = await this.request<{ rows?: HttpOperator[] }>(
        "GET",
        `/api/v1/stable/tenants/${this.tenantId}/operators/http?offset=${offset}&limit=50`,
      );
      out.push(...(page.rows ?? []));
      if ((page.rows ?? []).length < 50) return out;
    }
  }

  async createOperator(spec: HttpOperatorSpec): Promise<HttpOperator> {
    return this.request<HttpOperator>("POST", `/api/v1/stable/tenants/${this.tenantId}/operators/http`, spec);
  }

  async deleteOperator(id: string): Promise<void> {
    await this.request("DELETE", `/api/v1/stable/operators/http/${id}`);
  }

  async version(): Promise<string> {
    const res = await this.request<{ version?: string }>("GET", "/api/v1/version");
    return res.version ?? "unknown";
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const where = `Hatchet ${method} ${path.split("/").slice(0, 5).join("/")}…`;
    let res: Response;
    try {
      res = await fetch(`${this.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      // No answer at all (refused, reset, timed out): status 0, which callers treat as an outage.
      const cause =
        (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
      throw new HatchetRestError(`${where} got no answer: ${cause}`, 0);
    }
    const text = await res.text();
    if (!res.ok) {
      // The answer may echo the request, never the token; keep only a short excerpt.
      throw new HatchetRestError(`${where} answered ${res.status}: ${text.slice(0, 200)}`, res.status);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
