import "server-only";
import { SpanStatusCode, trace } from "@opentelemetry/api";

// Without OTEL_EXPORTER_OTLP_ENDPOINT, instrumentation.ts registers no SDK and the API's
// tracer is a no-op: a span then costs a function call.
const tracer = () => trace.getTracer("rekey");

/** The outcome of a domain result ({ ok } or { status }) as a span attribute, without any secret. */
function outcomeOf(result: unknown): string | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const r = result as { ok?: unknown; status?: unknown };
  if (typeof r.status === "string") return r.status;
  if (typeof r.ok === "boolean") return r.ok ? "ok" : "failed";
  return undefined;
}

/** `fn` with each call inside a span named `name` (arguments are never recorded: they hold addresses and tokens). */
export function traced<A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args: A) =>
    tracer().startActiveSpan(name, async (span) => {
      try {
        const result = await fn(...args);
        const outcome = outcomeOf(result);
        if (outcome) span.setAttribute("rekey.outcome", outcome);
        return result;
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    });
}
