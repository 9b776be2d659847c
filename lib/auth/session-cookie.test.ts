import { afterEach, describe, expect, it } from "vitest";
import { overrideEnvForTests } from "../env";
import { sessionCookie } from "./sessions";

afterEach(() => {
  overrideEnvForTests({});
});

describe("sessionCookie", () => {
  it("is HttpOnly and SameSite=Lax, and not Secure on a plain-http APP_URL (local development)", () => {
    overrideEnvForTests({ APP_URL: "http://localhost:3000" });
    const cookie = sessionCookie("token", new Date("2030-01-01T00:00:00Z"));
    expect(cookie.name).toBe("authjs.session-token");
    expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", secure: false });
  });

  it("is Secure, with the __Secure- prefix, whenever APP_URL is https", () => {
    overrideEnvForTests({ APP_URL: "https://rekey.example.com" });
    const cookie = sessionCookie("token", new Date("2030-01-01T00:00:00Z"));
    expect(cookie.name).toBe("__Secure-authjs.session-token");
    expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: "lax", secure: true });
  });
});
