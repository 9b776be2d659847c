import { z } from "zod";

// Without this, zod compiles object parsers with `new Function` (and probes for it even when
// forbidden): under the pages' CSP, which allows no eval, every form would report a violation.
// Every module that builds a schema the browser runs imports z from here, so the setting is
// in place before the first schema exists.
z.config({ jitless: true });

export { z };
