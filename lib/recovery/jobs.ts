import "server-only";
import { z } from "zod";
import { requestContextShape } from "../client-ip";
import { defineJob } from "../jobs/definition";
import { decideResetRequests } from "./decide";
import { deliverPasswordReset, issueResetLink } from "./deliver";

/** A reset request's deferred half: the per-address limit, the look-up, the token and the email. */
export const resetRequestJob = defineJob({
  kind: "password_reset.request",
  payload: z.object({ email: z.string(), ...requestContextShape }),
  run: deliverPasswordReset,
  batch: decideResetRequests,
});

const UserAddress = z.object({ userId: z.string(), email: z.string(), ...requestContextShape });

/** A fresh reset link for an account an operator locked ("Force password reset"). */
export const forcedResetLinkJob = defineJob({
  kind: "admin.forced_reset",
  payload: UserAddress,
  run: (db, { userId, email, ip, userAgent }, steps) => issueResetLink(db, { id: userId, email }, { ip, userAgent }, steps),
});

/** A fresh reset link for the owner who said "This wasn't me". */
export const reportedResetLinkJob = defineJob({
  kind: "password_change.report_reset",
  payload: UserAddress,
  run: (db, { userId, email, ip, userAgent }, steps) => issueResetLink(db, { id: userId, email }, { ip, userAgent }, steps),
});
