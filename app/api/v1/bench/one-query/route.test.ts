import { afterEach, describe, expect, it } from "vitest";
import { overrideEnvForTests } from "@/lib/env";
import { GET, OPTIONS } from "./route.bench";

const URL = "http://rekey.test/api/v1/bench/one-query";

afterEach(() => {
  overrideEnvForTests({});
});

// As the floor route: only in a bench build, and only served by a server started for the bench.
describe("the bench one-query route", () => {
  it.each([undefined, "0", ""])("does not exist for a server started with REKEY_BENCH_ROUTES=%s", async (flag) => {
    overrideEnvForTests({ REKEY_BENCH_ROUTES: flag });
    for (const response of [await GET(new Request(URL)), await OPTIONS(new Request(URL, { method: "OPTIONS" }))]) {
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("is served by a server started with REKEY_BENCH_ROUTES=1", async () => {
    overrideEnvForTests({ REKEY_BENCH_ROUTES: "1" });
    const response = await OPTIONS(new Request(URL, { method: "OPTIONS" }));
    expect(response.status).toBe(204);
    expect(response.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });
});
