// The benchmark's floor for a known address (scripts/bench-forgot-password.mjs): the same body
// read and the same answer as forgot-password, then one reset email handed to the Resend SDK
// after the answer, as the deferred job does, and nothing else: no database, no job, no token.
// Built only by `npm run bench` (REKEY_BENCH_ROUTES=1, next.config.ts), never into the app, and
// served only by a server started with REKEY_BENCH_ROUTES=1 too (404 otherwise).
import { randomUUID } from "node:crypto";
import { after } from "next/server";
import { Resend } from "resend";
import { resetPasswordSubject } from "@/emails/reset-password";
import { env } from "@/lib/env";
import { renderEmail } from "@/lib/mail";
import { resetEmail } from "@/lib/recovery/deliver";
import { ForgotPasswordRequest, MessageResponse, RESET_REQUEST_ACCEPTED } from "../../_lib/contract";
import { parseJsonBody, respond, routeHandlers } from "../../_lib/http";
import { benchOnly } from "../bench-only";

const floor = routeHandlers({
  async POST(request) {
    const body = await parseJsonBody(request, ForgotPasswordRequest);
    if (!body.ok) return body.response;
    after(async () => {
      const config = env();
      const { html, text } = await renderEmail(resetEmail(randomUUID(), new Date(), null));
      const resend = new Resend(config.RESEND_API_KEY, { baseUrl: config.RESEND_BASE_URL });
      const { error } = await resend.emails.send(
        { to: body.data.email, from: config.EMAIL_FROM, subject: resetPasswordSubject, html, text },
        { idempotencyKey: randomUUID(), signal: AbortSignal.timeout(config.MAIL_TIMEOUT_MS) },
      );
      if (error) console.error(`bench floor: the send failed (${error.name})`);
    });
    return respond(202, MessageResponse, RESET_REQUEST_ACCEPTED);
  },
});
export const { GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS } = benchOnly(floor);
