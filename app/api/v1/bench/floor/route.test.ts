import { afterEach, describe, expect, it } from "vitest";
import { overrideEnvForTests } from "@/lib/env";
import { OPTIONS, POST } from "./route.bench";

const URL = "http://rekey.test/api/v1/bench/floor";
const post = () => POST(new Request(URL, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }));
const options = () => OPTIONS(new Request(URL, { method: "OPTIONS" }));

afterEach(() => {
  overrideEnvForTests({});
});

// The route is only in a build made with REKEY_BENCH_ROUTES=1; these prove the second gate,
// the server's own environment at start.
describe("the bench floor route", () => {
  it.each([undefined, "0", ""])("does not exist for a server started with REKEY_BENCH_ROUTES=%s", async (flag) => {
    overrideEnvForTests({ REKEY_BENCH_ROUTES: flag });
    for (const response of [await post(), await options()]) {
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("is served by a server started with REKEY_BENCH_ROUTES=1", async () => {
    overrideEnvForTests({ REKEY_BENCH_ROUTES: "1" });
    const response = await options();
    expect(response.status).toBe(204);
    expect(response.headers.get("allow")).toBe("POST, OPTIONS");
  });
});
