import { NextResponse, type NextRequest } from "next/server";
import { auth } from "@/lib/auth/config";
import { env } from "@/lib/env";

// Signed-in-only areas. Pages check again (requireUser), so a route missing here is still safe.
const PROTECTED = ["/account"];

export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  if (!PROTECTED.some((p) => pathname === p || pathname.startsWith(`${p}/`))) return NextResponse.next();
  const session = await auth();
  if (session?.user) return NextResponse.next();
  // Built from APP_URL: a redirect must never follow a forged Host header.
  const login = new URL("/login", env().APP_URL);
  login.search = new URLSearchParams({ callbackUrl: `${pathname}${search}` }).toString();
  return NextResponse.redirect(login);
}

export const config = {
  matcher: ["/account/:path*"],
};
